using System.Buffers;
using System.IO.Compression;
using Snappier;
using Tremor.Pdk;
using ZstdSharp;

namespace Tremor.Codecs;

/// <summary>
/// The <c>streaming-decompress</c> preprocessor, the reading side of <c>streaming-compress</c>: the chunks of one
/// stream (a connection, a file) are one compressed stream, cut anywhere; each chunk gives what can be decompressed
/// so far. <c>format</c> (or Tremor's <c>algorithm</c>) is gzip, zlib, snappy, lz4, zstd or br; a stream that ends and
/// another that follows (a sink that restarted) are read one after the other. More than <c>max-bytes</c> (default
/// 64 MiB) out of one chunk, or corrupt data, is an error naming the format; the rest of that stream is dropped
/// until it ends. Put <c>separate</c> after it to split events again.
/// </summary>
public sealed class StreamingDecompressPreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "streaming-decompress";

    private const string AlgorithmKey = "algorithm";

    private readonly CompressionFormat _format;
    private readonly int _maxBytes;
    private readonly FeedStream _input = new();
    private readonly ByteArena _arena = new();
    private Stream? _decoder;
    private Lz4FrameReader? _lz4;
    private ArrayBufferWriter<byte>? _lz4Output;
    private bool _broken;

    /// <summary>A preprocessor for <paramref name="format"/> producing at most <paramref name="maxBytes"/> per chunk.</summary>
    public StreamingDecompressPreprocessor(CompressionFormat format, int maxBytes = DecompressPreprocessor.DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        if (format == CompressionFormat.Xz) throw new ArgumentException("xz is not read as a stream", nameof(format));
        _format = format;
        _maxBytes = maxBytes;
    }

    /// <summary>A preprocessor from its flow configuration.</summary>
    public StreamingDecompressPreprocessor(PluginConfig config)
        : this(ReadFormat(config), ProcessorConfig.ReadBytes(config, "max-bytes", DecompressPreprocessor.DefaultMaxBytes, max: Array.MaxLength - 1))
    {
        config.RejectUnknownKeys(AlgorithmKey, CompressionFormats.FormatKey, "max-bytes");
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        error = null;
        if (data.IsEmpty || _broken) return !_broken || Broken(out error);
        if (_format == CompressionFormat.Lz4) return ReadLz4(data, output, out error);
        _input.Feed(data);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                _decoder ??= Open(_format, _input);
                if (length == buffer.Length) Grow(ref buffer, length);
                var read = _decoder.Read(buffer, length, Math.Min(buffer.Length, _maxBytes + 1) - length);
                length += read;
                if (length > _maxBytes)
                {
                    _broken = true;
                    error = $"{CompressionFormats.NameOf(_format)} stream: a chunk of {data.Length} bytes decompresses to more than max-bytes {_maxBytes}; the rest of this stream is dropped";
                    return false;
                }
                if (read > 0) continue;
                if (_input.Remaining == 0) break;
                // The decoder ended its stream and more bytes follow: the next stream (a sink that started again).
                _decoder.Dispose();
                _decoder = null;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _broken = true;
            _decoder = null;
            error = $"corrupt {CompressionFormats.NameOf(_format)} stream ({data.Length} bytes in this chunk): {e.Message}; the rest of this stream is dropped";
            return false;
        }
        finally
        {
            _input.Feed(default);
            if (length > 0 && error is null)
            {
                var result = _arena.Allocate(length);
                buffer.AsSpan(0, length).CopyTo(result.Span);
                output.Add(result);
            }
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return true;
    }

    /// <summary>LZ4's frame stream cannot wait for input mid-block: frames are parsed here, block by whole block.</summary>
    private bool ReadLz4(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        _lz4 ??= new Lz4FrameReader();
        _lz4Output ??= new ArrayBufferWriter<byte>();
        _lz4Output.ResetWrittenCount();
        try
        {
            _lz4.Read(data.Span, _lz4Output);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _broken = true;
            _lz4.Dispose();
            _lz4 = null;
            error = $"corrupt lz4 stream ({data.Length} bytes in this chunk): {e.Message}; the rest of this stream is dropped";
            return false;
        }
        error = null;
        if (_lz4Output.WrittenCount > _maxBytes)
        {
            _broken = true;
            error = $"lz4 stream: a chunk of {data.Length} bytes decompresses to more than max-bytes {_maxBytes}; the rest of this stream is dropped";
            return false;
        }
        if (_lz4Output.WrittenCount == 0) return true;
        var result = _arena.Allocate(_lz4Output.WrittenCount);
        _lz4Output.WrittenSpan.CopyTo(result.Span);
        output.Add(result);
        return true;
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
        _decoder?.Dispose();
        _decoder = null;
        _lz4?.Dispose();
        _lz4 = null;
        _broken = false;
    }

    private bool Broken(out string? error)
    {
        error = $"{CompressionFormats.NameOf(_format)} stream: dropped after an earlier error in this stream";
        return false;
    }

    private static void Grow(ref byte[] buffer, int length)
    {
        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = larger;
    }

    private static Stream Open(CompressionFormat format, Stream input) => format switch
    {
        CompressionFormat.Gzip => new GZipStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Zlib => new ZLibStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Snappy => new SnappyStream(input, CompressionMode.Decompress, leaveOpen: true),
        CompressionFormat.Br => new BrotliStream(input, CompressionMode.Decompress, leaveOpen: true),
        // Not checking for the end of the stream: running out of input is waiting for the next chunk.
        CompressionFormat.Zstd => new DecompressionStream(input, leaveOpen: true, checkEndOfStream: false),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private static CompressionFormat ReadFormat(PluginConfig config)
    {
        var key = config.Has(AlgorithmKey) ? AlgorithmKey : CompressionFormats.FormatKey;
        var path = ProcessorConfig.PathOf(config, key);
        if (config.Has(AlgorithmKey) && config.Has(CompressionFormats.FormatKey)) throw new ConfigException(path, "give algorithm or format, not both (they mean the same)");
        if (!config.Has(key)) throw new ConfigException(ProcessorConfig.PathOf(config, CompressionFormats.FormatKey), "is required: one of gzip, zlib, snappy, lz4, zstd, br, e.g. { name = \"streaming-decompress\", config { format = \"zstd\" } }");
        var text = config.GetString(key);
        var format = CompressionFormats.Parse(text);
        if (format is null or CompressionFormat.Xz) throw new ConfigException(path, $"unknown or unsupported stream format '{text}'; known: gzip, zlib, snappy, lz4, zstd, br");
        return format.Value;
    }

    /// <summary>What one chunk brought, read by the decoder; a read past it returns 0, so the decoder waits for the next chunk.</summary>
    private sealed class FeedStream : Stream
    {
        private ReadOnlyMemory<byte> _data;

        public int Remaining => _data.Length;

        public void Feed(ReadOnlyMemory<byte> data) => _data = data;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, _data.Length);
            _data.Span[..n].CopyTo(buffer);
            _data = _data[n..];
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
