using System.Buffers;
using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>statsd</c> codec: one StatsD line per event (<c>name:value|type[|@rate]</c>), as Tremor shapes it:
/// <c>{ metric, type, value, sample_rate?, action? }</c>; type is <c>c</c>, <c>ms</c>, <c>g</c>, <c>h</c> or <c>s</c>; a
/// gauge written <c>+5</c> / <c>-5</c> has <c>action</c> <c>add</c> / <c>sub</c> and value 5. Values with '.' are floats,
/// others integers. Stateless and safe to share between threads.
/// </summary>
public sealed class StatsdCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "statsd";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        s = TextParse.TrimLineEnd(s);
        var colon = s.IndexOf((byte)':');
        if (colon < 0) return TextParse.Fail(Name, s.Length, "no ':' after the metric name (expected name:value|type)", out value, out error);
        if (colon == 0) return TextParse.Fail(Name, 0, "the metric name is empty", out value, out error);
        var record = new ValueRecord(5);
        record.Append("metric", TextParse.Str(s[..colon]));
        var p = colon + 1;
        var pipe = s[p..].IndexOf((byte)'|');
        if (pipe < 0) return TextParse.Fail(Name, s.Length, "no '|' after the value (expected name:value|type)", out value, out error);
        var text = s.Slice(p, pipe);
        var sign = text.Length > 0 && text[0] is (byte)'+' or (byte)'-' ? text[0] : (byte)0;
        if (!TextParse.TryNumber(text, out var number)) return TextParse.Fail(Name, p, $"the value must be a number, found '{TextParse.Str(text)}'", out value, out error);
        p += pipe + 1;
        var rest = s[p..];
        string type;
        if (rest.StartsWith("ms"u8)) type = "ms";
        else if (rest.Length > 0 && rest[0] is (byte)'c' or (byte)'g' or (byte)'h' or (byte)'s') type = ((char)rest[0]).ToString();
        else return TextParse.Fail(Name, p, $"the type must be c, ms, g, h or s, found '{TextParse.Str(rest[..Math.Min(rest.Length, 8)])}'", out value, out error);
        record.Append("type", type);
        p += type.Length;
        if (type == "g" && sign != 0)
        {
            record.Append("action", sign == (byte)'+' ? "add" : "sub");
            if (sign == (byte)'-') number = number.Kind == ValueKind.F64 ? Value.From(-number.RawF64) : Value.From(-number.RawI64);
        }
        if (p < s.Length)
        {
            if (!s[p..].StartsWith("|@"u8)) return TextParse.Fail(Name, p, $"unexpected '{TextParse.Str(s[p..])}' after the type (only |@rate may follow)", out value, out error);
            var rate = s[(p + 2)..];
            if (!double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || !double.IsFinite(r) || !IsPlainNumber(rate))
            {
                return TextParse.Fail(Name, p + 2, $"the sample rate must be a number, found '{TextParse.Str(rate)}'", out value, out error);
            }
            record.Append("sample_rate", r);
        }
        record.Append("value", number);
        value = Value.From(record);
        error = null;
        return true;
    }

    internal static bool IsPlainNumber(ReadOnlySpan<byte> text)
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
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record {{ metric, type, value }}, found {value.Kind.ToString().ToLowerInvariant()}");
        var metric = record.TryGetValue("metric", out var m) ? m.AsString() : null;
        if (string.IsNullOrEmpty(metric)) throw new CodecEncodeException(Name, "metric is missing (a non-empty string)");
        var type = record.TryGetValue("type", out var t) ? t.AsString() : null;
        if (type is not ("c" or "ms" or "g" or "h" or "s")) throw new CodecEncodeException(Name, $"type must be one of c, ms, g, h, s, found {t}");
        if (!record.TryGetValue("value", out var v) || !v.IsNumber) throw new CodecEncodeException(Name, $"value must be a number, found {v}");
        var text = new TextOutput(output);
        text.Text(metric);
        text.Byte((byte)':');
        if (type == "g" && record.TryGetValue("action", out var action))
        {
            switch (action.AsString())
            {
                case "add":
                    text.Byte((byte)'+');
                    break;
                case "sub":
                    text.Byte((byte)'-');
                    break;
            }
        }
        text.Number(v);
        text.Byte((byte)'|');
        text.Text(type);
        if (record.TryGetValue("sample_rate", out var rate) && !rate.IsNull)
        {
            text.Bytes("|@"u8);
            if (!text.Number(rate)) throw new CodecEncodeException(Name, $"sample_rate must be a number, found {rate}");
        }
        text.Flush();
    }
}
