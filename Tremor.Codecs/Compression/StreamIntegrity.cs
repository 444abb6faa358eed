using System.Buffers.Binary;

namespace Tremor.Codecs;

/// <summary>
/// Checks the libraries leave to the caller. .NET's gzip and zlib streams and Snappier's framed reader return what they
/// decoded when the input simply stops, so a truncated payload would come out as a silently shorter one; the formats
/// carry enough to tell (a checksum trailer, chunk lengths), and these checks read it. They run after a successful
/// decode, so what they verify is only that the stream was complete.
/// </summary>
internal static class StreamIntegrity
{
    /// <summary>Whether <paramref name="data"/> starts the way a <paramref name="format"/> stream must.</summary>
    public static bool HasHeader(CompressionFormat format, ReadOnlySpan<byte> data)
    {
        if (format == CompressionFormat.Br) return true; // brotli has no header to check: the decoder tells
        if (format != CompressionFormat.Zlib) return CompressionFormats.Detect(data) == format;
        // Any zlib header, not only the 32 KiB-window ones autodetect looks for: deflate (CM 8), window at most 32 KiB,
        // no preset dictionary, check bits right.
        return data.Length >= 2 && (data[0] & 0x0f) == 8 && data[0] >> 4 <= 7 && (data[1] & 0x20) == 0 && ((data[0] << 8) | data[1]) % 31 == 0;
    }

    /// <summary>Null when <paramref name="input"/> was a complete stream that decoded to <paramref name="output"/>, else what is wrong.</summary>
    public static string? CheckComplete(CompressionFormat format, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output) => format switch
    {
        CompressionFormat.Gzip => CheckGzip(input, output),
        CompressionFormat.Zlib => input.Length >= 6 && BinaryPrimitives.ReadUInt32BigEndian(input[^4..]) == Adler32(output) ? null : Truncated,
        CompressionFormat.Snappy => CheckSnappyChunks(input),
        CompressionFormat.Br => CheckBrotli(input),
        _ => null,
    };

    /// <summary>
    /// BrotliStream, like the gzip stream, returns what it decoded when the input stops early; only the decoder's own
    /// status says whether the stream reached its end, so the payload is run through it once more (brotli only).
    /// </summary>
    private static string? CheckBrotli(ReadOnlySpan<byte> input)
    {
        using var decoder = new System.IO.Compression.BrotliDecoder();
        Span<byte> scratch = stackalloc byte[4096];
        while (true)
        {
            var status = decoder.Decompress(input, scratch, out var consumed, out _);
            input = input[consumed..];
            switch (status)
            {
                case System.Buffers.OperationStatus.Done:
                    return input.IsEmpty ? null : $"{input.Length} bytes follow the end of the brotli stream";
                case System.Buffers.OperationStatus.DestinationTooSmall:
                    continue;
                case System.Buffers.OperationStatus.NeedMoreData:
                    return Truncated;
                default:
                    return "invalid brotli data";
            }
        }
    }

    private const string Truncated = "the stream is truncated (it ends before its checksum trailer)";

    /// <summary>The last member's trailer (CRC-32 and length of its output) must describe the end of the output.</summary>
    private static string? CheckGzip(ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
    {
        if (input.Length < 18) return Truncated;
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(input[^8..]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(input[^4..]);
        return size <= output.Length && System.IO.Hashing.Crc32.HashToUInt32(output[^(int)size..]) == crc ? null : Truncated;
    }

    /// <summary>A framed snappy stream is a sequence of chunks (1 type byte, 3 length bytes); the last must end where the input ends.</summary>
    private static string? CheckSnappyChunks(ReadOnlySpan<byte> input)
    {
        var position = 0L;
        while (position + 4 <= input.Length)
        {
            var at = (int)position;
            position += 4 + (input[at + 1] | (input[at + 2] << 8) | (input[at + 3] << 16));
        }
        return position == input.Length ? null : "the stream is truncated (it ends inside a chunk)";
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Modulus = 65521;
        const int Block = 5552; // the most bytes before the sums can overflow 32 bits
        uint a = 1, b = 0;
        while (!data.IsEmpty)
        {
            var block = data[..Math.Min(Block, data.Length)];
            foreach (var x in block)
            {
                a += x;
                b += a;
            }
            a %= Modulus;
            b %= Modulus;
            data = data[block.Length..];
        }
        return (b << 16) | a;
    }
}
