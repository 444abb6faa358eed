using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>binflux</c> codec: Tremor's binary form of an influx point (the same
/// <c>{ measurement, tags, fields, timestamp }</c> record), big-endian: u16 version 0, u16-length measurement, u64
/// timestamp, u16 tag count and u16-length key/value pairs, u16 field count and per field a u16-length key, a type byte
/// (0 i64, 1 f64, 2 string with u16 length, 3 true, 4 false) and the value. No framing: use <c>length-prefixed</c>.
/// Stateless and safe to share between threads.
/// </summary>
public sealed class BinfluxCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "binflux";

    private const byte TypeI64 = 0;
    private const byte TypeF64 = 1;
    private const byte TypeString = 2;
    private const byte TypeTrue = 3;
    private const byte TypeFalse = 4;

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var c = new BigEndianCursor(data.Span);
        if (!c.TryU16(out var version)) return TextParse.Fail(Name, 0, "truncated: the 2-byte version is missing", out value, out error);
        if (version != 0) return TextParse.Fail(Name, 0, $"version {version} is not supported (only 0)", out value, out error);
        if (!ReadString(ref c, "the measurement", out var measurement, out value, out error)) return false;
        if (!c.TryU64(out var timestamp)) return TextParse.Fail(Name, c.Position, "truncated: the 8-byte timestamp is missing", out value, out error);
        if (!c.TryU16(out var tagCount)) return TextParse.Fail(Name, c.Position, "truncated: the tag count is missing", out value, out error);
        var tags = new ValueRecord(tagCount);
        for (var i = 0; i < tagCount; i++)
        {
            if (!ReadString(ref c, $"tag key {i}", out var key, out value, out error)) return false;
            if (!ReadString(ref c, $"the value of tag '{key}'", out var tagValue, out value, out error)) return false;
            tags.Set(key, tagValue);
        }
        if (!c.TryU16(out var fieldCount)) return TextParse.Fail(Name, c.Position, "truncated: the field count is missing", out value, out error);
        var fields = new ValueRecord(fieldCount);
        for (var i = 0; i < fieldCount; i++)
        {
            if (!ReadString(ref c, $"field key {i}", out var key, out value, out error)) return false;
            var typeAt = c.Position;
            if (!c.TryU8(out var type)) return TextParse.Fail(Name, typeAt, $"truncated: the type of field '{key}' is missing", out value, out error);
            switch (type)
            {
                case TypeI64:
                case TypeF64:
                    if (!c.TryU64(out var bits)) return TextParse.Fail(Name, c.Position, $"truncated: the 8-byte value of field '{key}' is missing", out value, out error);
                    fields.Set(key, type == TypeI64 ? Value.From(unchecked((long)bits)) : Value.From(BitConverter.Int64BitsToDouble(unchecked((long)bits))));
                    break;
                case TypeString:
                    if (!ReadString(ref c, $"the value of field '{key}'", out var text, out value, out error)) return false;
                    fields.Set(key, text);
                    break;
                case TypeTrue:
                    fields.Set(key, Value.True);
                    break;
                case TypeFalse:
                    fields.Set(key, Value.False);
                    break;
                default:
                    return TextParse.Fail(Name, typeAt, $"field '{key}' has unknown type {type} (0 i64, 1 f64, 2 string, 3 true, 4 false)", out value, out error);
            }
        }
        if (c.Remaining > 0) return TextParse.Fail(Name, c.Position, $"{c.Remaining} trailing bytes after the point", out value, out error);
        var record = new ValueRecord(4);
        record.Append("measurement", measurement);
        record.Append("tags", Value.From(tags));
        record.Append("fields", Value.From(fields));
        record.Append("timestamp", Value.From(timestamp));
        value = Value.From(record);
        error = null;
        return true;
    }

    private static bool ReadString(ref BigEndianCursor c, string what, out string text, out Value value, out string? error)
    {
        text = string.Empty;
        if (!c.TryU16(out var length)) return TextParse.Fail(Name, c.Position, $"truncated: the length of {what} is missing", out value, out error);
        return c.TryString(Name, length, what, out text, out value, out error);
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record {{ measurement, tags, fields, timestamp }}, found {value.Kind.ToString().ToLowerInvariant()}");
        var measurement = record.TryGetValue("measurement", out var m) ? m.AsString() : null;
        if (measurement is null) throw new CodecEncodeException(Name, "measurement is missing (a string)");
        if (!record.TryGetValue("timestamp", out var ts) || !ts.TryGetU64(out var timestamp)) throw new CodecEncodeException(Name, $"timestamp is missing or negative (an unsigned integer), found {ts}");
        var tags = record.TryGetValue("tags", out var t) ? t.AsRecord() : null;
        var fields = record.TryGetValue("fields", out var f) ? f.AsRecord() : null;
        Span<byte> scratch = stackalloc byte[8];
        Write16(output, 0, scratch);
        WriteString(output, measurement, "measurement", scratch);
        BinaryPrimitives.WriteUInt64BigEndian(scratch, timestamp);
        output.Write(scratch[..8]);
        var tagCount = 0;
        if (tags is not null)
        {
            foreach (var (_, tv) in tags) tagCount += tv.Kind == ValueKind.String ? 1 : 0;
        }
        if (tagCount > ushort.MaxValue) throw new CodecEncodeException(Name, $"{tagCount} tags; at most {ushort.MaxValue}");
        Write16(output, tagCount, scratch);
        if (tags is not null)
        {
            foreach (var (key, tv) in tags)
            {
                if (tv.AsString() is not { } tagValue) continue; // as Tremor: tags that are not strings are left out
                WriteString(output, key, "a tag key", scratch);
                WriteString(output, tagValue, $"tag '{key}'", scratch);
            }
        }
        var fieldCount = fields?.Count ?? 0;
        if (fieldCount > ushort.MaxValue) throw new CodecEncodeException(Name, $"{fieldCount} fields; at most {ushort.MaxValue}");
        Write16(output, fieldCount, scratch);
        if (fields is null) return;
        foreach (var (key, fv) in fields)
        {
            WriteString(output, key, "a field key", scratch);
            switch (fv.Kind)
            {
                case ValueKind.I64:
                    scratch[0] = TypeI64;
                    output.Write(scratch[..1]);
                    BinaryPrimitives.WriteInt64BigEndian(scratch, fv.RawI64);
                    output.Write(scratch[..8]);
                    break;
                case ValueKind.U64:
                case ValueKind.F64:
                    fv.TryGetF64(out var d);
                    scratch[0] = TypeF64;
                    output.Write(scratch[..1]);
                    BinaryPrimitives.WriteDoubleBigEndian(scratch, d);
                    output.Write(scratch[..8]);
                    break;
                case ValueKind.Bool:
                    scratch[0] = fv.AsBool() ? TypeTrue : TypeFalse;
                    output.Write(scratch[..1]);
                    break;
                case ValueKind.String:
                    scratch[0] = TypeString;
                    output.Write(scratch[..1]);
                    WriteString(output, fv.AsString()!, $"field '{key}'", scratch);
                    break;
                default:
                    throw new CodecEncodeException(Name, $"field '{key}' is {fv.Kind.ToString().ToLowerInvariant()}; binflux fields hold numbers, strings and booleans");
            }
        }
    }

    private static void Write16(IBufferWriter<byte> output, int n, Span<byte> scratch)
    {
        BinaryPrimitives.WriteUInt16BigEndian(scratch, (ushort)n);
        output.Write(scratch[..2]);
    }

    private static void WriteString(IBufferWriter<byte> output, string s, string what, Span<byte> scratch)
    {
        var length = Encoding.UTF8.GetByteCount(s);
        if (length > ushort.MaxValue) throw new CodecEncodeException(Name, $"{what} is {length} bytes; at most {ushort.MaxValue}");
        Write16(output, length, scratch);
        var span = output.GetSpan(length);
        Encoding.UTF8.GetBytes(s, span);
        output.Advance(length);
    }
}
