using Avro;
using Avro.File;
using Avro.Generic;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class AvroCodecTests
{
    private const string SchemaJson = """
        {"type":"record","name":"point","fields":[
          {"name":"name","type":"string"},
          {"name":"count","type":"long"},
          {"name":"small","type":"int","default":42},
          {"name":"ratio","type":"double"},
          {"name":"ok","type":"boolean"},
          {"name":"kind","type":{"type":"enum","name":"kind","symbols":["a","b"]}},
          {"name":"tags","type":{"type":"map","values":"string"}},
          {"name":"list","type":{"type":"array","items":"long"}},
          {"name":"maybe","type":["null","string"]},
          {"name":"raw","type":"bytes"}
        ]}
        """;

    private static Value Json(string json) => TestData.Decode(new JsonCodec(), json);

    private static Value Sample()
    {
        var v = Json("""{"name":"n","count":-5,"small":7,"ratio":0.25,"ok":true,"kind":"b","tags":{"x":"y"},"list":[1,2,3],"maybe":"m"}""");
        v.AsRecord()!.Append("raw", Value.From(new byte[] { 1, 2, 255 }));
        return v;
    }

    private static ICodec Create(string name, string configJson) =>
        BuiltinCodecs.FindCodec(name)!.Create(new PluginConfig("tremor.flows.f.connectors.c.codec.config", Json(configJson).AsRecord()));

    [Fact]
    public void Container_round_trips_and_is_read_by_apache_avro()
    {
        foreach (var compression in new[] { "none", "deflate" })
        {
            var codec = Create("avro", $$"""{"schema":{{SchemaJson}},"compression":"{{compression}}"}""");
            var bytes = TestData.Encode(codec, Sample());
            Assert.Equal(Sample(), TestData.Decode(codec, bytes));
            using var reader = DataFileReader<GenericRecord>.OpenReader(new MemoryStream(bytes));
            var record = Assert.Single(reader.NextEntries);
            Assert.Equal(-5L, record["count"]);
            Assert.Equal("b", ((GenericEnum)record["kind"]).Value);
        }
    }

    [Fact]
    public void A_container_written_by_apache_avro_decodes_with_defaults_applied_on_encode()
    {
        var schema = (RecordSchema)Schema.Parse("""{"type":"record","name":"r","fields":[{"name":"a","type":"long"},{"name":"s","type":["null","string"]}]}""");
        var record = new GenericRecord(schema);
        record.Add("a", 9L);
        record.Add("s", "text");
        using var stream = new MemoryStream();
        using (var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(schema), stream, Codec.CreateCodec(Codec.Type.Deflate)))
        {
            writer.Append(record);
        }
        var codec = Create("avro", """{"schema":{"type":"long"}}""");
        Assert.Equal(Json("""{"a":9,"s":"text"}"""), TestData.Decode(codec, stream.ToArray()));

        var withDefault = Create("avro", "{\"schema\":" + SchemaJson + "}");
        var missingSmall = Sample();
        missingSmall.AsRecord()!.Remove("small");
        missingSmall.AsRecord()!.Remove("maybe");
        var decoded = TestData.Decode(withDefault, TestData.Encode(withDefault, missingSmall));
        Assert.Equal(42L, decoded["small"].RawI64);
        Assert.True(decoded["maybe"].IsNull);
    }

    [Fact]
    public void Confluent_wire_format_carries_the_schema_id_and_picks_the_schema_by_it()
    {
        var codec = Create("confluent-avro", "{\"schemas\":{\"7\":" + SchemaJson + ",\"8\":{\"type\":\"string\"}},\"encode-schema-id\":7}");
        var bytes = TestData.Encode(codec, Sample());
        Assert.Equal(new byte[] { 0, 0, 0, 0, 7 }, bytes[..5]);
        Assert.Equal(Sample(), TestData.Decode(codec, bytes));
        Assert.Equal("hi", TestData.Decode(codec, [0, 0, 0, 0, 8, 4, (byte)'h', (byte)'i']).AsString());
        Assert.False(codec.TryDecode(new byte[] { 0, 0, 0, 0, 9, 0 }, out _, out var error));
        Assert.Contains("schema id 9 is not configured (known: 7, 8)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_the_schema_cannot_hold_fail_with_the_field_path()
    {
        var codec = Create("avro", $$"""{"schema":{{SchemaJson}}}""");
        var wrong = Sample();
        wrong.AsRecord()!.Set("list", Json("""[1,"two"]"""));
        Assert.Contains("list[1]: expected long, found string", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, wrong)).Message, StringComparison.Ordinal);
        var missing = Sample();
        missing.AsRecord()!.Remove("name");
        Assert.Contains("name: missing, and the schema gives no default", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, missing)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        Assert.Equal("tremor.flows.f.connectors.c.codec.config.schema", Assert.Throws<ConfigException>(() => Create("avro", "{}")).Path);
        Assert.Contains("is not a valid Avro schema: its type must be", Assert.Throws<ConfigException>(() => Create("avro", """{"schema":{"type":"nope"}}""")).Message, StringComparison.Ordinal);
        Assert.Contains("is not a valid Avro schema", Assert.Throws<ConfigException>(() => Create("avro", """{"schema":{"type":"record","name":"r"}}""")).Message, StringComparison.Ordinal);
        Assert.Equal("tremor.flows.f.connectors.c.codec.config.encode-schema-id", Assert.Throws<ConfigException>(() => Create("confluent-avro", """{"schemas":{"1":"long","2":"string"}}""")).Path);
        Assert.Equal("tremor.flows.f.connectors.c.codec.config.schemas.x", Assert.Throws<ConfigException>(() => Create("confluent-avro", """{"schemas":{"x":"long"}}""")).Path);
    }

    [Fact]
    public void Malformed_avro_is_an_error_with_the_byte_and_fuzzing_never_throws()
    {
        var codec = Create("confluent-avro", "{\"schemas\":{\"1\":" + SchemaJson + "}}");
        var good = TestData.Encode(codec, Sample());
        Assert.False(codec.TryDecode(good[..^2], out _, out var error));
        Assert.StartsWith("invalid confluent-avro at byte ", error, StringComparison.Ordinal);
        Assert.Contains("truncated", error, StringComparison.Ordinal);
        // A length claiming far more than is left is refused before allocating it.
        Assert.False(codec.TryDecode(new byte[] { 0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f }, out _, out error));
        Assert.Contains("at byte 10: truncated: a string of 2147483647 bytes", error, StringComparison.Ordinal);

        var container = Create("avro", $$"""{"schema":{{SchemaJson}}}""");
        var seeds = new[] { good, TestData.Encode(container, Sample()) };
        var random = new Random(18);
        for (var round = 0; round < 2000; round++)
        {
            var which = round % 2;
            var input = seeds[which].ToArray();
            for (var k = random.Next(1, 4); k > 0; k--) input[random.Next(input.Length)] = (byte)random.Next(256);
            if (round % 7 == 0) input = input[..random.Next(input.Length)];
            var decoder = which == 0 ? codec : container;
            if (decoder.TryDecode(input, out var v, out error)) continue;
            Assert.False(string.IsNullOrEmpty(error));
        }
    }
}
