using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;

namespace Tremor.Codecs;

/// <summary>
/// The token stream <see cref="JsonDecoder"/> builds values from: the members of <see cref="Utf8JsonReader"/> it uses,
/// so one decoding loop serves both <see cref="ScannedJsonTokens"/> (the fast path) and <see cref="ReaderJsonTokens"/>
/// (the reference, which also words every error).
/// </summary>
internal interface IJsonTokens
{
    /// <summary>
    /// True for a source that gives up on anything unusual (a <see cref="JsonTokenType.None"/> token) instead of
    /// describing it: the decoder then starts again on the reference reader, which reports the error.
    /// </summary>
    static abstract bool GivesUp { get; }

    JsonTokenType TokenType { get; }

    ReadOnlySpan<byte> ValueSpan { get; }

    bool ValueIsEscaped { get; }

    long TokenStartIndex { get; }

    bool Read();

    string? GetString();

    bool TryGetInt64(out long value);

    bool TryGetUInt64(out ulong value);

    bool TryGetDouble(out double value);
}

/// <summary><see cref="Utf8JsonReader"/> as an <see cref="IJsonTokens"/>: every error it finds is a <see cref="JsonException"/>.</summary>
internal ref struct ReaderJsonTokens(ReadOnlySpan<byte> data, JsonReaderOptions options) : IJsonTokens
{
    public Utf8JsonReader Reader = new(data, isFinalBlock: true, new JsonReaderState(options));

    public static bool GivesUp => false;

    public readonly JsonTokenType TokenType => Reader.TokenType;

    public readonly ReadOnlySpan<byte> ValueSpan => Reader.ValueSpan;

    public readonly bool ValueIsEscaped => Reader.ValueIsEscaped;

    public readonly long TokenStartIndex => Reader.TokenStartIndex;

    public bool Read() => Reader.Read();

    public readonly string? GetString() => Reader.GetString();

    public readonly bool TryGetInt64(out long value) => Reader.TryGetInt64(out value);

    public readonly bool TryGetUInt64(out ulong value) => Reader.TryGetUInt64(out value);

    public readonly bool TryGetDouble(out double value) => Reader.TryGetDouble(out value);
}

/// <summary>
/// A lean scanner for well-formed JSON (RFC 8259): strings are found with one vectorised search for a quote, backslash
/// or control character, and nothing is tracked that only an error message needs (lines, columns). On anything it does
/// not take — a syntax error, a bad escape, nesting deeper than 64, a byte-order mark — it yields a
/// <see cref="JsonTokenType.None"/> token and the decoder reads the document again with <see cref="ReaderJsonTokens"/>,
/// so what is accepted, the values built and the wording of errors stay those of <see cref="Utf8JsonReader"/>.
/// </summary>
internal ref struct ScannedJsonTokens : IJsonTokens
{
    /// <summary>Deepest nesting scanned here (one bit per level says record or array); deeper goes to the reader.</summary>
    public const int MaxDepth = 64;

    /// <summary>What ends the plain run of a string: its closing quote, an escape, or a control character (invalid).</summary>
    private static readonly SearchValues<byte> s_stringStops = SearchValues.Create(
        "\"\\\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"u8);

    private enum Expect : byte
    {
        FirstValue,
        Value,
        ValueOrEndArray,
        Key,
        KeyOrEndObject,
        CommaOrEnd,
        Nothing,
    }

    private readonly ReadOnlySpan<byte> _data;
    private int _pos;
    private Expect _expect;
    private int _depth;
    private ulong _records;
    private JsonTokenType _type;
    private ReadOnlySpan<byte> _value;
    private string? _unescaped;
    private int _start;

    public ScannedJsonTokens(ReadOnlySpan<byte> data)
    {
        _data = data;
    }

    public static bool GivesUp => true;

    public readonly JsonTokenType TokenType => _type;

    public readonly ReadOnlySpan<byte> ValueSpan => _value;

    public readonly bool ValueIsEscaped => _unescaped is not null;

    public readonly long TokenStartIndex => _start;

    public readonly string? GetString() => _unescaped;

    public readonly bool TryGetInt64(out long value) => Utf8Parser.TryParse(_value, out value, out var used) && used == _value.Length;

    public readonly bool TryGetUInt64(out ulong value) => Utf8Parser.TryParse(_value, out value, out var used) && used == _value.Length;

    public readonly bool TryGetDouble(out double value) => Utf8Parser.TryParse(_value, out value, out var used) && used == _value.Length;

    public bool Read()
    {
        var data = _data;
        var i = SkipWhitespace(data, _pos);
        switch (_expect)
        {
            case Expect.CommaOrEnd:
                if (i < data.Length)
                {
                    var c = data[i];
                    var inRecord = (_records & 1) != 0;
                    if (c == (byte)',')
                    {
                        i = SkipWhitespace(data, i + 1);
                        return inRecord ? ReadKey(data, i) : ReadValue(data, i);
                    }
                    if (c == (byte)(inRecord ? '}' : ']')) return Close(i, inRecord ? JsonTokenType.EndObject : JsonTokenType.EndArray);
                }
                return GiveUp();
            case Expect.FirstValue:
            case Expect.Value:
                return ReadValue(data, i);
            case Expect.KeyOrEndObject:
                if (i < data.Length && data[i] == (byte)'}') return Close(i, JsonTokenType.EndObject);
                return ReadKey(data, i);
            case Expect.ValueOrEndArray:
                if (i < data.Length && data[i] == (byte)']') return Close(i, JsonTokenType.EndArray);
                return ReadValue(data, i);
            case Expect.Key:
                return ReadKey(data, i);
            default:
                // After the one top-level value only whitespace may follow.
                return i < data.Length && GiveUp();
        }
    }

    private bool ReadValue(ReadOnlySpan<byte> data, int i)
    {
        if (i >= data.Length) return GiveUp();
        _start = i;
        _unescaped = null;
        switch (data[i])
        {
            case (byte)'"':
                if (!ScanString(data, i)) return GiveUp();
                _type = JsonTokenType.String;
                break;
            case (byte)'{':
                return Open(i, JsonTokenType.StartObject, Expect.KeyOrEndObject, 1);
            case (byte)'[':
                return Open(i, JsonTokenType.StartArray, Expect.ValueOrEndArray, 0);
            case (byte)'t':
                if (!data[i..].StartsWith("true"u8)) return GiveUp();
                _type = JsonTokenType.True;
                _pos = i + 4;
                break;
            case (byte)'f':
                if (!data[i..].StartsWith("false"u8)) return GiveUp();
                _type = JsonTokenType.False;
                _pos = i + 5;
                break;
            case (byte)'n':
                if (!data[i..].StartsWith("null"u8)) return GiveUp();
                _type = JsonTokenType.Null;
                _pos = i + 4;
                break;
            default:
                if (!ScanNumber(data, i)) return GiveUp();
                _type = JsonTokenType.Number;
                break;
        }
        _expect = _depth == 0 ? Expect.Nothing : Expect.CommaOrEnd;
        return true;
    }

    /// <summary>A field's name and the colon after it; the value is the next token.</summary>
    private bool ReadKey(ReadOnlySpan<byte> data, int i)
    {
        if (i >= data.Length || data[i] != (byte)'"') return GiveUp();
        _start = i;
        _unescaped = null;
        if (!ScanString(data, i)) return GiveUp();
        var colon = SkipWhitespace(data, _pos);
        if (colon >= data.Length || data[colon] != (byte)':') return GiveUp();
        _pos = colon + 1;
        _type = JsonTokenType.PropertyName;
        _expect = Expect.Value;
        return true;
    }

    private bool Open(int i, JsonTokenType type, Expect next, ulong record)
    {
        if (_depth == MaxDepth) return GiveUp();
        _records = (_records << 1) | record;
        _depth++;
        _type = type;
        _pos = i + 1;
        _expect = next;
        return true;
    }

    private bool Close(int i, JsonTokenType type)
    {
        _records >>= 1;
        _depth--;
        _start = i;
        _type = type;
        _pos = i + 1;
        _expect = _depth == 0 ? Expect.Nothing : Expect.CommaOrEnd;
        return true;
    }

    /// <summary>The string whose opening quote is at <paramref name="quote"/>: its raw bytes, unescaped if it has escapes.</summary>
    private bool ScanString(ReadOnlySpan<byte> data, int quote)
    {
        var body = data[(quote + 1)..];
        var end = body.IndexOfAny(s_stringStops);
        if (end < 0) return false;
        if (body[end] == (byte)'"')
        {
            _value = body[..end];
            _pos = quote + 1 + end + 1;
            return true;
        }
        // An escape (or a control character, which fails below): find the closing quote past every escaped character.
        while (true)
        {
            if (body[end] != (byte)'\\' || end + 1 >= body.Length) return false;
            var next = body[(end + 2)..].IndexOfAny(s_stringStops);
            if (next < 0) return false;
            end += 2 + next;
            if (body[end] == (byte)'"') break;
        }
        _value = body[..end];
        _pos = quote + 1 + end + 1;
        _unescaped = Unescape(_value);
        return _unescaped is not null;
    }

    /// <summary>
    /// The text of an escaped string, or null where <see cref="Utf8JsonReader.GetString"/> would throw: an unknown
    /// escape, a bad <c>\u</c> sequence, a surrogate escape that is not part of a pair, invalid UTF-8.
    /// </summary>
    private static string? Unescape(ReadOnlySpan<byte> raw)
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

    /// <summary>A number by RFC 8259's grammar: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
    private bool ScanNumber(ReadOnlySpan<byte> data, int start)
    {
        var i = start;
        if (data[i] == (byte)'-') i++;
        if (i >= data.Length) return false;
        if (data[i] == (byte)'0') i++;
        else if (IsDigit(data[i])) i = SkipDigits(data, i + 1);
        else return false;
        if (i < data.Length && data[i] == (byte)'.')
        {
            if (i + 1 >= data.Length || !IsDigit(data[i + 1])) return false;
            i = SkipDigits(data, i + 2);
        }
        if (i < data.Length && (data[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < data.Length && (data[i] == (byte)'+' || data[i] == (byte)'-')) i++;
            if (i >= data.Length || !IsDigit(data[i])) return false;
            i = SkipDigits(data, i + 1);
        }
        _value = data[start..i];
        _pos = i;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int SkipDigits(ReadOnlySpan<byte> data, int i)
    {
        while (i < data.Length && IsDigit(data[i])) i++;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> data, int i)
    {
        while (i < data.Length)
        {
            var b = data[i];
            if (b > (byte)' ' || (b != (byte)' ' && b != (byte)'\n' && b != (byte)'\r' && b != (byte)'\t')) break;
            i++;
        }
        return i;
    }

    private bool GiveUp()
    {
        _type = JsonTokenType.None;
        _expect = Expect.Nothing;
        _pos = _data.Length;
        return true;
    }
}
