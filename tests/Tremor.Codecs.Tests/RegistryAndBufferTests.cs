using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class RegistryAndBufferTests
{
    [Fact]
    public void The_registry_lists_every_builtin_once_by_name()
    {
        Assert.Equal(
            ["json", "string", "binary", "msgpack", "syslog", "influx", "binflux", "statsd", "dogstatsd", "graphite", "graphite-plaintext", "csv", "yaml", "null", "tremor", "avro", "confluent-avro"],
            BuiltinCodecs.Codecs.Select(f => f.Name));
        Assert.Equal(["separate", "base64", "length-prefixed", "textual-length-prefixed", "decompress", "remove-empty", "ingest-ns", "gelf-chunking", "streaming-decompress"], BuiltinCodecs.Preprocessors.Select(f => f.Name));
        Assert.Equal(["separate", "base64", "length-prefixed", "textual-length-prefixed", "compress", "chunk", "ingest-ns", "gelf-chunking", "collect", "streaming-compress"], BuiltinCodecs.Postprocessors.Select(f => f.Name));
        Assert.Null(BuiltinCodecs.FindCodec("protobuf"));
    }

    [Fact]
    public void Every_codec_from_the_registry_round_trips_a_record()
    {
        var record = TestData.Decode(new JsonCodec(), TestData.Lines(TestData.Json)[3]);
        // The codecs that hold any value; the format-shaped ones (syslog, influx, ...) have their own round trips.
        foreach (var factory in BuiltinCodecs.Codecs.Where(f => f.Name is "json" or "string" or "binary" or "msgpack" or "yaml" or "tremor"))
        {
            var codec = factory.Create(new PluginConfig($"codec.{factory.Name}", null));
            var encoded = TestData.Encode(codec, record);
            var decoded = TestData.Decode(codec, encoded);
            var expected = factory.Name switch
            {
                "string" => Value.From(System.Text.Encoding.UTF8.GetString(encoded)),
                "binary" => Value.From(encoded),
                _ => record,
            };
            Assert.Equal(expected, decoded);
        }
    }

    [Fact]
    public void Options_on_a_codec_without_options_are_refused()
    {
        var config = new ValueRecord();
        config.Append("pretty", true);
        var e = Assert.Throws<ConfigException>(() => BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", config)));
        Assert.Equal("codec.pretty", e.Path);
    }

    [Fact]
    public void Pooled_buffer_writer_grows_resets_and_keeps_what_was_written()
    {
        using var writer = new PooledBufferWriter(1);
        for (var i = 0; i < 10_000; i++)
        {
            var span = writer.GetSpan(1);
            span[0] = (byte)i;
            writer.Advance(1);
        }
        Assert.Equal(10_000, writer.WrittenCount);
        Assert.Equal(10_000, writer.WrittenMemory.Length);
        for (var i = 0; i < 10_000; i++) Assert.Equal((byte)i, writer.WrittenSpan[i]);
        var capacity = writer.Capacity;
        writer.Reset();
        Assert.Equal(0, writer.WrittenCount);
        Assert.Equal(capacity, writer.Capacity);
        Assert.True(writer.GetMemory(100).Length >= 100);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(capacity + 1));
    }

    [Fact]
    public void Pooled_buffer_writer_is_usable_after_dispose()
    {
        var writer = new PooledBufferWriter(0);
        writer.Dispose();
        writer.GetSpan(3)[..3].Fill(7);
        writer.Advance(3);
        Assert.Equal(new byte[] { 7, 7, 7 }, writer.WrittenSpan.ToArray());
        writer.Dispose();
        Assert.Equal(0, writer.WrittenCount);
    }
}
