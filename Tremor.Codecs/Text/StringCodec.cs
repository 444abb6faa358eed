using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>string</c> codec: an event's bytes are UTF-8 text and become a string value (invalid UTF-8 is an error naming
/// the offset). Encoding writes a string's UTF-8 as is, bytes as they are, and any other value as its JSON text.
/// </summary>
public sealed class StringCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "string";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        if (Utf8Text.TryDecode(data.Span, out var text, out var bad))
        {
            value = Value.From(text);
            error = null;
            return true;
        }
        value = default;
        error = $"invalid UTF-8 at byte {bad} of {data.Length} ({Utf8Text.DescribeByte(data.Span, bad)}): the string codec needs UTF-8 text";
        return false;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        switch (value.Kind)
        {
            case ValueKind.String:
                if (value.TryGetUtf8(out var utf8)) output.Write(utf8);
                else WriteUtf8(value.AsString()!, output);
                break;
            case ValueKind.Bytes:
                output.Write(value.AsBytes());
                break;
            default:
                JsonEncoder.Encode(value, output);
                break;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (lone surrogates become U+FFFD).</summary>
    internal static void WriteUtf8(string text, IBufferWriter<byte> output)
    {
        var chars = text.AsSpan();
        while (!chars.IsEmpty)
        {
            var take = Math.Min(chars.Length, 16 * 1024);
            if (take < chars.Length && char.IsHighSurrogate(chars[take - 1])) take--;
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(take));
            Utf8.FromUtf16(chars[..take], span, out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
            output.Advance(written);
            chars = chars[take..];
        }
    }
}
