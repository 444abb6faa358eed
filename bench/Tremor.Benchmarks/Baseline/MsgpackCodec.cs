using System.Buffers;
using MessagePack;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks.Baseline;

/// <summary>
/// Frozen copy of the msgpack codec before issue 22 (commit 40b4979), for the interleaved A/B (`--interleaved-msgpack`).
/// The <c>msgpack</c> codec: one MessagePack value per event, read and written with MessagePack's low-level
/// <see cref="MessagePackReader"/> and <see cref="MessagePackWriter"/>. bin ↔ bytes; str must be UTF-8; a map key that
/// is not a string becomes the key's JSON text; extension types are refused with their type code and offset.
/// Stateless and safe to share between threads.
/// </summary>
internal sealed class MsgpackCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "msgpack";

    /// <summary>Deepest nesting of arrays and maps accepted.</summary>
    public const int MaxDepth = 1024;

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        if (data.IsEmpty)
        {
            value = default;
            error = "invalid msgpack at byte 0: the input is empty (expected a value)";
            return false;
        }
        var reader = new MessagePackReader(data);
        try
        {
            if (!TryRead(ref reader, 0, out value, out error)) return false;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or ArgumentOutOfRangeException)
        {
            // A str/bin length past the end of the input comes out of the reader as ArgumentOutOfRangeException.
            value = default;
            error = $"invalid msgpack at byte {reader.Consumed} of {data.Length}: {(e is MessagePackSerializationException ? e.Message : "the input is truncated")}";
            return false;
        }
        if (!reader.End)
        {
            value = default;
            error = $"invalid msgpack at byte {reader.Consumed}: {data.Length - reader.Consumed} trailing bytes after the value";
            return false;
        }
        error = null;
        return true;
    }

    private static bool TryRead(ref MessagePackReader reader, int depth, out Value value, out string? error)
    {
        error = null;
        var offset = reader.Consumed;
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                value = Value.Null;
                return true;
            case MessagePackType.Boolean:
                value = Value.From(reader.ReadBoolean());
                return true;
            case MessagePackType.Integer:
                value = reader.NextCode == MessagePackCode.UInt64 ? Value.From(reader.ReadUInt64()) : Value.From(reader.ReadInt64());
                return true;
            case MessagePackType.Float:
                value = Value.From(reader.ReadDouble());
                return true;
            case MessagePackType.String:
                return TryReadString(ref reader, StringCache.Keys, isKey: false, out value, out _, out error);
            case MessagePackType.Binary:
                {
                    var bytes = reader.ReadBytes();
                    value = bytes is { } b ? Value.From(b.ToArray()) : Value.From(Array.Empty<byte>());
                    return true;
                }
            case MessagePackType.Array:
                {
                    if (depth >= MaxDepth) return TooDeep(offset, out value, out error);
                    var count = reader.ReadArrayHeader();
                    var list = new List<Value>(count);
                    for (var i = 0; i < count; i++)
                    {
                        if (!TryRead(ref reader, depth + 1, out var item, out error))
                        {
                            value = default;
                            return false;
                        }
                        list.Add(item);
                    }
                    value = Value.From(list);
                    return true;
                }
            case MessagePackType.Map:
                {
                    if (depth >= MaxDepth) return TooDeep(offset, out value, out error);
                    var count = reader.ReadMapHeader();
                    var record = new ValueRecord(count);
                    var keys = StringCache.Keys;
                    ulong keyFilter = 0;
                    var maybeDuplicate = false;
                    for (var i = 0; i < count; i++)
                    {
                        string key;
                        int keyHash;
                        if (reader.NextMessagePackType == MessagePackType.String)
                        {
                            if (!TryReadString(ref reader, keys, isKey: true, out var keyValue, out keyHash, out error))
                            {
                                value = default;
                                return false;
                            }
                            key = keyValue.AsString()!;
                        }
                        else
                        {
                            if (!TryRead(ref reader, depth + 1, out var keyValue, out error))
                            {
                                value = default;
                                return false;
                            }
                            key = JsonEncoder.ToJsonString(keyValue);
                            keyHash = key.GetHashCode();
                        }
                        if (!TryRead(ref reader, depth + 1, out var fieldValue, out error))
                        {
                            value = default;
                            return false;
                        }
                        var bit = 1UL << (keyHash & 63);
                        maybeDuplicate |= (keyFilter & bit) != 0;
                        keyFilter |= bit;
                        if (maybeDuplicate) record.Set(key, fieldValue);
                        else record.Append(key, fieldValue);
                    }
                    value = Value.From(record);
                    return true;
                }
            case MessagePackType.Extension:
                {
                    var header = reader.ReadExtensionFormatHeader();
                    value = default;
                    error = $"invalid msgpack at byte {offset}: extension type {header.TypeCode} ({header.Length} bytes) is not supported";
                    return false;
                }
            default:
                value = default;
                error = $"invalid msgpack at byte {offset}: 0x{reader.NextCode:x2} is not a valid type code";
                return false;
        }
    }

    private static bool TryReadString(ref MessagePackReader reader, StringCache keys, bool isKey, out Value value, out int keyHash, out string? error)
    {
        var offset = reader.Consumed;
        ReadOnlySpan<byte> utf8;
        if (!reader.TryReadStringSpan(out utf8))
        {
            // Only a multi-segment input lands here; the codec always reads a single segment.
            utf8 = reader.ReadStringSequence()?.ToArray() ?? [];
        }
        int bad;
        string text;
        keyHash = 0;
        var ok = isKey ? keys.TryGet(utf8, out text, out keyHash, out bad) : StringCache.Values.TryGet(utf8, out text, out bad);
        if (!ok)
        {
            value = default;
            var headerLength = (int)(reader.Consumed - offset) - utf8.Length;
            error = $"invalid UTF-8 in a msgpack string at byte {offset + headerLength + bad} ({Utf8Text.DescribeByte(utf8, bad)})";
            return false;
        }
        value = Value.From(text);
        error = null;
        return true;
    }

    private static bool TooDeep(long offset, out Value value, out string? error)
    {
        value = default;
        error = $"invalid msgpack at byte {offset}: nesting deeper than {MaxDepth} arrays/maps";
        return false;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        Write(ref writer, value);
        writer.Flush();
    }

    private static void Write(ref MessagePackWriter writer, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                writer.WriteNil();
                break;
            case ValueKind.Bool:
                writer.Write(value.AsBool());
                break;
            case ValueKind.I64:
                writer.Write(value.RawI64);
                break;
            case ValueKind.U64:
                writer.Write(unchecked((ulong)value.RawI64));
                break;
            case ValueKind.F64:
                writer.Write(value.RawF64);
                break;
            case ValueKind.String:
                // The original also wrote strings kept as UTF-8 (Pdk-internal) as bytes; the baseline decoder makes none.
                writer.Write(value.AsString());
                break;
            case ValueKind.Bytes:
                writer.Write(value.AsBytes().AsSpan());
                break;
            case ValueKind.Array:
                {
                    var list = value.AsArray()!;
                    writer.WriteArrayHeader(list.Count);
                    for (var i = 0; i < list.Count; i++) Write(ref writer, list[i]);
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    writer.WriteMapHeader(record.Count);
                    for (var i = 0; i < record.Count; i++)
                    {
                        writer.Write(record.KeyAt(i));
                        Write(ref writer, record.ValueAt(i));
                    }
                    break;
                }
        }
    }
}
