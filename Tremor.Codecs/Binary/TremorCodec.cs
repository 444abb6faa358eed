using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>tremor</c> codec: Tremor's binary value encoding, for Tremor-to-Tremor links. A u16 version (0), then the
/// value: a type byte (0 null, 1 true, 2 false, 3 i64, 4 u64, 5 f64, 6 string, 7 bytes, 8 array, 9 record) followed by
/// 8-byte big-endian numbers, or a u64 length and the UTF-8 / bytes / items (records: per entry a u64 key length, the
/// key, the value). Wire-compatible with Tremor's. Stateless and safe to share between threads.
/// </summary>
public sealed class TremorCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "tremor";

    /// <summary>Deepest nesting of arrays and records accepted.</summary>
    public const int MaxDepth = 1024;

    private const byte TNull = 0, TTrue = 1, TFalse = 2, TI64 = 3, TU64 = 4, TF64 = 5, TString = 6, TBytes = 7, TArray = 8, TRecord = 9;

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var c = new BigEndianCursor(data.Span);
        if (!c.TryU16(out var version)) return TextParse.Fail(Name, 0, "truncated: the 2-byte version is missing", out value, out error);
        if (version != 0) return TextParse.Fail(Name, 0, $"version {version} is not supported (only 0)", out value, out error);
        if (!Read(ref c, 0, out value, out error)) return false;
        if (c.Remaining > 0) return TextParse.Fail(Name, c.Position, $"{c.Remaining} trailing bytes after the value", out value, out error);
        return true;
    }

    private static bool Read(ref BigEndianCursor c, int depth, out Value value, out string? error)
    {
        var at = c.Position;
        if (!c.TryU8(out var type)) return TextParse.Fail(Name, at, "truncated: a type byte is missing", out value, out error);
        error = null;
        switch (type)
        {
            case TNull:
                value = Value.Null;
                return true;
            case TTrue:
                value = Value.True;
                return true;
            case TFalse:
                value = Value.False;
                return true;
            case TI64:
            case TU64:
            case TF64:
                {
                    if (!c.TryU64(out var bits)) return TextParse.Fail(Name, c.Position, "truncated: an 8-byte number is missing", out value, out error);
                    value = type switch
                    {
                        TI64 => Value.From(unchecked((long)bits)),
                        TU64 => Value.From(bits),
                        _ => Value.From(BitConverter.Int64BitsToDouble(unchecked((long)bits))),
                    };
                    return true;
                }
            case TString:
                {
                    if (!c.TryU64(out var length)) return TextParse.Fail(Name, c.Position, "truncated: a string length is missing", out value, out error);
                    if (!c.TryString(Name, length, "a string", out var text, out value, out error)) return false;
                    value = text;
                    return true;
                }
            case TBytes:
                {
                    if (!c.TryU64(out var length)) return TextParse.Fail(Name, c.Position, "truncated: a bytes length is missing", out value, out error);
                    if (!c.TryBytes(length, out var bytes)) return TextParse.Fail(Name, c.Position, $"truncated: bytes of length {length}, {c.Remaining} left", out value, out error);
                    value = Value.From(bytes.ToArray());
                    return true;
                }
            case TArray:
            case TRecord:
                {
                    if (depth >= MaxDepth) return TextParse.Fail(Name, at, $"nesting deeper than {MaxDepth} arrays/records", out value, out error);
                    if (!c.TryU64(out var count)) return TextParse.Fail(Name, c.Position, "truncated: a length is missing", out value, out error);
                    // Each item takes at least one byte: a larger count is a lie, refused before allocating for it.
                    if (count > (ulong)c.Remaining) return TextParse.Fail(Name, at, $"a length of {count} items, but only {c.Remaining} bytes left", out value, out error);
                    if (type == TArray)
                    {
                        var list = new List<Value>((int)count);
                        for (var i = 0UL; i < count; i++)
                        {
                            if (!Read(ref c, depth + 1, out var item, out error))
                            {
                                value = default;
                                return false;
                            }
                            list.Add(item);
                        }
                        value = Value.From(list);
                        return true;
                    }
                    var record = new ValueRecord((int)count);
                    for (var i = 0UL; i < count; i++)
                    {
                        if (!c.TryU64(out var keyLength)) return TextParse.Fail(Name, c.Position, "truncated: a key length is missing", out value, out error);
                        if (!c.TryString(Name, keyLength, "a key", out var key, out value, out error)) return false;
                        if (!Read(ref c, depth + 1, out var item, out error))
                        {
                            value = default;
                            return false;
                        }
                        record.Set(key, item);
                    }
                    value = Value.From(record);
                    return true;
                }
            default:
                return TextParse.Fail(Name, at, $"unknown type byte {type} (0-9)", out value, out error);
        }
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        Span<byte> two = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(two, 0);
        output.Write(two);
        Write(output, value);
    }

    private static void Write(IBufferWriter<byte> output, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                output.Write([TNull]);
                break;
            case ValueKind.Bool:
                output.Write([value.AsBool() ? TTrue : TFalse]);
                break;
            case ValueKind.I64:
            case ValueKind.U64:
            case ValueKind.F64:
                {
                    var span = output.GetSpan(9);
                    span[0] = value.Kind switch { ValueKind.I64 => TI64, ValueKind.U64 => TU64, _ => TF64 };
                    BinaryPrimitives.WriteInt64BigEndian(span[1..], value.Kind == ValueKind.F64 ? BitConverter.DoubleToInt64Bits(value.RawF64) : value.RawI64);
                    output.Advance(9);
                    break;
                }
            case ValueKind.String:
                {
                    var s = value.AsString()!;
                    var length = Encoding.UTF8.GetByteCount(s);
                    Header(output, TString, (ulong)length);
                    Encoding.UTF8.GetBytes(s, output.GetSpan(length));
                    output.Advance(length);
                    break;
                }
            case ValueKind.Bytes:
                {
                    var bytes = value.AsBytes()!;
                    Header(output, TBytes, (ulong)bytes.Length);
                    output.Write(bytes);
                    break;
                }
            case ValueKind.Array:
                {
                    var list = value.AsArray()!;
                    Header(output, TArray, (ulong)list.Count);
                    foreach (var item in list) Write(output, item);
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    Header(output, TRecord, (ulong)record.Count);
                    Span<byte> eight = stackalloc byte[8];
                    foreach (var (key, item) in record)
                    {
                        var length = Encoding.UTF8.GetByteCount(key);
                        BinaryPrimitives.WriteUInt64BigEndian(eight, (ulong)length);
                        output.Write(eight);
                        Encoding.UTF8.GetBytes(key, output.GetSpan(length));
                        output.Advance(length);
                        Write(output, item);
                    }
                    break;
                }
        }
    }

    private static void Header(IBufferWriter<byte> output, byte type, ulong length)
    {
        var span = output.GetSpan(9);
        span[0] = type;
        BinaryPrimitives.WriteUInt64BigEndian(span[1..], length);
        output.Advance(9);
    }
}
