using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class StructuredCodecTests
{
    private static Value Json(string json) => TestData.Decode(new JsonCodec(), json);

    [Fact]
    public void Csv_record_decodes_to_strings_with_rfc4180_quoting()
    {
        var codec = new CsvCodec();
        var v = TestData.Decode(codec, "\"some \"\" field\",1234567,other_text,\"2020-01-01 00:00:00\",\"two\nlines\",");
        Assert.Equal(Json("""["some \" field","1234567","other_text","2020-01-01 00:00:00","two\nlines",""]"""), v);
        Assert.Equal(v, TestData.Decode(codec, TestData.Encode(codec, v)));
        Assert.Equal("a,b,c,123", TestData.EncodeText(codec, Json("""["a","b","c",123]""")));
        Assert.Contains("expected an array", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, Json("""{"a":1}"""))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_document_resolves_scalars_by_the_core_schema_and_round_trips()
    {
        var codec = new YamlCodec();
        var v = TestData.Decode(codec, """
            name: tremor
            count: 42
            ratio: 0.5
            on: true
            none: ~
            quoted: "42"
            hex: 0x1f
            list: [1, two, 3.0]
            nested:
              anchor: &a { x: 1 }
              alias: *a
            """);
        Assert.Equal("tremor", v["name"].AsString());
        Assert.Equal(42L, v["count"].RawI64);
        Assert.Equal(0.5, v["ratio"].RawF64);
        Assert.True(v["on"].AsBool());
        Assert.True(v["none"].IsNull);
        Assert.Equal("42", v["quoted"].AsString());
        Assert.Equal(31L, v["hex"].RawI64);
        Assert.Equal(Json("""[1,"two",3.0]"""), v["list"]);
        Assert.Equal(v["nested"]["anchor"], v["nested"]["alias"]);
        Assert.Equal(v, TestData.Decode(codec, TestData.Encode(codec, v)));
    }

    [Fact]
    public void Yaml_keeps_strings_that_look_like_other_types_and_bytes_through_a_round_trip()
    {
        var codec = new YamlCodec();
        var value = Json("""{"s1":"true","s2":"12","s3":"","s4":"null","s5":"- item","s6":"a: b","f":1.0,"i":-7}""");
        value.AsRecord()!.Append("bytes", Value.From(new byte[] { 0, 1, 255 }));
        Assert.Equal(value, TestData.Decode(codec, TestData.Encode(codec, value)));
    }

    [Fact]
    public void Json_sorted_mode_writes_keys_in_order_at_every_level()
    {
        var codec = (JsonCodec)BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec.config", TestData.Decode(new JsonCodec(), """{"mode":"sorted"}""").AsRecord()));
        var v = Json("""{"b":1,"a":{"z":[{"d":1,"c":2}],"y":null},"c":"x"}""");
        Assert.Equal("""{"a":{"y":null,"z":[{"c":2,"d":1}]},"b":1,"c":"x"}""", TestData.EncodeText(codec, v));
        Assert.Equal("""{"b":1,"a":{"z":[{"d":1,"c":2}],"y":null},"c":"x"}""", TestData.EncodeText(new JsonCodec(), v));
    }

    [Fact]
    public void Json_mode_other_than_sorted_or_unsorted_is_a_config_error_naming_the_key()
    {
        var config = new PluginConfig("tremor.flows.f.connectors.out.codec.config", TestData.Decode(new JsonCodec(), """{"mode":"sideways"}""").AsRecord());
        var e = Assert.Throws<ConfigException>(() => BuiltinCodecs.FindCodec("json")!.Create(config));
        Assert.Equal("tremor.flows.f.connectors.out.codec.config.mode", e.Path);
        Assert.Contains("sorted or unsorted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_codec_decodes_anything_to_null_and_writes_nothing()
    {
        var codec = new NullCodec();
        Assert.True(TestData.Decode(codec, [0xff, 0x00, 0x7b]).IsNull);
        Assert.Empty(TestData.Encode(codec, Json("""{"a":1}""")));
    }

    [Fact]
    public void Tremor_binary_encoding_round_trips_every_kind_and_matches_tremors_layout()
    {
        var codec = new TremorCodec();
        var value = TestData.EveryKind();
        value.AsRecord()!.Append("bytes", Value.From(new byte[] { 42, 43, 44 }));
        Assert.Equal(value, TestData.Decode(codec, TestData.Encode(codec, value)));
        // version 0, I64 tag 3, big-endian -42: the bytes Tremor's codec writes for -42.
        Assert.Equal(new byte[] { 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xd6 }, TestData.Encode(codec, Value.From(-42L)));
        Assert.Equal(new byte[] { 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, (byte)'h', (byte)'i' }, TestData.Encode(codec, Value.From("hi")));
    }

    [Fact]
    public void New_codecs_are_registered_under_tremors_names()
    {
        foreach (var name in new[] { "syslog", "influx", "binflux", "statsd", "dogstatsd", "graphite", "graphite-plaintext", "csv", "yaml", "null", "tremor", "avro", "confluent-avro" })
        {
            Assert.NotNull(BuiltinCodecs.FindCodec(name));
        }
    }
}
