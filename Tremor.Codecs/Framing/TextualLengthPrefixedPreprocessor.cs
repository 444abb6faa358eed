using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>textual-length-prefixed</c> preprocessor: a stream of frames, each an ASCII decimal length, one space, then
/// that many bytes — syslog octet counting (RFC 5425 / RFC 6587), as Tremor's preprocessor of the same name. Frames
/// may span chunks; a length that is not digits followed by a space is an error and the rest of that chunk is dropped
/// (there is no way to find the next frame in a stream whose framing broke). See <see cref="LengthFramePreprocessor"/>
/// for limits.
/// </summary>
/// <remarks>Options: <c>max-length</c> (bytes, default 8 MiB).</remarks>
public sealed class TextualLengthPrefixedPreprocessor : LengthFramePreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "textual-length-prefixed";

    // 8 MiB has 7 digits; 10 digits are enough for any int and small enough that the value cannot overflow a long.
    private const int MaxDigits = 10;

    private long _length;
    private int _digits;

    /// <summary>A preprocessor refusing frames over <paramref name="maxLength"/> bytes.</summary>
    public TextualLengthPrefixedPreprocessor(int maxLength = DefaultMaxLength)
        : base(maxLength)
    {
    }

    /// <summary>A preprocessor from its flow configuration.</summary>
    public TextualLengthPrefixedPreprocessor(PluginConfig config)
        : this(ProcessorConfig.ReadBytes(config, "max-length", DefaultMaxLength))
    {
        config.RejectUnknownKeys("max-length");
    }

    /// <inheritdoc />
    protected override HeaderStatus ReadHeader(ReadOnlySpan<byte> span, ref int position, out long length, out string? error)
    {
        length = 0;
        error = null;
        while (position < span.Length)
        {
            var c = span[position++];
            if (c is >= (byte)'0' and <= (byte)'9')
            {
                if (++_digits > MaxDigits)
                {
                    error = $"invalid length prefix: more than {MaxDigits} digits";
                    ResetHeader();
                    return HeaderStatus.Malformed;
                }
                _length = (_length * 10) + (c - '0');
                continue;
            }
            if (c == (byte)' ' && _digits > 0)
            {
                length = _length;
                ResetHeader();
                return HeaderStatus.Complete;
            }
            var shown = c is >= 0x21 and < 0x7f ? $"'{(char)c}' (0x{c:x2})" : $"0x{c:x2}";
            error = _digits == 0
                ? $"invalid length prefix: expected a decimal length, found {shown}"
                : $"invalid length prefix: expected a digit or a space after {_length}, found {shown}";
            ResetHeader();
            return HeaderStatus.Malformed;
        }
        return HeaderStatus.NeedMore;
    }

    /// <inheritdoc />
    protected override void ResetHeader()
    {
        _length = 0;
        _digits = 0;
    }
}
