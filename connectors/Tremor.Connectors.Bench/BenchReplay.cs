using System.Buffers.Text;
using SharpCompress.Compressors.Xz;

namespace Tremor.Connectors.Bench;

/// <summary>
/// A file's non-empty lines held in memory (decompressed once when the path ends in <c>.xz</c>), each a slice of one
/// buffer so replaying them copies nothing. Line ends (<c>\n</c> or <c>\r\n</c>) are not part of the lines. With
/// base64 every line is decoded once, here, as Tremor's bench does: the replay hands out the decoded bytes.
/// </summary>
internal sealed class BenchReplay
{
    private BenchReplay(ReadOnlyMemory<byte>[] lines, long bytes)
    {
        Lines = lines;
        Bytes = bytes;
    }

    /// <summary>The lines, in file order.</summary>
    public ReadOnlyMemory<byte>[] Lines { get; }

    /// <summary>The size of the (decompressed) file.</summary>
    public long Bytes { get; }

    /// <summary>Loads <paramref name="path"/>; with <paramref name="base64"/> every line is decoded from base64.</summary>
    public static async Task<BenchReplay> LoadAsync(string path, bool base64, CancellationToken cancellationToken)
    {
        var data = await ReadAllAsync(path, cancellationToken).ConfigureAwait(false);
        var lines = new List<ReadOnlyMemory<byte>>();
        var span = data.Span;
        // Decoded lines go back to back into one buffer (never longer than the text): a replayed line is a slice of it.
        var decoded = base64 ? new byte[Base64.GetMaxDecodedFromUtf8Length(span.Length)] : null;
        var used = 0;
        var start = 0;
        var lineNumber = 0;
        while (start < span.Length)
        {
            lineNumber++;
            var newline = span[start..].IndexOf((byte)'\n');
            var end = newline < 0 ? span.Length : start + newline;
            var length = end - start;
            if (length > 0 && span[end - 1] == '\r') length--;
            if (length > 0)
            {
                if (decoded is null)
                {
                    lines.Add(data.Slice(start, length));
                }
                else
                {
                    var text = span.Slice(start, length);
                    if (Base64.DecodeFromUtf8(text, decoded.AsSpan(used), out var consumed, out var written) != System.Buffers.OperationStatus.Done)
                    {
                        throw new InvalidDataException(
                            $"bench file '{path}' line {lineNumber} is not valid base64: {DescribeInvalid(text, consumed)} (base64 = true decodes every line; " +
                            "set base64 = false to replay the lines as they are)");
                    }
                    lines.Add(decoded.AsMemory(used, written));
                    used += written;
                }
            }
            start = end + 1;
        }
        if (lines.Count == 0) throw new InvalidDataException($"bench file '{path}' has no lines to replay");
        return new BenchReplay([.. lines], data.Length);
    }

    /// <summary>What is wrong with a line the decoder stopped in, from the first byte of the group it could not take.</summary>
    private static string DescribeInvalid(ReadOnlySpan<byte> text, int consumed)
    {
        for (var i = consumed; i < text.Length; i++)
        {
            var c = text[i];
            if (c is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/') continue;
            if (c == (byte)'=' && text.Length % 4 == 0 && text.Length - i <= 2 && text[i..].IndexOfAnyExcept((byte)'=') < 0) continue;
            if (c == (byte)'=') return $"misplaced '=' padding at byte {i} of the line";
            return c is >= 0x20 and < 0x7f ? $"'{(char)c}' (0x{c:x2}) at byte {i} of the line" : $"0x{c:x2} at byte {i} of the line";
        }
        return text.Length % 4 != 0
            ? $"{text.Length} characters is not a multiple of 4 (truncated, or '=' padding missing)"
            : $"the last group at byte {consumed} of the line has non-zero padding bits";
    }

    private static async Task<ReadOnlyMemory<byte>> ReadAllAsync(string path, CancellationToken cancellationToken)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024, useAsync: true);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"bench file '{path}' does not exist", path, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException($"bench file '{path}': its directory does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"bench file '{path}' cannot be read: permission denied (or it is a directory)", e);
        }

        await using (file.ConfigureAwait(false))
        {
            if (!path.EndsWith(".xz", StringComparison.OrdinalIgnoreCase))
            {
                var bytes = new byte[file.Length];
                await file.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
                return bytes;
            }
            try
            {
                using var xz = new XZStream(file);
                using var decompressed = new MemoryStream();
                await xz.CopyToAsync(decompressed, cancellationToken).ConfigureAwait(false);
                return decompressed.GetBuffer().AsMemory(0, (int)decompressed.Length);
            }
            catch (Exception e) when (e is not OperationCanceledException and not IOException)
            {
                throw new InvalidDataException($"bench file '{path}' is not a valid xz file: {e.Message}", e);
            }
        }
    }
}
