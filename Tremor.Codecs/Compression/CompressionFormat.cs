using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>The compression formats of the <c>compress</c> postprocessor and the <c>decompress</c> preprocessor.</summary>
public enum CompressionFormat
{
    /// <summary>gzip (RFC 1952).</summary>
    Gzip,

    /// <summary>zlib (RFC 1950).</summary>
    Zlib,

    /// <summary>xz (LZMA2 in the xz container); decompression only.</summary>
    Xz,

    /// <summary>Snappy's framed format (what Tremor writes).</summary>
    Snappy,

    /// <summary>The LZ4 frame format.</summary>
    Lz4,

    /// <summary>Zstandard frames.</summary>
    Zstd,

    /// <summary>Brotli (RFC 7932; the BCL's encoder). It has no magic bytes, so <c>autodetect</c> never picks it.</summary>
    Br,
}

/// <summary>Names, configuration and magic-byte detection of <see cref="CompressionFormat"/>.</summary>
internal static class CompressionFormats
{
    public const string FormatKey = "format";

    public const string Autodetect = "autodetect";

    private static readonly string[] _names = ["gzip", "zlib", "xz", "snappy", "lz4", "zstd", "br"];

    /// <summary>The name written in a flow.</summary>
    public static string NameOf(CompressionFormat format) => _names[(int)format];

    /// <summary>
    /// The <c>format</c> option (required); null when it says <c>autodetect</c> and <paramref name="allowAutodetect"/>.
    /// </summary>
    public static CompressionFormat? Read(PluginConfig config, bool allowAutodetect)
    {
        var known = string.Join(", ", allowAutodetect ? [.. _names, Autodetect] : _names);
        if (!config.Has(FormatKey))
        {
            throw new ConfigException(ProcessorConfig.PathOf(config, FormatKey), $"is required: one of {known}, e.g. {{ name = \"{(allowAutodetect ? "decompress" : "compress")}\", config {{ format = \"gzip\" }} }}");
        }
        var text = config.GetString(FormatKey);
        var index = Array.IndexOf(_names, text);
        if (index >= 0) return (CompressionFormat)index;
        if (allowAutodetect && string.Equals(text, Autodetect, StringComparison.Ordinal)) return null;
        throw new ConfigException(ProcessorConfig.PathOf(config, FormatKey), $"unknown format '{text}'; known formats are: {known}");
    }

    /// <summary>The format called <paramref name="name"/>, or null.</summary>
    public static CompressionFormat? Parse(string name)
    {
        var index = Array.IndexOf(_names, name);
        return index >= 0 ? (CompressionFormat)index : null;
    }

    /// <summary>The format whose magic bytes start <paramref name="data"/>, or null.</summary>
    public static CompressionFormat? Detect(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b])) return CompressionFormat.Gzip;
        if (data.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd])) return CompressionFormat.Zstd;
        if (data.StartsWith((ReadOnlySpan<byte>)[0x04, 0x22, 0x4d, 0x18])) return CompressionFormat.Lz4;
        if (data.StartsWith((ReadOnlySpan<byte>)[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return CompressionFormat.Xz;
        if (data.StartsWith((ReadOnlySpan<byte>)[0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])) return CompressionFormat.Snappy;
        // zlib: deflate with a 32 KiB window (0x78), no preset dictionary, and a check byte making the header a multiple of 31.
        if (data.Length >= 2 && data[0] == 0x78 && (data[1] & 0x20) == 0 && ((data[0] << 8) | data[1]) % 31 == 0) return CompressionFormat.Zlib;
        return null;
    }
}
