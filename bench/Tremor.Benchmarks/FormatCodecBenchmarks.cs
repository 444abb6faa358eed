using BenchmarkDotNet.Attributes;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// Decode and encode of every built-in codec beside <c>json</c> in one run, one operation per event: influx and binflux
/// on tremor's data.influx, syslog/statsd/dogstatsd/graphite/csv on small corpora of their formats, and the codecs
/// that hold any value (json, msgpack, yaml, tremor) on data.json's records, avro and confluent-avro on data.influx's
/// points under a schema of their shape, string, binary and null on data.influx's lines. The program prints MB/s
/// from <see cref="BytesPerEvent"/>: decode reads the corpus, encode writes what the codec makes of its values.
/// </summary>
[MemoryDiagnoser]
public class FormatCodecBenchmarks
{
    private readonly PooledBufferWriter _output = new(256 * 1024);
    private ICodec _codec = null!;
    private ReadOnlyMemory<byte>[] _inputs = [];
    private Value[] _values = [];

    [Params("json", "msgpack", "yaml", "tremor", "influx", "binflux", "syslog", "statsd", "dogstatsd", "graphite", "csv", "avro", "confluent-avro", "string", "binary", "null")]
    public string Codec { get; set; } = "json";

    [GlobalSetup]
    public void Setup()
    {
        (_codec, var corpus) = Corpus(Codec);
        _inputs = [.. corpus.Select(c => (ReadOnlyMemory<byte>)c)];
        _values = [.. _inputs.Select(i => Decode(_codec, i))];
        var (decoded, encoded) = BytesPerEvent(Codec);
        Console.WriteLine($"// {Codec}: {_inputs.Length} events, {decoded:0.0} bytes per event decoded, {encoded:0.0} encoded");
    }

    /// <summary>The average bytes one event has as the codec reads it (decode) and as it writes it (encode).</summary>
    public static (double Decoded, double Encoded) BytesPerEvent(string codecName)
    {
        var (codec, corpus) = Corpus(codecName);
        var output = new PooledBufferWriter(1024);
        foreach (var c in corpus) codec.Encode(Decode(codec, c), output);
        return (corpus.Average(c => (double)c.Length), output.WrittenCount / (double)corpus.Length);
    }

    private static (ICodec Codec, byte[][] Corpus) Corpus(string name)
    {
        var codec = BuiltinCodecs.FindCodec(name)!.Create(CodecConfig(name));
        var influx = Lines(File.ReadAllBytes(Path.Combine(BenchData.RepoRoot(), "tests", "Tremor.Codecs.Tests", "data", "data.influx")));
        byte[][] corpus = name switch
        {
            "influx" => influx,
            "binflux" => [.. influx.Select(l => EncodeWith(new BinfluxCodec(), Decode(new InfluxCodec(), l)))],
            "syslog" => Repeat(
                "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry",
                "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar and this is a line of a typical length for a log",
                "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8"),
            "statsd" => Repeat("gorets:1|c", "glork:320|ms|@0.1", "gaugor:-333|g", "horst:42.23|h"),
            "dogstatsd" => Repeat("dog:111:222|g|@0.5|#foo:bar,fizz:buzz|c:123abc", "_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning", "_sc|Redis|2|#env:dev|m:timed out"),
            "graphite" => Repeat("servers.web-1.cpu.load 0.75 1620649445", "servers.web-1.requests 1234 1620649445"),
            // Avro on data.influx's points, under a schema of the influx shape.
            "avro" or "confluent-avro" => [.. influx.Select(l => EncodeWith(codec, Decode(new InfluxCodec(), l)))],
            "string" or "binary" or "null" => influx,
            "csv" => Repeat("\"some \"\" field\",1234567,other_text,\"2020-01-01 00:00:00\",plain,42"),
            _ => [.. BenchData.JsonLines().Select(l => EncodeWith(codec, Decode(new JsonCodec(), l)))],
        };
        return (codec, corpus);
    }

    private const string InfluxSchema = """
        {"type":"record","name":"point","fields":[{"name":"measurement","type":"string"},
         {"name":"tags","type":{"type":"map","values":"string"}},
         {"name":"fields","type":{"type":"map","values":["long","double","string","boolean"]}},
         {"name":"timestamp","type":"long"}]}
        """;

    private static PluginConfig CodecConfig(string codec)
    {
        var record = new ValueRecord();
        if (codec == "avro") record.Append("schema", InfluxSchema);
        if (codec == "confluent-avro")
        {
            var schemas = new ValueRecord();
            schemas.Append("1", InfluxSchema);
            record.Append("schemas", Value.From(schemas));
        }
        return new PluginConfig("codec", record.Count == 0 ? null : record);
    }

    private static byte[][] Lines(byte[] data) => [.. System.Text.Encoding.UTF8.GetString(data).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(System.Text.Encoding.UTF8.GetBytes)];

    private static byte[][] Repeat(params string[] lines) => [.. Enumerable.Range(0, 100).Select(i => System.Text.Encoding.UTF8.GetBytes(lines[i % lines.Length]))];

    private static Value Decode(ICodec codec, ReadOnlyMemory<byte> data) => codec.TryDecode(data, out var v, out var e) ? v : throw new InvalidOperationException(e);

    private static byte[] EncodeWith(ICodec codec, Value value)
    {
        var output = new PooledBufferWriter(1024);
        codec.Encode(value, output);
        return output.WrittenSpan.ToArray();
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public Value Decode()
    {
        Value last = default;
        for (var i = 0; i < 100; i++)
        {
            if (!_codec.TryDecode(_inputs[i % _inputs.Length], out last, out var error)) throw new InvalidOperationException(error);
        }
        return last;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int Encode()
    {
        _output.Reset();
        for (var i = 0; i < 100; i++) _codec.Encode(_values[i % _values.Length], _output);
        return _output.WrittenCount;
    }
}
