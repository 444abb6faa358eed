using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4.Streams;
using SharpCompress.Compressors.Xz;
using Snappier;
using Tremor.Pdk;
using ZstdSharp;

namespace Tremor.Codecs;

/// <summary>
/// The <c>decompress</c> preprocessor: each chunk is one compressed payload (frame the stream first, e.g. with
/// <c>length-prefixed</c>, when the transport does not keep message boundaries). <c>format</c> (required) is one of
/// gzip, zlib, xz, snappy (framed), lz4 (frame format), zstd, or <c>autodetect</c>: the format is chosen per chunk by
/// its magic bytes, and a chunk that starts with none of them passes through unchanged, as Tremor does. Output larger
/// than <c>max-bytes</c> (default 64 MiB) is an error, which bounds what one small chunk (a decompression bomb) can
/// make the process allocate; corrupt or truncated input is an error naming the format. Either way that chunk is
/// dropped.
/// </summary>
public sealed class DecompressPreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "decompress";

    /// <summary>The default <c>max-bytes</c>: 64 MiB of output per chunk.</summary>
    public const int DefaultMaxBytes = 64 * 1024 * 1024;

    private const int InitialBuffer = 64 * 1024;

    private readonly CompressionFormat? _format;
    private readonly int _maxBytes;
    private readonly ReadOnlyMemoryStream _input = new();
    private readonly ByteArena _arena = new();

    /// <summary>A preprocessor for <paramref name="format"/> (null: autodetect) producing at most <paramref name="maxBytes"/> per chunk.</summary>
    public DecompressPreprocessor(CompressionFormat? format, int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _format = format;
        _maxBytes = maxBytes;
    }

    /// <summary>A preprocessor from its flow configuration.</summary>
    public DecompressPreprocessor(PluginConfig config)
        : this(CompressionFormats.Read(config, allowAutodetect: true), ProcessorConfig.ReadBytes(config, "max-bytes", DefaultMaxBytes, max: Array.MaxLength - 1))
    {
        config.RejectUnknownKeys(CompressionFormats.FormatKey, "max-bytes");
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        error = null;
        if (data.IsEmpty) return true;
        var format = _format ?? CompressionFormats.Detect(data.Span);
        if (format is not { } known)
        {
            output.Add(data);
            return true;
        }
        var name = CompressionFormats.NameOf(known);
        if (!StreamIntegrity.HasHeader(known, data.Span))
        {
            error = $"corrupt {name} data ({data.Length} bytes): it does not start with a {name} header";
            return false;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBuffer, _maxBytes + 1));
        try
        {
            int length;
            _input.Reset(data);
            try
            {
                using var stream = Open(known, _input);
                length = ReadUpTo(stream, ref buffer, _maxBytes + 1);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = $"corrupt {name} data ({data.Length} bytes): {e.Message}";
                return false;
            }
            if (length > _maxBytes)
            {
                error = $"{name} data of {data.Length} bytes decompresses to more than max-bytes {_maxBytes}; chunk dropped";
                return false;
            }
            if (StreamIntegrity.CheckComplete(known, data.Span, buffer.AsSpan(0, length)) is { } incomplete)
            {
                error = $"corrupt {name} data ({data.Length} bytes): {incomplete}";
                return false;
            }
            var result = _arena.Allocate(length);
            buffer.AsSpan(0, length).CopyTo(result.Span);
            output.Add(result);
            return true;
        }
        finally
        {
            _input.Reset(default);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
    }

    private static Stream Open(CompressionFormat format, Stream input) => format switch
    {
        CompressionFormat.Gzip => new GZipStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Zlib => new ZLibStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Xz => new XZStream(input),
        CompressionFormat.Snappy => new SnappyStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Lz4 => LZ4Stream.Decode(input, 0, leaveOpen: true),
        CompressionFormat.Zstd => new DecompressionStream(input, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Reads until the end of <paramref name="stream"/> or <paramref name="limit"/> bytes, growing the rented buffer as needed.</summary>
    private static int ReadUpTo(Stream stream, ref byte[] buffer, int limit)
    {
        var total = 0;
        while (total < limit)
        {
            if (total == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit));
                buffer.AsSpan(0, total).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }
            var read = stream.Read(buffer, total, Math.Min(buffer.Length, limit) - total);
            if (read == 0) break;
            total += read;
        }
        return total;
    }
}
