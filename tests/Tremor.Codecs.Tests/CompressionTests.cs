using System.Text;
using Tremor.Pdk;
using static Tremor.Codecs.Tests.ProcessorHarness;

namespace Tremor.Codecs.Tests;

public sealed class CompressionTests
{
    public static TheoryData<string> WritableFormats => new() { "gzip", "zlib", "snappy", "lz4", "zstd" };

    public static TheoryData<string> AllFormats => new() { "gzip", "zlib", "xz", "snappy", "lz4", "zstd" };

    private static byte[] Sample => TestData.Json[..20000];

    private static byte[] Payload(int length, int seed)
    {
        // Half random, half repetitive: both the literal and the match paths of every codec run.
        var random = new Random(seed);
        var data = new byte[length];
        random.NextBytes(data.AsSpan(0, length / 2));
        for (var i = length / 2; i < length; i++) data[i] = (byte)"tremor "[i % 7];
        return data;
    }

    private static byte[] Fixture(string format) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", format switch
    {
        "gzip" => "sample.json.gz",
        "xz" => "sample.json.xz",
        "zstd" => "sample.json.zst",
        "lz4" => "sample.json.lz4",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    }));

    private static byte[] Compress(string format, byte[] data, long? level = null) =>
        Apply(level is { } l ? Post("compress", ("format", format), ("level", l)) : Post("compress", ("format", format)), data);

    private static byte[] Decompress(string format, byte[] data) => Assert.Single(Run(Pre("decompress", ("format", format)), [data]));

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void Every_format_round_trips_explicitly_and_by_autodetect(string format)
    {
        var compress = Post("compress", ("format", format));
        var explicitly = Pre("decompress", ("format", format));
        var detected = Pre("decompress", ("format", "autodetect"));
        foreach (var length in new[] { 1, 100, 4096, 70_000, 300_000 })
        {
            var data = Payload(length, length);
            var compressed = Apply(compress, data);
            Assert.NotEqual(data, compressed);
            Assert.Equal(data, Assert.Single(Run(explicitly, [compressed])));
            Assert.Equal(data, Assert.Single(Run(detected, [compressed])));
        }
    }

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void An_empty_event_round_trips_to_an_empty_chunk(string format)
    {
        Assert.Empty(Decompress(format, Compress(format, [])));
    }

    [Theory]
    [InlineData("gzip", 0L)]
    [InlineData("gzip", 9L)]
    [InlineData("zlib", 1L)]
    [InlineData("zlib", 9L)]
    [InlineData("lz4", 0L)]
    [InlineData("lz4", 5L)]
    [InlineData("lz4", 12L)]
    [InlineData("zstd", 1L)]
    [InlineData("zstd", 19L)]
    [InlineData("zstd", -5L)]
    public void Every_level_round_trips(string format, long level)
    {
        var data = Sample;
        Assert.Equal(data, Decompress("autodetect", Compress(format, data, level)));
    }

    [Fact]
    public void Higher_levels_compress_the_sample_smaller()
    {
        Assert.True(Compress("zstd", Sample, 19).Length < Compress("zstd", Sample, 1).Length);
        Assert.True(Compress("gzip", Sample, 9).Length < Compress("gzip", Sample, 0).Length);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public void Output_of_the_reference_tools_decompresses_explicitly_and_by_autodetect(string format)
    {
        Assert.Equal(Sample, Decompress(format, Fixture(format)));
        Assert.Equal(Sample, Decompress("autodetect", Fixture(format)));
    }

    [Fact]
    public void Concatenated_gzip_members_decompress_to_the_concatenation()
    {
        var first = Payload(3000, 1);
        var second = Payload(500, 2);
        var members = Compress("gzip", first).Concat(Compress("gzip", second)).ToArray();
        Assert.Equal(first.Concat(second), Decompress("gzip", members));
        Assert.Equal(first.Concat(second), Decompress("autodetect", members));
    }

    [Fact]
    public void Data_of_another_format_is_an_error_naming_the_expected_one()
    {
        var gzip = Compress("gzip", Sample);
        Assert.Equal($"corrupt zstd data ({gzip.Length} bytes): it does not start with a zstd header; check format, or use format = autodetect", Fail(Pre("decompress", ("format", "zstd")), gzip));
    }

    [Fact]
    public void Autodetect_passes_data_without_a_known_magic_through_unchanged()
    {
        var pre = Pre("decompress", ("format", "autodetect"));
        var output = new List<ReadOnlyMemory<byte>>();
        ReadOnlyMemory<byte> plain = Encoding.UTF8.GetBytes("{\"not\":\"compressed\"}");
        Assert.True(pre.TryProcess(plain, output, out var error), error);
        Assert.True(Assert.Single(output).Span == plain.Span);
        Assert.Equal(["x"], Run(pre, ["x"u8.ToArray()]).Select(b => Encoding.ASCII.GetString(b)));
    }

    [Theory]
    [MemberData(nameof(AllFormats))]
    public void Garbage_is_an_error_naming_the_format(string format)
    {
        var garbage = Encoding.ASCII.GetBytes("this is not compressed data at all, not even a little bit");
        var error = Fail(Pre("decompress", ("format", format)), garbage);
        Assert.StartsWith($"corrupt {format} data ({garbage.Length} bytes): ", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void Damaged_compressed_data_is_an_error_naming_the_format(string format)
    {
        var compressed = Compress(format, Sample);
        var damaged = compressed.ToArray();
        for (var i = 20; i < damaged.Length - 20; i += 3) damaged[i] ^= 0x5a;
        var explicitly = Fail(Pre("decompress", ("format", format)), damaged);
        Assert.StartsWith($"corrupt {format} data ({damaged.Length} bytes): ", explicitly, StringComparison.Ordinal);
        var detected = Fail(Pre("decompress", ("format", "autodetect")), damaged);
        Assert.StartsWith($"corrupt {format} data", detected, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void Truncated_compressed_data_is_an_error_naming_the_format(string format)
    {
        var compressed = Compress(format, Sample);
        foreach (var cut in new[] { 1, 5, compressed.Length / 2, compressed.Length - 10 })
        {
            var error = Fail(Pre("decompress", ("format", format)), compressed[..cut]);
            Assert.StartsWith($"corrupt {format} data ({cut} bytes): ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Truncated_xz_is_an_error_naming_the_format()
    {
        var compressed = Fixture("xz");
        foreach (var cut in new[] { 1, 5, compressed.Length / 2, compressed.Length - 10 })
        {
            Assert.StartsWith($"corrupt xz data ({cut} bytes): ", Fail(Pre("decompress", ("format", "xz")), compressed[..cut]), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Damaged_xz_is_an_error_naming_the_format()
    {
        var damaged = Fixture("xz");
        for (var i = 40; i < damaged.Length - 40; i += 3) damaged[i] ^= 0x5a;
        Assert.StartsWith("corrupt xz data", Fail(Pre("decompress", ("format", "autodetect")), damaged), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void After_an_error_the_next_chunk_decompresses(string format)
    {
        var pre = Pre("decompress", ("format", format));
        Fail(pre, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
        Assert.Equal(Sample, Assert.Single(Run(pre, [Compress(format, Sample)])));
    }

    [Theory]
    [MemberData(nameof(WritableFormats))]
    public void Output_over_max_bytes_is_an_error_naming_the_limit(string format)
    {
        var bomb = Compress(format, new byte[4 * 1024 * 1024]);
        Assert.True(bomb.Length < 256 * 1024);
        var error = Fail(Pre("decompress", ("format", format), ("max-bytes", 1024L * 1024)), bomb);
        Assert.Equal($"{format} data of {bomb.Length} bytes decompresses to more than max-bytes 1048576; chunk dropped", error);
        var detected = Fail(Pre("decompress", ("format", "autodetect"), ("max-bytes", 1024L * 1024)), bomb);
        Assert.Contains("max-bytes 1048576", detected, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zstd_frame_asking_for_a_window_far_beyond_max_bytes_is_refused()
    {
        using var compressed = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(compressed, 1, leaveOpen: true))
        {
            zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, 25);
            zstd.Write(Payload(100, 3));
        }
        var frame = compressed.ToArray();
        Assert.Equal(Payload(100, 3), Decompress("zstd", frame));
        Assert.Equal($"zstd data of {frame.Length} bytes asks for a decoding window larger than max-bytes 1048576 allows (twice max-bytes, at least 1 MiB); chunk dropped", Fail(Pre("decompress", ("format", "zstd"), ("max-bytes", 1024L * 1024)), frame));
    }

    [Fact]
    public void Output_of_exactly_max_bytes_is_accepted()
    {
        var data = Payload(5000, 1);
        Assert.Equal(data, Assert.Single(Run(Pre("decompress", ("format", "zstd"), ("max-bytes", 5000L)), [Compress("zstd", data)])));
        Fail(Pre("decompress", ("format", "zstd"), ("max-bytes", 4999L)), Compress("zstd", data));
    }

    [Fact]
    public void Decompressed_chunks_stay_valid_after_later_calls()
    {
        var pre = Pre("decompress", ("format", "lz4"));
        var compress = Post("compress", ("format", "lz4"));
        var output = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < 3000; i++) Assert.True(pre.TryProcess(Apply(compress, BitConverter.GetBytes(i)), output, out _));
        Assert.Equal(Enumerable.Range(0, 3000), output.Select(o => BitConverter.ToInt32(o.Span)));
    }

    [Fact]
    public void Compressed_length_prefixed_frames_split_across_chunks_round_trip()
    {
        var compress = Post("compress", ("format", "gzip"));
        var frame = Post("length-prefixed");
        var events = Enumerable.Range(0, 20).Select(i => Payload(100 + (i * 50), i)).ToList();
        var wire = events.SelectMany(e => Apply(frame, Apply(compress, e))).ToArray();
        var frames = Run(Pre("length-prefixed"), wire.Chunk(333).Select(c => c.ToArray()));
        Assert.Equal(events, Run(Pre("decompress", ("format", "autodetect")), frames));
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        const string Prefix = "flow.connectors.in.preprocessors[0].config.";
        Assert.Equal(Prefix + "format: is required: one of gzip, zlib, xz, snappy, lz4, zstd, br, autodetect, e.g. { name = \"decompress\", config { format = \"gzip\" } }", PreConfigError("decompress").Message);
        Assert.Equal(Prefix + "format: unknown format 'brotli'; known formats are: gzip, zlib, xz, snappy, lz4, zstd, br, autodetect", PreConfigError("decompress", ("format", "brotli")).Message);
        Assert.Equal(Prefix + "format: unknown format 'autodetect'; known formats are: gzip, zlib, xz, snappy, lz4, zstd, br", PostConfigError("compress", ("format", "autodetect")).Message);
        Assert.Equal(Prefix + "format: xz cannot be written (the library only decompresses it); use gzip, zlib, snappy, lz4, zstd or br", PostConfigError("compress", ("format", "xz")).Message);
        Assert.Equal(Prefix + "level: gzip levels are 0 to 9, found 10", PostConfigError("compress", ("format", "gzip"), ("level", 10L)).Message);
        Assert.Equal(Prefix + "level: lz4 levels are 0 to 12, found -1", PostConfigError("compress", ("format", "lz4"), ("level", -1L)).Message);
        Assert.StartsWith(Prefix + "level: zstd levels are ", PostConfigError("compress", ("format", "zstd"), ("level", 23L)).Message, StringComparison.Ordinal);
        Assert.Equal(Prefix + "level: snappy has no compression levels; remove the key", PostConfigError("compress", ("format", "snappy"), ("level", 1L)).Message);
        Assert.Equal(Prefix + "level: expected an integer, found '\"high\"'", PostConfigError("compress", ("format", "gzip"), ("level", "high")).Message);
        Assert.Equal(Prefix + "max-bytes", PreConfigError("decompress", ("format", "gzip"), ("max-bytes", -1L)).Path);
        Assert.Equal(Prefix + "max-bytes", PreConfigError("decompress", ("format", "gzip"), ("max-bytes", 0L)).Path);
        Assert.Equal(Prefix + "levle", PostConfigError("compress", ("format", "gzip"), ("levle", 1L)).Path);
    }

    [Fact]
    public void The_library_constructors_refuse_what_config_refuses()
    {
        Assert.Throws<ArgumentException>(() => new CompressPostprocessor(CompressionFormat.Xz));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompressPostprocessor(CompressionFormat.Zlib, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DecompressPreprocessor(CompressionFormat.Gzip, 0));
        Assert.IsType<ConfigException>(PreConfigError("decompress", ("format", 3L)), exactMatch: true);
    }
}
