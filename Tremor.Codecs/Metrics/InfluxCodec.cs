using System.Buffers;
using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>influx</c> codec: one InfluxDB line-protocol line per event, as Tremor shapes it:
/// <c>{ measurement, tags: { k: "v" }, fields: { k: value }, timestamp }</c>. Field values: <c>1.5</c> and <c>1</c> are
/// floats, <c>1i</c> integers, <c>1u</c> unsigned integers (written back as <c>1i</c>), <c>"text"</c> strings,
/// <c>t</c>/<c>true</c>/<c>f</c>/<c>false</c> (any case Influx allows) booleans. A line without a timestamp has no
/// <c>timestamp</c> key (Tremor puts the ingest time there; a codec here is not told it). Stateless and safe to share.
/// </summary>
public sealed class InfluxCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "influx";

    private static readonly SearchValues<char> s_measurementEscape = SearchValues.Create(", ");
    private static readonly SearchValues<char> s_keyEscape = SearchValues.Create(",= ");
    private static readonly SearchValues<char> s_stringEscape = SearchValues.Create("\"\\");

    /// <summary>Unescaping scratch, one per thread: the codec is shared, and a token is copied out before the next.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        s = TextParse.TrimLineEnd(s);
        if (s.IsEmpty) return TextParse.Fail(Name, 0, "the line is empty (expected measurement,tags fields timestamp)", out value, out error);
        if (s[0] == (byte)'#') return TextParse.Fail(Name, 0, "the line is a comment, not a point", out value, out error);
        var p = 0;
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(256);
        if (!ReadToken(s, ref p, scratch, ", "u8, out var measurement)) return TextParse.Fail(Name, p, "truncated after the measurement: fields are missing", out value, out error);
        if (measurement.Length == 0) return TextParse.Fail(Name, 0, "the measurement is empty", out value, out error);
        var tags = new ValueRecord(4);
        while (s[p] == (byte)',')
        {
            p++;
            var keyStart = p;
            if (!ReadToken(s, ref p, scratch, ",= "u8, out var key) || s[p] != (byte)'=') return TextParse.Fail(Name, p, $"tag at byte {keyStart} needs key=value", out value, out error);
            if (key.Length == 0) return TextParse.Fail(Name, keyStart, "a tag key is empty", out value, out error);
            p++;
            var valueStart = p;
            if (!ReadToken(s, ref p, scratch, ", "u8, out var tagValue)) return TextParse.Fail(Name, p, "truncated after the tags: fields are missing", out value, out error);
            if (tagValue.Length == 0) return TextParse.Fail(Name, valueStart, $"the value of tag '{key}' is empty", out value, out error);
            tags.Set(key, tagValue);
        }
        if (s[p] != (byte)' ') return TextParse.Fail(Name, p, "expected a space before the fields", out value, out error);
        p++;
        var fields = new ValueRecord(4);
        while (true)
        {
            var keyStart = p;
            if (!ReadToken(s, ref p, scratch, ",= "u8, out var key) || s[p] != (byte)'=') return TextParse.Fail(Name, p, $"field at byte {keyStart} needs key=value", out value, out error);
            if (key.Length == 0) return TextParse.Fail(Name, keyStart, "a field key is empty", out value, out error);
            p++;
            if (!ReadFieldValue(s, ref p, scratch, key, out var fieldValue, out value, out error)) return false;
            fields.Set(key, fieldValue);
            if (p >= s.Length || s[p] == (byte)' ') break;
            if (s[p] != (byte)',') return TextParse.Fail(Name, p, $"expected ',' or ' ' after field '{key}', found '{(char)s[p]}'", out value, out error);
            p++;
        }
        var record = new ValueRecord(4);
        record.Append("measurement", measurement);
        record.Append("tags", Value.From(tags));
        record.Append("fields", Value.From(fields));
        if (p < s.Length)
        {
            p++;
            var ts = s[p..];
            if (!long.TryParse(ts, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp))
            {
                return TextParse.Fail(Name, p, $"the timestamp must be an integer (nanoseconds), found '{TextParse.Str(ts)}'", out value, out error);
            }
            record.Append("timestamp", timestamp);
        }
        value = Value.From(record);
        error = null;
        return true;
    }

    /// <summary>Reads up to an unescaped stop byte; false when the line ends first.</summary>
    private static bool ReadToken(ReadOnlySpan<byte> s, ref int p, ArrayBufferWriter<byte> scratch, ReadOnlySpan<byte> stops, out string token)
    {
        scratch.ResetWrittenCount();
        var start = p;
        var escaped = false;
        while (p < s.Length)
        {
            var b = s[p];
            if (b == (byte)'\\' && p + 1 < s.Length && s[p + 1] is (byte)'=' or (byte)' ' or (byte)',')
            {
                if (!escaped)
                {
                    scratch.Write(s[start..p]);
                    escaped = true;
                }
                scratch.Write(s.Slice(p + 1, 1));
                p += 2;
                continue;
            }
            if (stops.Contains(b)) break;
            if (escaped) scratch.Write(s.Slice(p, 1));
            p++;
        }
        token = escaped ? TextParse.Str(scratch.WrittenSpan) : TextParse.Str(s[start..p]);
        return p < s.Length;
    }

    private static bool ReadFieldValue(ReadOnlySpan<byte> s, ref int p, ArrayBufferWriter<byte> scratch, string key, out Value fieldValue, out Value value, out string? error)
    {
        fieldValue = default;
        var start = p;
        if (p >= s.Length) return TextParse.Fail(Name, p, $"truncated: field '{key}' has no value", out value, out error);
        if (s[p] == (byte)'"')
        {
            p++;
            scratch.ResetWrittenCount();
            while (p < s.Length)
            {
                var b = s[p];
                if (b == (byte)'\\' && p + 1 < s.Length && s[p + 1] is (byte)'"' or (byte)'\\')
                {
                    scratch.Write(s.Slice(p + 1, 1));
                    p += 2;
                    continue;
                }
                if (b == (byte)'"')
                {
                    p++;
                    fieldValue = TextParse.Str(scratch.WrittenSpan);
                    value = default;
                    error = null;
                    return true;
                }
                scratch.Write(s.Slice(p, 1));
                p++;
            }
            return TextParse.Fail(Name, start, $"the string value of field '{key}' has no closing '\"'", out value, out error);
        }
        while (p < s.Length && s[p] is not ((byte)',' or (byte)' ')) p++;
        var text = s[start..p];
        if (text.IsEmpty) return TextParse.Fail(Name, start, $"field '{key}' has no value", out value, out error);
        if (IsTrue(text))
        {
            fieldValue = Value.True;
        }
        else if (IsFalse(text))
        {
            fieldValue = Value.False;
        }
        else if (text[^1] == (byte)'i' && long.TryParse(text[..^1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            fieldValue = i;
        }
        else if (text[^1] == (byte)'u' && ulong.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var u))
        {
            fieldValue = Value.From(u);
        }
        else if (IsFloatText(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            fieldValue = d;
        }
        else
        {
            return TextParse.Fail(Name, start, $"the value of field '{key}' is not a number, string or boolean: '{TextParse.Str(text)}'", out value, out error);
        }
        value = default;
        error = null;
        return true;
    }

    private static bool IsTrue(ReadOnlySpan<byte> t) =>
        (t.Length == 1 && t[0] is (byte)'t' or (byte)'T') || t.SequenceEqual("true"u8) || t.SequenceEqual("True"u8) || t.SequenceEqual("TRUE"u8);

    private static bool IsFalse(ReadOnlySpan<byte> t) =>
        (t.Length == 1 && t[0] is (byte)'f' or (byte)'F') || t.SequenceEqual("false"u8) || t.SequenceEqual("False"u8) || t.SequenceEqual("FALSE"u8);

    private static bool IsFloatText(ReadOnlySpan<byte> text)
    {
        foreach (var b in text)
        {
            if (!(b is >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)'e' or (byte)'E' or (byte)'-' or (byte)'+')) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record {{ measurement, tags, fields, timestamp }}, found {value.Kind.ToString().ToLowerInvariant()}");
        var measurement = record.TryGetValue("measurement", out var m) ? m.AsString() : null;
        if (string.IsNullOrEmpty(measurement)) throw new CodecEncodeException(Name, "measurement is missing (a non-empty string)");
        var fields = record.TryGetValue("fields", out var f) ? f.AsRecord() : null;
        if (fields is null || fields.Count == 0) throw new CodecEncodeException(Name, "fields is missing or empty (a record with at least one field)");
        var text = new TextOutput(output);
        text.Escaped(measurement, s_measurementEscape);
        if (record.TryGetValue("tags", out var t) && !t.IsNull)
        {
            var tags = t.AsRecord() ?? throw new CodecEncodeException(Name, $"tags must be a record of strings, found {t}");
            foreach (var (key, tagValue) in tags)
            {
                var tv = tagValue.AsString() ?? throw new CodecEncodeException(Name, $"tag '{key}' must be a string, found {tagValue}");
                text.Byte((byte)',');
                text.Escaped(key, s_keyEscape);
                text.Byte((byte)'=');
                text.Escaped(tv, s_keyEscape);
            }
        }
        var first = true;
        foreach (var (key, fieldValue) in fields)
        {
            text.Byte(first ? (byte)' ' : (byte)',');
            first = false;
            text.Escaped(key, s_keyEscape);
            text.Byte((byte)'=');
            switch (fieldValue.Kind)
            {
                case ValueKind.I64:
                    text.I64(fieldValue.RawI64);
                    text.Byte((byte)'i');
                    break;
                case ValueKind.U64:
                    text.U64(unchecked((ulong)fieldValue.RawI64));
                    text.Byte((byte)'u');
                    break;
                case ValueKind.F64:
                    if (!double.IsFinite(fieldValue.RawF64)) throw new CodecEncodeException(Name, $"field '{key}' is {fieldValue.RawF64}, which line protocol cannot hold");
                    text.F64(fieldValue.RawF64);
                    break;
                case ValueKind.Bool:
                    text.Bytes(fieldValue.AsBool() ? "true"u8 : "false"u8);
                    break;
                case ValueKind.String:
                    text.Byte((byte)'"');
                    text.Escaped(fieldValue.AsString()!, s_stringEscape);
                    text.Byte((byte)'"');
                    break;
                default:
                    throw new CodecEncodeException(Name, $"field '{key}' is {fieldValue.Kind.ToString().ToLowerInvariant()}; line protocol fields hold numbers, strings and booleans");
            }
        }
        if (record.TryGetValue("timestamp", out var ts) && !ts.IsNull)
        {
            text.Byte((byte)' ');
            if (ts.Kind is not (ValueKind.I64 or ValueKind.U64) || !text.Number(ts)) throw new CodecEncodeException(Name, $"timestamp must be an integer (nanoseconds), found {ts}");
        }
        text.Flush();
    }
}
