using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4;
using Snappier;
using Tremor.Pdk;
using ZstdSharp;

namespace Tremor.Codecs;

/// <summary>
/// The <c>streaming-compress</c> postprocessor (Tremor's name): one compressed stream for all of a sink's events,
/// rather than one per event as <c>compress</c> makes, so the compressor's history spans events (better ratios on
/// small events). <c>algorithm</c> (Tremor's key; <c>format</c> is accepted too) is gzip, zlib, snappy, lz4, zstd or br, with
/// <c>level</c> as for <c>compress</c>. After each event the compressor flushes, so each event's payload can be
/// decompressed as soon as it arrives (the <c>streaming-decompress</c> preprocessor reads the stream); the stream's
/// trailer is written when the sink drains. Put <c>separate</c> before it when the receiver must split the events
/// again.
/// </summary>
public sealed class StreamingCompressPostprocessor : IPayloadPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "streaming-compress";

    private const string AlgorithmKey = "algorithm";
    private const string LevelKey = "level";

    private readonly CompressionFormat _format;
    private readonly int _level;
    private readonly BufferWriterStream _sink = new();
    private Stream? _stream;
    private Lz4FrameWriter? _lz4;

    /// <summary>A compressor writing <paramref name="format"/> at <paramref name="level"/> (null: the format's default).</summary>
    public StreamingCompressPostprocessor(CompressionFormat format, int? level = null)
    {
        var (min, max, defaultLevel) = CompressPostprocessor.LevelRange(format) ?? throw new ArgumentException($"{CompressionFormats.NameOf(format)} cannot be written", nameof(format));
        if (level is { } given && (given < min || given > max))
        {
            throw new ArgumentOutOfRangeException(nameof(level), given, $"{CompressionFormats.NameOf(format)} levels are {min} to {max}");
        }
        _format = format;
        _level = level ?? defaultLevel;
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public StreamingCompressPostprocessor(PluginConfig config)
        : this(ReadFormat(config, out var level), level)
    {
        config.RejectUnknownKeys(AlgorithmKey, CompressionFormats.FormatKey, LevelKey);
    }

    /// <inheritdoc />
    public TimeSpan? MaxHold => null;

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IPayloadWriter output, out string? error)
    {
        if (_format == CompressionFormat.Lz4)
        {
            _lz4 ??= new Lz4FrameWriter((LZ4Level)_level);
            _lz4.Write(data, output);
            _lz4.Flush(output);
            output.EndPayload();
            error = null;
            return true;
        }
        _sink.Reset(output);
        try
        {
            // Created on first use: the flow validator builds processors only to check their configuration.
            _stream ??= Open(_format, _level, _sink);
            _stream.Write(data);
            _stream.Flush();
        }
        finally
        {
            _sink.Reset(null);
        }
        output.EndPayload();
        error = null;
        return true;
    }

    /// <inheritdoc />
    public bool TryFlush(IPayloadWriter output, bool endOfStream, out string? error)
    {
        error = null;
        if (!endOfStream) return true;
        _lz4?.End(output);
        if (_stream is null) return true;
        _sink.Reset(output);
        try
        {
            _stream.Dispose();
        }
        finally
        {
            _stream = null;
            _sink.Reset(null);
        }
        return true;
    }

    /// <summary>Not used by the runtime (it calls the payload form): the event's part of the stream, for a caller that knows no payloads.</summary>
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error) =>
        TryProcess(data, 0, new ConcatenatingWriter(output), out error);

    private static Stream Open(CompressionFormat format, int level, Stream output) => format switch
    {
        CompressionFormat.Gzip => new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true),
        CompressionFormat.Zlib => new ZLibStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true),
        CompressionFormat.Br => new BrotliStream(output, new BrotliCompressionOptions { Quality = level }, leaveOpen: true),
        CompressionFormat.Snappy => new SnappyStream(output, CompressionMode.Compress, leaveOpen: true),
        CompressionFormat.Zstd => new CompressionStream(output, level, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private static CompressionFormat ReadFormat(PluginConfig config, out int? level)
    {
        // Tremor names the option algorithm; compress here names it format: either is understood, not both.
        var key = config.Has(AlgorithmKey) ? AlgorithmKey : CompressionFormats.FormatKey;
        var path = ProcessorConfig.PathOf(config, key);
        if (config.Has(AlgorithmKey) && config.Has(CompressionFormats.FormatKey))
        {
            throw new ConfigException(path, "give algorithm or format, not both (they mean the same)");
        }
        if (!config.Has(key))
        {
            throw new ConfigException(ProcessorConfig.PathOf(config, AlgorithmKey), "is required: one of gzip, zlib, snappy, lz4, zstd, br, e.g. { name = \"streaming-compress\", config { algorithm = \"zstd\" } }");
        }
        var text = config.GetString(key);
        var format = CompressionFormats.Parse(text)
            ?? throw new ConfigException(path, $"unknown algorithm '{text}'; known: gzip, zlib, snappy, lz4, zstd, br");
        if (CompressPostprocessor.LevelRange(format) is not var (min, max, _))
        {
            throw new ConfigException(path, $"{text} cannot be written (the library only decompresses it); use gzip, zlib, snappy, lz4, zstd or br");
        }
        level = null;
        if (!config.Has(LevelKey)) return format;
        var levelPath = ProcessorConfig.PathOf(config, LevelKey);
        if (format == CompressionFormat.Snappy) throw new ConfigException(levelPath, "snappy has no compression levels; remove the key");
        var given = config.GetInt(LevelKey);
        if (given < min || given > max) throw new ConfigException(levelPath, $"{text} levels are {min} to {max}, found {given}");
        level = (int)given;
        return format;
    }
}
