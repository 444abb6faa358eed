using System.Buffers;
using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>graphite</c> codec (Tremor's <c>graphite-plaintext</c>; both names work): one plaintext line
/// <c>path value timestamp</c> per event as <c>{ metric, value, timestamp }</c> (timestamp in seconds; <c>-1</c>, which
/// Tremor replaces with the ingest time, stays <c>-1</c> here). Stateless and safe to share between threads.
/// </summary>
public sealed class GraphiteCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "graphite";

    /// <summary>Tremor's name for the same codec.</summary>
    public const string TremorName = "graphite-plaintext";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        s = TextParse.TrimLineEnd(s);
        var first = s.IndexOf((byte)' ');
        if (first < 0) return TextParse.Fail(Name, s.Length, "truncated: expected 'path value timestamp'", out value, out error);
        if (first == 0) return TextParse.Fail(Name, 0, "the metric path is empty", out value, out error);
        var p = first + 1;
        var second = s[p..].IndexOf((byte)' ');
        if (second < 0) return TextParse.Fail(Name, s.Length, "truncated: the timestamp is missing (use -1 for now)", out value, out error);
        if (!TextParse.TryNumber(s.Slice(p, second), out var number)) return TextParse.Fail(Name, p, $"the value must be a number, found '{TextParse.Str(s.Slice(p, second))}'", out value, out error);
        p += second + 1;
        var ts = s[p..];
        Value timestamp;
        if (ts.SequenceEqual("-1"u8)) timestamp = -1;
        else if (ulong.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) timestamp = Value.From(seconds);
        else return TextParse.Fail(Name, p, $"the timestamp must be seconds since the epoch or -1, found '{TextParse.Str(ts)}'", out value, out error);
        var record = new ValueRecord(3);
        record.Append("metric", TextParse.Str(s[..first]));
        record.Append("timestamp", timestamp);
        record.Append("value", number);
        value = Value.From(record);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record {{ metric, value, timestamp }}, found {value.Kind.ToString().ToLowerInvariant()}");
        var metric = record.TryGetValue("metric", out var m) ? m.AsString() : null;
        if (string.IsNullOrEmpty(metric) || metric.Contains(' ', StringComparison.Ordinal)) throw new CodecEncodeException(Name, $"metric must be a non-empty string without spaces, found {m}");
        if (!record.TryGetValue("value", out var v) || !v.IsNumber) throw new CodecEncodeException(Name, $"value must be a number, found {v}");
        if (!record.TryGetValue("timestamp", out var ts) || ts.Kind is not (ValueKind.I64 or ValueKind.U64)) throw new CodecEncodeException(Name, $"timestamp must be an integer (seconds), found {ts}");
        var text = new TextOutput(output);
        text.Text(metric);
        text.Byte((byte)' ');
        text.Number(v);
        text.Byte((byte)' ');
        text.Number(ts);
        text.Flush();
    }
}
