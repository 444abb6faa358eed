using BenchmarkDotNet.Attributes;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// Postprocessors whose payloads are not one per event, run as the runtime runs them (a <see cref="PayloadChain"/>,
/// which also tracks which events each payload carries): one operation is one data.json record (629 bytes on
/// average). <c>separate</c> is the plain one-payload-per-event stage through the same chain, the baseline for what
/// the chain itself costs; <c>collect</c> joins 100 records; <c>gelf-chunking</c> cuts each into 1 KiB datagrams;
/// <c>streaming-compress</c> keeps one stream and flushes per record (compare with <see cref="CompressionBenchmarks"/>,
/// one compressed payload per record); <c>streaming-decompress</c> reads that stream back, payload by payload.
/// </summary>
[MemoryDiagnoser]
public class PayloadBenchmarks
{
    private readonly ChainOutput _output = new();
    private readonly List<ReadOnlyMemory<byte>> _decoded = new(128);
    private byte[][] _records = [];
    private byte[][] _stream = [];
    private PayloadChain _chain = null!;
    private IPreprocessor? _reader;
    private long _number;

    [Params("separate", "collect", "gelf-chunking", "streaming-compress:gzip", "streaming-compress:zstd", "streaming-compress:lz4")]
    public string Stage { get; set; } = "separate";

    [GlobalSetup]
    public void Setup()
    {
        _records = BenchData.JsonLines();
        _chain = new PayloadChain([(Post(Stage), Stage)]);
        if (Stage.StartsWith("streaming-compress:", StringComparison.Ordinal))
        {
            var writer = new PayloadChain([(Post(Stage), Stage)]);
            var output = new ChainOutput();
            var n = 0L;
            _stream = [.. _records.Select(r =>
            {
                output.Reset();
                writer.Process(r, n++, 0, output);
                return output.Bytes.ToArray();
            })];
            _reader = BuiltinCodecs.FindPreprocessor("streaming-decompress")!.Create(Config(("format", Stage.Split(':')[1])));
        }
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int Process()
    {
        var payloads = 0;
        foreach (var record in _records)
        {
            _output.Reset();
            _chain.Process(record, _number++, 0, _output);
            payloads += _output.Payloads.Count;
        }
        return payloads;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int Decompress()
    {
        if (_reader is null) return 0;
        _decoded.Clear();
        foreach (var payload in _stream)
        {
            if (!_reader.TryProcess(payload, _decoded, out var error)) throw new InvalidOperationException(error);
        }
        return _decoded.Count;
    }

    private static IPostprocessor Post(string stage)
    {
        var parts = stage.Split(':');
        PluginConfig config = parts[0] switch
        {
            "collect" => Config(("max-events", 100L), ("separator", "\n")),
            "gelf-chunking" => Config(("chunk-size", 1024L)),
            "streaming-compress" => Config(("algorithm", parts[1])),
            _ => Config(),
        };
        return BuiltinCodecs.FindPostprocessor(parts[0])!.Create(config);
    }

    private static PluginConfig Config(params (string Key, Value Value)[] entries)
    {
        var record = new ValueRecord();
        foreach (var (key, value) in entries) record.Append(key, value);
        return new PluginConfig("bench", record);
    }
}
