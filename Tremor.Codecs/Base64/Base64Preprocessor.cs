using System.Buffers;
using System.Buffers.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>base64</c> preprocessor: decodes each chunk from standard base64 (with '=' padding). Whitespace (line breaks
/// of wrapped base64, a '\r' left by CRLF lines) is ignored; anything else outside the alphabet is an error naming the
/// byte offset. Each decoded chunk is fresh memory that stays valid after the next call.
/// </summary>
public sealed class Base64Preprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "base64";

    private readonly ByteArena _arena = new();

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        var span = data.Span;
        var start = span.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0)
        {
            error = null;
            return true;
        }
        var end = span.LastIndexOfAnyExcept(" \t\r\n"u8) + 1;
        var text = span[start..end];
        var decoded = _arena.Allocate(Base64.GetMaxDecodedFromUtf8Length(text.Length));
        var status = Base64.DecodeFromUtf8(text, decoded.Span, out var consumed, out var written, isFinalBlock: true);
        if (status == OperationStatus.Done)
        {
            output.Add(decoded[..written]);
            error = null;
            return true;
        }
        error = Describe(text, start, consumed);
        return false;
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
    }

    private static string Describe(ReadOnlySpan<byte> text, int start, int consumed)
    {
        for (var i = consumed; i < text.Length; i++)
        {
            var c = text[i];
            var isAlphabet = c is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/';
            if (isAlphabet || c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            if (c == (byte)'=')
            {
                var padding = text[i..];
                if (padding.Length <= 2 && padding.IndexOfAnyExcept((byte)'=') < 0 && text.Length % 4 == 0) continue;
                return $"invalid base64 at byte {start + i}: misplaced '=' padding (it may only end the input)";
            }
            var shown = c is >= 0x20 and < 0x7f ? $"'{(char)c}' (0x{c:x2})" : $"0x{c:x2}";
            return $"invalid base64 at byte {start + i}: {shown} is not a base64 character";
        }
        return text.Length % 4 != 0
            ? $"invalid base64: {text.Length} characters is not a multiple of 4 (truncated input or missing '=' padding) at byte {start + text.Length}"
            : $"invalid base64 at byte {start + consumed}: the final group has non-zero padding bits";
    }
}
