using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class MetricsCodecTests
{
    private static Value Json(string json) => TestData.Decode(new JsonCodec(), json);

    private static string Sorted(Value v) => TestData.EncodeText(new JsonCodec(sorted: true), v);

    [Fact]
    public void Influx_line_from_the_influxdb_docs_has_tremors_shape()
    {
        var codec = new InfluxCodec();
        var v = TestData.Decode(codec, "myMeasurement,tag1=value1,tag2=value2 fieldKey=\"fieldValue\" 1556813561098000000");
        Assert.Equal(
            Sorted(Json("""{"measurement":"myMeasurement","tags":{"tag1":"value1","tag2":"value2"},"fields":{"fieldKey":"fieldValue"},"timestamp":1556813561098000000}""")),
            Sorted(v));
    }

    [Fact]
    public void Influx_field_types_and_escapes_from_the_docs()
    {
        var codec = new InfluxCodec();
        var v = TestData.Decode(codec, "my\\ measure\\,ment,tag\\ key=tag\\,value\\=x f=1.5,i=-3i,u=7u,b=t,B=FALSE,s=\"say \\\"hi\\\" \\\\o/\",plain=82");
        Assert.Equal("my measure,ment", v["measurement"].AsString());
        Assert.Equal("tag,value=x", v["tags"]["tag key"].AsString());
        var fields = v["fields"];
        Assert.Equal(1.5, fields["f"].RawF64);
        Assert.Equal(-3L, fields["i"].RawI64);
        Assert.Equal(ValueKind.I64, fields["u"].Kind);
        Assert.True(fields["b"].AsBool());
        Assert.False(fields["B"].AsBool());
        Assert.Equal(ValueKind.Bool, fields["B"].Kind);
        Assert.Equal("say \"hi\" \\o/", fields["s"].AsString());
        Assert.Equal(ValueKind.F64, fields["plain"].Kind); // a bare number is a float in line protocol
        Assert.False(v.AsRecord()!.ContainsKey("timestamp"));
        Assert.Equal(v, TestData.Decode(codec, TestData.Encode(codec, v)));
    }

    [Fact]
    public void Every_line_of_tremors_influx_benchmark_data_round_trips()
    {
        var codec = new InfluxCodec();
        var lines = TestData.Lines(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "data.influx")));
        Assert.True(lines.Count > 100);
        foreach (var line in lines)
        {
            var first = TestData.Decode(codec, line);
            var again = TestData.Decode(codec, TestData.Encode(codec, first));
            Assert.Equal(first, again);
        }
    }

    [Fact]
    public void Influx_values_line_protocol_cannot_hold_fail_with_the_reason()
    {
        var codec = new InfluxCodec();
        var nested = Json("""{"measurement":"m","fields":{"x":[1,2]},"timestamp":1}""");
        Assert.Contains("field 'x' is array", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, nested)).Message, StringComparison.Ordinal);
        var noFields = Json("""{"measurement":"m","fields":{}}""");
        Assert.Contains("fields is missing or empty", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, noFields)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Binflux_round_trips_influx_points_and_reads_tremors_layout()
    {
        var influx = new InfluxCodec();
        var binflux = new BinfluxCodec();
        var point = TestData.Decode(influx, "m,t1=v1,t2=v2 f1=42i,f2=42.5,f3=true,f4=false,f5=\"snot\" 42");
        var bytes = TestData.Encode(binflux, point);
        Assert.Equal(new byte[] { 0, 0, 0, 1, (byte)'m' }, bytes[..5]); // version 0, then the u16-length measurement
        Assert.Equal(point, TestData.Decode(binflux, bytes));
        Assert.Equal(42UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(5)));
    }

    [Theory]
    [InlineData("gorets:1|c", """{"metric":"gorets","type":"c","value":1}""")]
    [InlineData("glork:320|ms", """{"metric":"glork","type":"ms","value":320}""")]
    [InlineData("gaugor:333|g", """{"metric":"gaugor","type":"g","value":333}""")]
    [InlineData("uniques:765|s", """{"metric":"uniques","type":"s","value":765}""")]
    [InlineData("horst:42.23|h", """{"metric":"horst","type":"h","value":42.23}""")]
    [InlineData("sam:7|c|@0.1", """{"metric":"sam","type":"c","value":7,"sample_rate":0.1}""")]
    [InlineData("addy:+123|g", """{"metric":"addy","type":"g","action":"add","value":123}""")]
    [InlineData("subastian:-234|g", """{"metric":"subastian","type":"g","action":"sub","value":234}""")]
    public void Statsd_lines_have_tremors_shape_and_encode_back_byte_for_byte(string line, string expected)
    {
        var codec = new StatsdCodec();
        var v = TestData.Decode(codec, line);
        Assert.Equal(Sorted(Json(expected)), Sorted(v));
        Assert.Equal(line, TestData.EncodeText(codec, v));
    }

    [Fact]
    public void A_trailing_line_end_is_framing_not_data()
    {
        Assert.Equal(TestData.Decode(new StatsdCodec(), "gorets:1|c"), TestData.Decode(new StatsdCodec(), "gorets:1|c\n"));
        Assert.Equal(TestData.Decode(new DogstatsdCodec(), "dog:1|c|#a:b"), TestData.Decode(new DogstatsdCodec(), "dog:1|c|#a:b\r\n"));
        Assert.Equal(TestData.Decode(new GraphiteCodec(), "a.b 1 2"), TestData.Decode(new GraphiteCodec(), "a.b 1 2\r\n"));
        Assert.Equal("msg", TestData.Decode(new SyslogCodec(), "<13>1 - - - - - - msg\n")["msg"].AsString());
    }

    [Theory]
    [InlineData("dog:111|g|@0.5|#foo:bar,fizz:buzz|c:123abc", """{"metric":{"metric":"dog","values":[111.0],"type":"g","sample_rate":0.5,"tags":["foo:bar","fizz:buzz"],"container_id":"123abc"}}""")]
    [InlineData("dog:111:222:333:4.44|d", """{"metric":{"metric":"dog","values":[111.0,222.0,333.0,4.44],"type":"d"}}""")]
    [InlineData("_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file", """{"event":{"title":"An exception occurred","text":"Cannot parse CSV file from 10.0.0.17","type":"warning","tags":["err_type:bad_file"]}}""")]
    [InlineData("_sc|Redis connection|2|#env:dev|m:Redis connection timed out after 10s", """{"service_check":{"name":"Redis connection","status":2,"tags":["env:dev"],"message":"Redis connection timed out after 10s"}}""")]
    public void Dogstatsd_metrics_events_and_service_checks_have_tremors_shape(string line, string expected)
    {
        var codec = new DogstatsdCodec();
        var v = TestData.Decode(codec, line);
        Assert.Equal(Sorted(Json(expected)), Sorted(v));
        Assert.Equal(line, TestData.EncodeText(codec, v));
    }

    [Fact]
    public void Dogstatsd_event_lengths_count_utf8_bytes()
    {
        var codec = new DogstatsdCodec();
        var v = Json("""{"event":{"title":"🦡 up","text":"zü"}}""");
        var line = TestData.EncodeText(codec, v);
        Assert.StartsWith($"_e{{{Encoding.UTF8.GetByteCount("🦡 up")},{Encoding.UTF8.GetByteCount("zü")}}}:", line, StringComparison.Ordinal);
        Assert.Equal(Sorted(v), Sorted(TestData.Decode(codec, line)));
    }

    [Fact]
    public void Graphite_line_has_tremors_shape_and_a_record_value_fails_with_the_reason()
    {
        var codec = new GraphiteCodec();
        var v = TestData.Decode(codec, "beep.boop 7 1620649445");
        Assert.Equal(Sorted(Json("""{"metric":"beep.boop","value":7,"timestamp":1620649445}""")), Sorted(v));
        Assert.Equal("beep.boop 7 1620649445", TestData.EncodeText(codec, v));
        Assert.Equal(320.0, TestData.Decode(codec, "beep.boop 320.0 -1")["value"].RawF64);
        var record = Json("""{"metric":"a.b","value":{"x":1},"timestamp":1}""");
        Assert.Contains("value must be a number", Assert.Throws<CodecEncodeException>(() => TestData.Encode(codec, record)).Message, StringComparison.Ordinal);
    }
}
