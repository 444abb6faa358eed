using System.Buffers;
using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>dogstatsd</c> codec: one DogStatsD v1.2 datagram line per event, as Tremor shapes it: a metric
/// <c>{ metric: { metric, values: [floats], type, sample_rate?, tags?: ["k:v"], container_id? } }</c>, an event
/// <c>{ event: { title, text, timestamp?, hostname?, aggregation_key?, priority?, source?, type?, tags?, container_id? } }</c>
/// (<c>_e{len,len}:title|text|...</c>) or a service check
/// <c>{ service_check: { name, status, timestamp?, hostname?, tags?, message?, container_id? } }</c>
/// (<c>_sc|name|status|...</c>). Stateless and safe to share between threads.
/// </summary>
public sealed class DogstatsdCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "dogstatsd";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        s = TextParse.TrimLineEnd(s);
        ValueRecord? inner;
        string kind;
        if (s.StartsWith("_e{"u8))
        {
            kind = "event";
            if (!DecodeEvent(s, out inner, out value, out error)) return false;
        }
        else if (s.StartsWith("_sc|"u8))
        {
            kind = "service_check";
            if (!DecodeServiceCheck(s, out inner, out value, out error)) return false;
        }
        else
        {
            kind = "metric";
            if (!DecodeMetric(s, out inner, out value, out error)) return false;
        }
        var outer = new ValueRecord(1);
        outer.Append(kind, Value.From(inner));
        value = Value.From(outer);
        return true;
    }

    private static bool DecodeMetric(ReadOnlySpan<byte> s, out ValueRecord? m, out Value value, out string? error)
    {
        m = null;
        var colon = s.IndexOf((byte)':');
        if (colon <= 0) return TextParse.Fail(Name, colon < 0 ? s.Length : 0, colon < 0 ? "no ':' after the metric name (expected name:value|type)" : "the metric name is empty", out value, out error);
        var pipe = s[colon..].IndexOf((byte)'|');
        if (pipe < 0) return TextParse.Fail(Name, s.Length, "no '|' after the values (expected name:value|type)", out value, out error);
        pipe += colon;
        m = new ValueRecord(6);
        m.Append("metric", TextParse.Str(s[..colon]));
        var values = new List<Value>(1);
        var p = colon + 1;
        while (p <= pipe)
        {
            var end = s[p..pipe].IndexOf((byte)':');
            var text = end < 0 ? s[p..pipe] : s.Slice(p, end);
            if (!StatsdCodec.IsPlainNumber(text) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            {
                return TextParse.Fail(Name, p, $"a value must be a number, found '{TextParse.Str(text)}'", out value, out error);
            }
            values.Add(d);
            p += text.Length + 1;
        }
        m.Append("values", Value.From(values));
        var rest = s[(pipe + 1)..];
        string type;
        if (rest.StartsWith("ms"u8)) type = "ms";
        else if (rest.Length > 0 && rest[0] is (byte)'c' or (byte)'d' or (byte)'g' or (byte)'h' or (byte)'s') type = ((char)rest[0]).ToString();
        else return TextParse.Fail(Name, pipe + 1, $"the type must be c, d, ms, g, h or s, found '{TextParse.Str(rest[..Math.Min(rest.Length, 8)])}'", out value, out error);
        m.Append("type", type);
        p = pipe + 1 + type.Length;
        return Sections(s, p, m, "metric", out value, out error);
    }

    /// <summary>The optional |x:... sections; unknown ones are errors so a typo does not vanish.</summary>
    private static bool Sections(ReadOnlySpan<byte> s, int p, ValueRecord m, string kind, out Value value, out string? error)
    {
        while (p < s.Length)
        {
            if (s[p] != (byte)'|') return TextParse.Fail(Name, p, $"expected '|' before the next section, found '{(char)s[p]}'", out value, out error);
            p++;
            var end = s[p..].IndexOf((byte)'|');
            var section = end < 0 ? s[p..] : s.Slice(p, end);
            if (kind == "metric" && section.Length > 0 && section[0] == (byte)'@')
            {
                if (!StatsdCodec.IsPlainNumber(section[1..]) || !double.TryParse(section[1..], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate))
                {
                    return TextParse.Fail(Name, p + 1, $"the sample rate must be a number, found '{TextParse.Str(section[1..])}'", out value, out error);
                }
                m.Set("sample_rate", rate);
            }
            else if (section.Length > 0 && section[0] == (byte)'#')
            {
                var tags = new List<Value>();
                foreach (var range in section[1..].Split((byte)',')) tags.Add(TextParse.Str(section[1..][range]));
                m.Set("tags", Value.From(tags));
            }
            else if (section.Length >= 2 && section[1] == (byte)':' && Key(kind, section[0]) is { } key)
            {
                var text = section[2..];
                if (key == "timestamp")
                {
                    if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ts)) return TextParse.Fail(Name, p + 2, $"the timestamp must be seconds since the epoch, found '{TextParse.Str(text)}'", out value, out error);
                    m.Set(key, (long)ts);
                }
                else
                {
                    m.Set(key, TextParse.Str(text));
                }
            }
            else
            {
                return TextParse.Fail(Name, p, $"unknown {kind} section '{TextParse.Str(section[..Math.Min(section.Length, 16)])}'", out value, out error);
            }
            p += section.Length;
        }
        value = default;
        error = null;
        return true;
    }

    private static string? Key(string kind, byte tag) => (kind, (char)tag) switch
    {
        (_, 'c') => "container_id",
        ("event" or "service_check", 'd') => "timestamp",
        ("event" or "service_check", 'h') => "hostname",
        ("event", 'k') => "aggregation_key",
        ("event", 'p') => "priority",
        ("event", 's') => "source",
        ("event", 't') => "type",
        ("service_check", 'm') => "message",
        _ => null,
    };

    private static bool DecodeEvent(ReadOnlySpan<byte> s, out ValueRecord? m, out Value value, out string? error)
    {
        m = null;
        var p = 3;
        var comma = s[p..].IndexOf((byte)',');
        var close = s[p..].IndexOf("}:"u8);
        if (comma < 0 || close < 0 || comma > close) return TextParse.Fail(Name, p, "an event starts _e{TITLE_LENGTH,TEXT_LENGTH}:", out value, out error);
        if (!int.TryParse(s.Slice(p, comma), NumberStyles.None, CultureInfo.InvariantCulture, out var titleLength)
            || !int.TryParse(s.Slice(p + comma + 1, close - comma - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var textLength))
        {
            return TextParse.Fail(Name, p, "the title and text lengths must be numbers", out value, out error);
        }
        p += close + 2;
        if ((long)titleLength + textLength + 1 > s.Length - p) return TextParse.Fail(Name, s.Length, $"truncated: title ({titleLength} bytes) and text ({textLength} bytes) do not fit in the rest of the datagram", out value, out error);
        if (s[p + titleLength] != (byte)'|') return TextParse.Fail(Name, p + titleLength, "expected '|' after the title (is the title length right?)", out value, out error);
        m = new ValueRecord(6);
        if (!Utf8Boundary(s, p, p + titleLength) || !Utf8Boundary(s, p + titleLength + 1, p + titleLength + 1 + textLength))
        {
            return TextParse.Fail(Name, p, "a length splits a UTF-8 character", out value, out error);
        }
        m.Append("title", TextParse.Str(s.Slice(p, titleLength)));
        m.Append("text", TextParse.Str(s.Slice(p + titleLength + 1, textLength)));
        return Sections(s, p + titleLength + 1 + textLength, m, "event", out value, out error);
    }

    private static bool Utf8Boundary(ReadOnlySpan<byte> s, int start, int end) =>
        (start >= s.Length || (s[start] & 0xC0) != 0x80) && (end >= s.Length || (s[end] & 0xC0) != 0x80);

    private static bool DecodeServiceCheck(ReadOnlySpan<byte> s, out ValueRecord? m, out Value value, out string? error)
    {
        m = null;
        var p = 4;
        var pipe = s[p..].IndexOf((byte)'|');
        if (pipe <= 0) return TextParse.Fail(Name, p, pipe < 0 ? "truncated: a service check is _sc|NAME|STATUS" : "the service check name is empty", out value, out error);
        m = new ValueRecord(4);
        m.Append("name", TextParse.Str(s.Slice(p, pipe)));
        p += pipe + 1;
        var end = s[p..].IndexOf((byte)'|');
        var status = end < 0 ? s[p..] : s.Slice(p, end);
        if (status.Length != 1 || status[0] is < (byte)'0' or > (byte)'3') return TextParse.Fail(Name, p, $"the status must be 0, 1, 2 or 3, found '{TextParse.Str(status)}'", out value, out error);
        m.Append("status", status[0] - '0');
        return Sections(s, p + 1, m, "service_check", out value, out error);
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record with metric, event or service_check, found {value.Kind.ToString().ToLowerInvariant()}");
        var text = new TextOutput(output);
        if (record.TryGetValue("metric", out var metric) && metric.AsRecord() is { } m) EncodeMetric(m, ref text);
        else if (record.TryGetValue("event", out var e) && e.AsRecord() is { } ev) EncodeEvent(ev, ref text);
        else if (record.TryGetValue("service_check", out var sc) && sc.AsRecord() is { } check) EncodeServiceCheck(check, ref text);
        else throw new CodecEncodeException(Name, "expected a record with a metric, event or service_check record inside");
        text.Flush();
    }

    private static string RequiredString(ValueRecord r, string kind, string key) =>
        r.TryGetValue(key, out var v) && v.AsString() is { } s ? s : throw new CodecEncodeException(Name, $"{kind}.{key} is missing (a string)");

    private static void EncodeMetric(ValueRecord m, ref TextOutput text)
    {
        var name = RequiredString(m, "metric", "metric");
        var type = RequiredString(m, "metric", "type");
        var values = m.TryGetValue("values", out var vs) ? vs.AsArray() : null;
        if (values is null) throw new CodecEncodeException(Name, "metric.values is missing (an array of numbers)");
        text.Text(name);
        var first = true;
        foreach (var v in values)
        {
            if (!v.TryGetF64(out var d)) throw new CodecEncodeException(Name, $"metric.values must hold numbers, found {v}");
            text.Byte((byte)':');
            first = false;
            if (d == Math.Floor(d) && Math.Abs(d) < 9.2e18) text.I64((long)d);
            else text.F64(d);
        }
        if (first) text.Byte((byte)':');
        text.Byte((byte)'|');
        text.Text(type);
        if (m.TryGetValue("sample_rate", out var rate) && !rate.IsNull)
        {
            text.Bytes("|@"u8);
            if (!text.Number(rate)) throw new CodecEncodeException(Name, $"metric.sample_rate must be a number, found {rate}");
        }
        Tags(m, ref text);
        Optional(m, "container_id", "|c:"u8, ref text);
    }

    private static void EncodeEvent(ValueRecord m, ref TextOutput text)
    {
        var title = RequiredString(m, "event", "title");
        var body = RequiredString(m, "event", "text");
        text.Bytes("_e{"u8);
        text.I64(System.Text.Encoding.UTF8.GetByteCount(title));
        text.Byte((byte)',');
        text.I64(System.Text.Encoding.UTF8.GetByteCount(body));
        text.Bytes("}:"u8);
        text.Text(title);
        text.Byte((byte)'|');
        text.Text(body);
        if (m.TryGetValue("timestamp", out var ts) && ts.TryGetI64(out var t))
        {
            text.Bytes("|d:"u8);
            text.I64(t);
        }
        Optional(m, "hostname", "|h:"u8, ref text);
        Optional(m, "aggregation_key", "|k:"u8, ref text);
        Optional(m, "priority", "|p:"u8, ref text);
        Optional(m, "source", "|s:"u8, ref text);
        Optional(m, "type", "|t:"u8, ref text);
        Tags(m, ref text);
        Optional(m, "container_id", "|c:"u8, ref text);
    }

    private static void EncodeServiceCheck(ValueRecord m, ref TextOutput text)
    {
        var name = RequiredString(m, "service_check", "name");
        if (!m.TryGetValue("status", out var status) || !status.TryGetI64(out var st) || st is < 0 or > 3) throw new CodecEncodeException(Name, $"service_check.status must be 0, 1, 2 or 3, found {status}");
        text.Bytes("_sc|"u8);
        text.Text(name);
        text.Byte((byte)'|');
        text.I64(st);
        if (m.TryGetValue("timestamp", out var ts) && ts.TryGetI64(out var t))
        {
            text.Bytes("|d:"u8);
            text.I64(t);
        }
        Optional(m, "hostname", "|h:"u8, ref text);
        Tags(m, ref text);
        Optional(m, "message", "|m:"u8, ref text);
        Optional(m, "container_id", "|c:"u8, ref text);
    }

    private static void Optional(ValueRecord m, string key, ReadOnlySpan<byte> prefix, ref TextOutput text)
    {
        if (!m.TryGetValue(key, out var v) || v.AsString() is not { } s) return;
        text.Bytes(prefix);
        text.Text(s);
    }

    private static void Tags(ValueRecord m, ref TextOutput text)
    {
        if (!m.TryGetValue("tags", out var tags) || tags.AsArray() is not { } list) return;
        text.Bytes("|#"u8);
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0) text.Byte((byte)',');
            text.Text(list[i].AsString() ?? throw new CodecEncodeException(Name, $"tags must be strings, found {list[i]}"));
        }
    }
}
