using System.Buffers.Text;
using SharpCompress.Compressors.Xz;

namespace Tremor.Connectors.Bench;

/// <summary>
/// A file's non-empty lines held in memory (decompressed once when the path ends in <c>.xz</c>), each a slice of one
/// buffer so replaying them copies nothing. Line ends (<c>\n</c> or <c>\r\n</c>) are not part of the lines.
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

    /// <summary>Loads <paramref name="path"/>; with <paramref name="base64"/> every line must be valid base64.</summary>
    public static async Task<BenchReplay> LoadAsync(string path, bool base64, CancellationToken cancellationToken)
    {
        var data = await ReadAllAsync(path, cancellationToken).ConfigureAwait(false);
        var lines = new List<ReadOnlyMemory<byte>>();
        var span = data.Span;
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
                if (base64 && !Base64.IsValid(span.Slice(start, length)))
                {
                    throw new InvalidDataException($"bench file '{path}' line {lineNumber} is not valid base64 (base64 = true)");
                }
                lines.Add(data.Slice(start, length));
            }
            start = end + 1;
        }
        if (lines.Count == 0) throw new InvalidDataException($"bench file '{path}' has no lines to replay");
        return new BenchReplay([.. lines], data.Length);
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
