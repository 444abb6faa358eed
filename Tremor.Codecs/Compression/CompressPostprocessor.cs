using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using Snappier;
using Tremor.Pdk;
using ZstdSharp;

namespace Tremor.Codecs;

/// <summary>
/// The <c>compress</c> postprocessor: compresses each event's bytes on its own, for the <c>decompress</c>
/// preprocessor at the other end. <c>format</c> (required): gzip, zlib, snappy (framed), lz4 (frame format), zstd or br;
/// <c>level</c> (optional): gzip and zlib 0-9 (default 6), lz4 0-12 (default 0, fast), zstd its own range (default 3),
/// br (Brotli) 0-11 (default 4, what .NET calls optimal);
/// snappy has no levels. xz is refused: the served library (SharpCompress) only decompresses it.
/// </summary>
public sealed class CompressPostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "compress";

    private const string LevelKey = "level";

    private static ReadOnlySpan<byte> EmptyGzip => [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static ReadOnlySpan<byte> EmptyZlib => [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];

    private readonly CompressionFormat _format;
    private readonly int _level;
    private readonly BufferWriterStream _output = new();
    private Compressor? _zstd;

    /// <summary>A postprocessor writing <paramref name="format"/> at <paramref name="level"/> (null: the format's default).</summary>
    public CompressPostprocessor(CompressionFormat format, int? level = null)
    {
        var (min, max, defaultLevel) = LevelRange(format) ?? throw new ArgumentException(Unsupported(format), nameof(format));
        if (level is { } given && (given < min || given > max))
        {
            throw new ArgumentOutOfRangeException(nameof(level), given, $"{CompressionFormats.NameOf(format)} levels are {min} to {max}");
        }
        _format = format;
        _level = level ?? defaultLevel;
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public CompressPostprocessor(PluginConfig config)
        : this(ReadFormat(config), ReadLevel(config))
    {
        config.RejectUnknownKeys(CompressionFormats.FormatKey, LevelKey);
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        switch (_format)
        {
            case CompressionFormat.Zstd:
                // Created on first use: the flow validator builds processors only to check their configuration.
                _zstd ??= new Compressor(_level);
                var written = _zstd.Wrap(data, output.GetSpan(Compressor.GetCompressBound(data.Length)));
                output.Advance(written);
                return true;
            case CompressionFormat.Lz4:
                LZ4Frame.Encode(data, output, (LZ4Level)_level);
                return true;
        }
        if (_format == CompressionFormat.Br)
        {
            // One call, no stream: also right for an empty payload, for which a stream would write nothing.
            var span = output.GetSpan(BrotliEncoder.GetMaxCompressedLength(data.Length));
            if (!BrotliEncoder.TryCompress(data, span, out var brWritten, _level, 22)) throw new InvalidOperationException("brotli output did not fit its own bound");
            output.Advance(brWritten);
            return true;
        }
        if (data.IsEmpty && _format is CompressionFormat.Gzip or CompressionFormat.Zlib)
        {
            // .NET writes nothing at all for a stream that was never written to; the other end expects a valid stream.
            output.Write(_format == CompressionFormat.Gzip ? EmptyGzip : EmptyZlib);
            return true;
        }
        _output.Reset(output);
        try
        {
            using var stream = Open(_format, _level, _output);
            stream.Write(data);
        }
        finally
        {
            _output.Reset(null);
        }
        return true;
    }

    private static Stream Open(CompressionFormat format, int level, Stream output) => format switch
    {
        CompressionFormat.Gzip => new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true),
        CompressionFormat.Zlib => new ZLibStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true),
        CompressionFormat.Snappy => new SnappyStream(output, CompressionMode.Compress, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The level range and default of <paramref name="format"/>; null when it cannot be written.</summary>
    internal static (int Min, int Max, int Default)? LevelRange(CompressionFormat format) => format switch
    {
        CompressionFormat.Gzip or CompressionFormat.Zlib => (0, 9, 6),
        CompressionFormat.Lz4 => ((int)LZ4Level.L00_FAST, (int)LZ4Level.L12_MAX, (int)LZ4Level.L00_FAST),
        CompressionFormat.Zstd => (Compressor.MinCompressionLevel, Compressor.MaxCompressionLevel, Compressor.DefaultCompressionLevel),
        CompressionFormat.Snappy => (0, 0, 0),
        CompressionFormat.Br => (0, 11, 4),
        _ => null,
    };

    private static string Unsupported(CompressionFormat format) =>
        $"{CompressionFormats.NameOf(format)} cannot be written (the library only decompresses it); use gzip, zlib, snappy, lz4, zstd or br";

    private static CompressionFormat ReadFormat(PluginConfig config)
    {
        var format = CompressionFormats.Read(config, allowAutodetect: false)!.Value;
        if (LevelRange(format) is null) throw new ConfigException(ProcessorConfig.PathOf(config, CompressionFormats.FormatKey), Unsupported(format));
        return format;
    }

    private static int? ReadLevel(PluginConfig config)
    {
        if (!config.Has(LevelKey)) return null;
        var format = ReadFormat(config);
        var level = config.GetInt(LevelKey);
        var path = ProcessorConfig.PathOf(config, LevelKey);
        if (format == CompressionFormat.Snappy) throw new ConfigException(path, "snappy has no compression levels; remove the key");
        var (min, max, _) = LevelRange(format)!.Value;
        if (level < min || level > max) throw new ConfigException(path, $"{CompressionFormats.NameOf(format)} levels are {min} to {max}, found {level}");
        return (int)level;
    }
}
