using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The pieces of RFC 8259's grammar that <see cref="JsonDecoder"/>'s fast path reads well-formed JSON with: strings are
/// found with one vectorised search for a quote, backslash or control character, and nothing is tracked that only an
/// error message needs (lines, columns). Each answers "not taken" (a negative index, null) instead of describing what
/// is wrong: the decoder then reads the document again with <see cref="Utf8JsonReader"/>, so what is accepted, the values
/// built and the wording of errors stay the reader's.
/// </summary>
internal static class JsonScan
{
    /// <summary>Deepest nesting the fast path reads (one bit per level says record or array); deeper goes to the reader.</summary>
    public const int MaxDepth = 64;

    /// <summary>What ends the plain run of a string: its closing quote, an escape, or a control character (invalid).</summary>
    private static readonly SearchValues<byte> s_stringStops = SearchValues.Create(
        "\"\\\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"u8);

    /// <summary>
    /// Where the string whose body (the bytes after its opening quote) is <paramref name="body"/> ends: the index of its
    /// closing quote in <paramref name="body"/>, or -1 when it does not end well (a control character, an escape at
    /// the end of the input, no closing quote). <paramref name="escaped"/> says whether the body holds an escape.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StringEnd(ReadOnlySpan<byte> body, out bool escaped)
    {
        var end = body.IndexOfAny(s_stringStops);
        escaped = false;
        if (end >= 0 && body[end] == (byte)'"') return end;
        return EscapedStringEnd(body, end, out escaped);
    }

    /// <summary>The rest of <see cref="StringEnd"/>: past every escaped character to the closing quote.</summary>
    private static int EscapedStringEnd(ReadOnlySpan<byte> body, int end, out bool escaped)
    {
        escaped = true;
        if (end < 0) return -1;
        while (true)
        {
            // A control character, or a backslash with nothing after it.
            if (body[end] != (byte)'\\' || end + 1 >= body.Length) return -1;
            var next = body[(end + 2)..].IndexOfAny(s_stringStops);
            if (next < 0) return -1;
            end += 2 + next;
            if (body[end] == (byte)'"') return end;
        }
    }

    /// <summary>
    /// The text of an escaped string, or null where <see cref="Utf8JsonReader.GetString"/> would throw: an unknown
    /// escape, a bad <c>\u</c> sequence, a surrogate escape that is not part of a pair, invalid UTF-8.
    /// </summary>
    public static string? Unescape(ReadOnlySpan<byte> raw)
    {
        // Never more UTF-16 units than UTF-8 bytes (an escape is at least two bytes for one unit).
        char[]? rented = null;
        Span<char> chars = raw.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            var length = 0;
            while (!raw.IsEmpty)
            {
                var slash = raw.IndexOf((byte)'\\');
                var plain = slash < 0 ? raw : raw[..slash];
                if (Utf8.ToUtf16(plain, chars[length..], out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
                {
                    return null;
                }
                length += written;
                if (slash < 0) break;
                var escape = raw[slash + 1];
                var used = 2;
                char c;
                switch (escape)
                {
                    case (byte)'"': c = '"'; break;
                    case (byte)'\\': c = '\\'; break;
                    case (byte)'/': c = '/'; break;
                    case (byte)'b': c = '\b'; break;
                    case (byte)'f': c = '\f'; break;
                    case (byte)'n': c = '\n'; break;
                    case (byte)'r': c = '\r'; break;
                    case (byte)'t': c = '\t'; break;
                    case (byte)'u':
                        if (raw.Length < slash + 6 || !Utf8Parser.TryParse(raw.Slice(slash + 2, 4), out ushort unit, out var hex, 'X') || hex != 4)
                        {
                            return null;
                        }
                        c = (char)unit;
                        used = 6;
                        break;
                    default:
                        return null;
                }
                chars[length++] = c;
                raw = raw[(slash + used)..];
            }
            var text = chars[..length];
            for (var k = 0; k < text.Length; k++)
            {
                if (char.IsHighSurrogate(text[k]))
                {
                    if (k + 1 >= text.Length || !char.IsLowSurrogate(text[k + 1])) return null;
                    k++;
                }
                else if (char.IsLowSurrogate(text[k]))
                {
                    return null;
                }
            }
            return new string(text);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Where the number starting at <paramref name="start"/> ends, by RFC 8259's grammar
    /// (<c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>), or -1 when none starts there.
    /// </summary>
    public static int NumberEnd(ReadOnlySpan<byte> data, int start)
    {
        var i = start;
        if (data[i] == (byte)'-') i++;
        if (i >= data.Length) return -1;
        if (data[i] == (byte)'0') i++;
        else if (IsDigit(data[i])) i = SkipDigits(data, i + 1);
        else return -1;
        if (i < data.Length && data[i] == (byte)'.')
        {
            if (i + 1 >= data.Length || !IsDigit(data[i + 1])) return -1;
            i = SkipDigits(data, i + 2);
        }
        if (i < data.Length && (data[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < data.Length && (data[i] == (byte)'+' || data[i] == (byte)'-')) i++;
            if (i >= data.Length || !IsDigit(data[i])) return -1;
            i = SkipDigits(data, i + 1);
        }
        return i;
    }

    /// <summary>
    /// The value of a number <see cref="NumberEnd"/> found (or the reader checked): an integer that fits a long is I64,
    /// one above <see cref="long.MaxValue"/> that fits a ulong U64, anything else F64; false for one out of range of a
    /// finite double.
    /// </summary>
    public static bool TryNumber(ReadOnlySpan<byte> digits, out Value value)
    {
        // A short run of digits (with an optional '-') is an integer that fits a long: parsed in one plain loop
        // instead of through the general number parser.
        if (digits.Length <= 18)
        {
            var negative = !digits.IsEmpty && digits[0] == (byte)'-';
            long n = 0;
            var i = negative ? 1 : 0;
            for (; i < digits.Length; i++)
            {
                var digit = (uint)(digits[i] - '0');
                if (digit > 9) break;
                n = n * 10 + digit;
            }
            if (i == digits.Length && digits.Length > (negative ? 1 : 0))
            {
                value = Value.From(negative ? -n : n);
                return true;
            }
        }
        if (Utf8Parser.TryParse(digits, out long l, out var used) && used == digits.Length)
        {
            value = Value.From(l);
            return true;
        }
        if (digits.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && Utf8Parser.TryParse(digits, out ulong u, out used) && used == digits.Length)
        {
            value = Value.From(u);
            return true;
        }
        if (Utf8Parser.TryParse(digits, out double d, out used) && used == digits.Length && double.IsFinite(d))
        {
            value = Value.From(d);
            return true;
        }
        value = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int SkipDigits(ReadOnlySpan<byte> data, int i)
    {
        while (i < data.Length && IsDigit(data[i])) i++;
        return i;
    }

    /// <summary>The index of the first byte at or after <paramref name="i"/> that is not JSON whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SkipWhitespace(ReadOnlySpan<byte> data, int i)
    {
        while (i < data.Length)
        {
            var b = data[i];
            if (b > (byte)' ' || (b != (byte)' ' && b != (byte)'\n' && b != (byte)'\r' && b != (byte)'\t')) break;
            i++;
        }
        return i;
    }
}
