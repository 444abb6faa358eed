using System.Buffers;
using System.Globalization;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// Writes the tokens of the line formats (syslog, influx, statsd, graphite, csv) straight into the sink's buffer, so
/// encoding allocates nothing per event. Call <see cref="Flush"/> when done.
/// </summary>
internal ref struct TextOutput
{
    private Utf8Output _out;

    public TextOutput(IBufferWriter<byte> output)
    {
        _out = new Utf8Output(output);
    }

    public void Byte(byte b) => _out.WriteByte(b);

    public void Bytes(scoped ReadOnlySpan<byte> bytes) => _out.Write(bytes);

    /// <summary>A string as UTF-8 (lone surrogates become U+FFFD: they have no UTF-8 form).</summary>
    public void Text(scoped ReadOnlySpan<char> s)
    {
        while (!s.IsEmpty)
        {
            var take = Math.Min(s.Length, 1024);
            if (take < s.Length && char.IsHighSurrogate(s[take - 1])) take--;
            Utf8.FromUtf16(s[..take], _out.Reserve(take * 3), out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
            _out.Advance(written);
            s = s[take..];
        }
    }

    /// <summary>A string, with <paramref name="escape"/> characters preceded by a backslash.</summary>
    public void Escaped(string s, SearchValues<char> escape)
    {
        var span = s.AsSpan();
        while (!span.IsEmpty)
        {
            var at = span.IndexOfAny(escape);
            if (at < 0)
            {
                Text(span);
                return;
            }
            Text(span[..at]);
            _out.WriteByte((byte)'\\');
            Text(span.Slice(at, 1));
            span = span[(at + 1)..];
        }
    }

    public void I64(long value)
    {
        var span = _out.Reserve(20);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        _out.Advance(written);
    }

    public void U64(ulong value)
    {
        var span = _out.Reserve(20);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        _out.Advance(written);
    }

    /// <summary>The shortest text that parses back to the same double, with a ".0" when it would look like an integer.</summary>
    public void F64(double value)
    {
        var span = _out.Reserve(34);
        value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        if (double.IsFinite(value) && span[..written].IndexOfAny((byte)'.', (byte)'E', (byte)'e') < 0)
        {
            span[written++] = (byte)'.';
            span[written++] = (byte)'0';
        }
        _out.Advance(written);
    }

    /// <summary>An integer or a float; false (nothing written) for any other kind.</summary>
    public bool Number(in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.I64:
                I64(value.RawI64);
                return true;
            case ValueKind.U64:
                U64(unchecked((ulong)value.RawI64));
                return true;
            case ValueKind.F64:
                F64(value.RawF64);
                return true;
            default:
                return false;
        }
    }

    public void Flush() => _out.Flush();
}

/// <summary>An event a codec cannot write in its format (a record into graphite, a syslog event without a facility).</summary>
public sealed class CodecEncodeException(string codec, string reason) : Exception($"codec '{codec}' cannot encode the event: {reason}")
{
    /// <summary>The codec's name.</summary>
    public string Codec { get; } = codec;
}

/// <summary>Shared pieces of the text decoders: error text with byte positions, numbers parsed from UTF-8.</summary>
internal static class TextParse
{
    /// <summary>The error for bad input: what, where (byte offset), in the codec's words.</summary>
    public static bool Fail(string codec, int offset, string reason, out Value value, out string? error)
    {
        value = default;
        error = $"invalid {codec} at byte {offset}: {reason}";
        return false;
    }

    /// <summary>Checks the whole input is UTF-8 first, so the parsers can slice it freely.</summary>
    public static bool CheckUtf8(string codec, ReadOnlySpan<byte> data, out Value value, out string? error)
    {
        if (Utf8.IsValid(data))
        {
            value = default;
            error = null;
            return true;
        }
        var bad = Utf8Text.FindInvalid(data);
        return Fail(codec, bad, $"invalid UTF-8 ({Utf8Text.DescribeByte(data, bad)})", out value, out error);
    }

    /// <summary>
    /// The line without one trailing "\n" or "\r\n": senders often end a datagram with one, and it is framing, not data.
    /// </summary>
    public static ReadOnlySpan<byte> TrimLineEnd(ReadOnlySpan<byte> s)
    {
        if (s.Length > 0 && s[^1] == (byte)'\n') s = s[..^1];
        if (s.Length > 0 && s[^1] == (byte)'\r') s = s[..^1];
        return s;
    }

    public static string Str(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(utf8);

    /// <summary>A statsd/graphite number: with '.', 'e' or 'E' a float, otherwise an integer (signed or unsigned).</summary>
    public static bool TryNumber(ReadOnlySpan<byte> text, out Value value)
    {
        value = default;
        if (text.IsEmpty) return false;
        if (text.IndexOfAny((byte)'.', (byte)'e', (byte)'E') >= 0)
        {
            // Only digits, sign, '.', exponent: double.TryParse alone would also take "NaN", "Infinity" and spaces.
            foreach (var b in text)
            {
                if (!(b is >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)'e' or (byte)'E' or (byte)'-' or (byte)'+')) return false;
            }
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d)) return false;
            value = Value.From(d);
            return true;
        }
        if (text[0] == (byte)'-')
        {
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return false;
            value = Value.From(l);
            return true;
        }
        if (text[0] == (byte)'+') text = text[1..];
        if (text.IsEmpty || !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u)) return false;
        value = Value.From(u);
        return true;
    }
}
