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
/// gzip, zlib, xz, snappy (framed), lz4 (frame format), zstd, br (Brotli), or <c>autodetect</c>: the format is chosen
/// per chunk by its magic bytes (Brotli has none, so name it), and a chunk that starts with none of them passes through unchanged, as Tremor does. Output larger
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
    private Decompressor? _zstd;

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
            error = $"corrupt {name} data ({data.Length} bytes): it does not start with a {name} header; check format, or use format = autodetect";
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
            catch (ZstdException e) when (e.Code == ZstdSharp.Unsafe.ZSTD_ErrorCode.ZSTD_error_frameParameter_windowTooLarge)
            {
                error = $"zstd data of {data.Length} bytes asks for a decoding window larger than max-bytes {_maxBytes} allows (twice max-bytes, at least 1 MiB); chunk dropped";
                return false;
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

    private Stream Open(CompressionFormat format, Stream input) => format switch
    {
        CompressionFormat.Gzip => new GZipStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Zlib => new ZLibStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Xz => new XZStream(input),
        CompressionFormat.Snappy => new SnappyStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Lz4 => LZ4Stream.Decode(input, 0, leaveOpen: true),
        CompressionFormat.Br => new BrotliStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Zstd => new DecompressionStream(input, ZstdContext(), checkEndOfStream: true, preserveDecompressor: true, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>
    /// One zstd context per instance, reset for each chunk, instead of a new one (and its buffers) per chunk. Its window
    /// limit is twice max-bytes (at least 1 MiB, at most zstd's own default of 128 MiB), so a frame header cannot make
    /// it allocate far more than the output it would be allowed to produce.
    /// </summary>
    private Decompressor ZstdContext()
    {
        if (_zstd is null)
        {
            _zstd = new Decompressor();
            var windowLog = Math.Clamp((int)Math.Ceiling(Math.Log2(_maxBytes)) + 1, 20, 27);
            _zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_dParameter.ZSTD_d_windowLogMax, windowLog);
        }
        else
        {
            _zstd.ResetStream();
        }
        return _zstd;
    }

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
