using System.Buffers;
using System.Runtime.InteropServices;
using MessagePack;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>msgpack</c> codec: one MessagePack value per event, read and written with MessagePack's low-level
/// <see cref="MessagePackReader"/> and <see cref="MessagePackWriter"/>. bin ↔ bytes; str must be UTF-8; a map key that
/// is not a string becomes the key's JSON text; extension types are refused with their type code and offset.
/// Maps of one shape share one keys array (see <see cref="ShapeCache"/>) and strings over 64 bytes stay UTF-8, as in
/// the json codec. Safe to share between threads (its scratch space is per thread).
/// </summary>
public sealed class MsgpackCodec : ICodec
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
            if (!TryRead(ref reader, 0, out value, out error))
            {
                t_scratch?.Reset();
                return false;
            }
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or ArgumentOutOfRangeException)
        {
            // A str/bin length past the end of the input comes out of the reader as ArgumentOutOfRangeException.
            t_scratch?.Reset();
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
                    CollectionsMarshal.SetCount(list, count);
                    var items = CollectionsMarshal.AsSpan(list);
                    for (var i = 0; i < count; i++)
                    {
                        if (!TryRead(ref reader, depth + 1, out items[i], out error))
                        {
                            value = default;
                            return false;
                        }
                    }
                    value = Value.From(list);
                    return true;
                }
            case MessagePackType.Map:
                {
                    if (depth >= MaxDepth) return TooDeep(offset, out value, out error);
                    var count = reader.ReadMapHeader();
                    if (count == 0)
                    {
                        value = Value.From(new ValueRecord());
                        return true;
                    }
                    // The keys go on the per-thread scratch stack (a nested map pushes its keys above them) and the
                    // values straight into the record's own array: a record of a shape seen before then shares that
                    // shape's keys array, which saves an array per record and lets the encoder reuse its encoded keys.
                    var scratch = t_scratch ??= new Scratch();
                    var start = scratch.Push(count);
                    var values = new Value[count];
                    var keys = StringCache.Keys;
                    ulong keyFilter = 0;
                    var maybeDuplicate = false;
                    uint shape = 0;
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
                        scratch.Keys[start + i] = key;
                        scratch.Hashes[start + i] = keyHash;
                        var bit = 1UL << (keyHash & 63);
                        maybeDuplicate |= (keyFilter & bit) != 0;
                        keyFilter |= bit;
                        shape = ShapeCache.Mix(shape, keyHash);
                        if (!TryRead(ref reader, depth + 1, out values[i], out error))
                        {
                            value = default;
                            return false;
                        }
                    }
                    var fieldKeys = scratch.Keys.AsSpan(start, count);
                    ValueRecord record;
                    if (scratch.Shapes.TryGet(fieldKeys, shape, out var knownShape))
                    {
                        // A cached shape was checked for duplicates when it was added.
                        record = new ValueRecord(knownShape, values, sharedKeys: true);
                    }
                    else if (maybeDuplicate && ShapeCache.HasDuplicate(fieldKeys, scratch.Hashes.AsSpan(start, count)))
                    {
                        record = new ValueRecord(count);
                        for (var i = 0; i < count; i++) record.Set(fieldKeys[i], values[i]);
                    }
                    else
                    {
                        record = new ValueRecord(scratch.Shapes.Add(fieldKeys, shape), values, sharedKeys: true);
                    }
                    scratch.Pop(start, count);
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
        if (!isKey && utf8.Length > JsonDecoder.KeepUtf8Above)
        {
            // As the json decoder does: long texts stay UTF-8 (half the memory of a string for ASCII, and encoding
            // them again is a copy, not a transcode).
            bad = Utf8Text.FindInvalid(utf8);
            if (bad < 0)
            {
                value = Value.FromUtf8(utf8.ToArray());
                error = null;
                return true;
            }
            value = default;
            var header = (int)(reader.Consumed - offset) - utf8.Length;
            error = $"invalid UTF-8 in a msgpack string at byte {offset + header + bad} ({Utf8Text.DescribeByte(utf8, bad)})";
            return false;
        }
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

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>The keys of the maps being read (outer maps below inner ones), and this thread's record shapes.</summary>
    private sealed class Scratch
    {
        public string[] Keys = new string[64];
        public int[] Hashes = new int[64];
        public readonly ShapeCache Shapes = new();
        private int _used;

        /// <summary>Claims <paramref name="count"/> slots above the ones in use; returns the first.</summary>
        public int Push(int count)
        {
            var start = _used;
            _used += count;
            if (_used > Keys.Length)
            {
                var size = Math.Max(Keys.Length * 2, _used);
                Array.Resize(ref Keys, size);
                Array.Resize(ref Hashes, size);
            }
            return start;
        }

        public void Pop(int start, int count)
        {
            Keys.AsSpan(start, count).Clear();
            _used = start;
        }

        /// <summary>After a failed decode: nothing is in use, and no key of the bad input is kept alive.</summary>
        public void Reset()
        {
            Keys.AsSpan(0, Math.Min(_used, Keys.Length)).Clear();
            _used = 0;
        }
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
                if (value.TryGetUtf8(out var utf8)) writer.WriteString(utf8);
                else writer.Write(value.AsString());
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
                    var values = record.ValueSpan;
                    if (record.SharedKeys is { } shared && EncodedKeys.For(shared) is { } encoded)
                    {
                        var bytes = encoded.Bytes;
                        var ends = encoded.Ends;
                        var start = 0;
                        for (var i = 0; i < values.Length; i++)
                        {
                            writer.WriteRaw(bytes.AsSpan(start, ends[i] - start));
                            start = ends[i];
                            Write(ref writer, values[i]);
                        }
                        break;
                    }
                    var keys = record.KeySpan;
                    for (var i = 0; i < keys.Length; i++)
                    {
                        writer.Write(keys[i]);
                        Write(ref writer, values[i]);
                    }
                    break;
                }
        }
    }

    /// <summary>
    /// The msgpack-encoded keys of a shared keys array (maps of one shape, see <c>ValueRecord.SharedKeys</c>) back to
    /// back, so a record of a known shape writes its keys as copies instead of transcoding each string. Built the second
    /// time an array is seen in a row of lookups, so ever new shapes cost a reference compare per record and no
    /// allocation; a few per thread, replaced round robin.
    /// </summary>
    private sealed class EncodedKeys
    {
        private const int Entries = 4;

        [ThreadStatic]
        private static Cache? t_cache;

        private EncodedKeys(string[] keys, byte[] bytes, int[] ends)
        {
            Keys = keys;
            Bytes = bytes;
            Ends = ends;
        }

        public string[] Keys { get; }

        public byte[] Bytes { get; }

        public int[] Ends { get; }

        public static EncodedKeys? For(string[] keys)
        {
            var cache = t_cache ??= new Cache();
            foreach (var entry in cache.Entries)
            {
                if (entry is not null && ReferenceEquals(entry.Keys, keys)) return entry;
            }
            if (!ReferenceEquals(cache.Candidate, keys))
            {
                cache.Candidate = keys;
                return null;
            }
            var buffer = new ArrayBufferWriter<byte>(keys.Length * 16);
            var ends = new int[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                var writer = new MessagePackWriter(buffer);
                writer.Write(keys[i]);
                writer.Flush();
                ends[i] = buffer.WrittenCount;
            }
            var built = new EncodedKeys(keys, buffer.WrittenSpan.ToArray(), ends);
            cache.Entries[cache.Next] = built;
            cache.Next = (cache.Next + 1) % Entries;
            cache.Candidate = null;
            return built;
        }

        private sealed class Cache
        {
            public readonly EncodedKeys?[] Entries = new EncodedKeys?[EncodedKeys.Entries];
            public string[]? Candidate;
            public int Next;
        }
    }
}
