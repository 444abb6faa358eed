using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Tremor.Benchmarks.Baseline;

/// <summary>Strict UTF-8 decoding that reports where invalid input starts instead of substituting U+FFFD.</summary>
internal static class Utf8Text
{
    /// <summary>Decodes <paramref name="bytes"/>; on invalid UTF-8 returns false and the offset of the first bad byte.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out string text, out int invalidOffset)
    {
        if (Utf8.IsValid(bytes))
        {
            text = bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
            invalidOffset = -1;
            return true;
        }
        text = string.Empty;
        invalidOffset = FindInvalid(bytes);
        return false;
    }

    /// <summary>The offset of the first byte that is not part of a valid UTF-8 sequence, or -1.</summary>
    public static int FindInvalid(ReadOnlySpan<byte> bytes)
    {
        Span<char> scratch = stackalloc char[256];
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = Utf8.ToUtf16(bytes[offset..], scratch, out var read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            switch (status)
            {
                case OperationStatus.Done:
                    return -1;
                case OperationStatus.DestinationTooSmall:
                    offset += read;
                    break;
                default:
                    return offset + read;
            }
        }
        return -1;
    }

    /// <summary>Describes the byte at <paramref name="offset"/> for an error message, e.g. <c>0xff</c>.</summary>
    public static string DescribeByte(ReadOnlySpan<byte> bytes, int offset) =>
        (uint)offset < (uint)bytes.Length ? $"0x{bytes[offset]:x2}" : "end of input";
}
