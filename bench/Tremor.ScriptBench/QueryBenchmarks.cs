using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Tremor.Codecs;
using Tremor.Pdk;
using Tremor.Script;

namespace Tremor.ScriptBench;

/// <summary>
/// Per-event cost of compiled queries over the 100 records of data/data.json.xz. Each operation runs all 100
/// records, so the reported time and allocation are per event.
/// </summary>
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private QueryRun _run = null!;

    [Params("passthrough", "where-eq", "where-lowercase", "transform", "logging-throughput", "rollup")]
    public string Query { get; set; } = "where-eq";

    [GlobalSetup]
    public void Setup() => _run = new QueryRun(Query);

    [Benchmark(OperationsPerInvoke = QueryRun.Records)]
    public long Process() => _run.Once();
}

/// <summary>
/// One query instance over the bench records, as the pipeline runs it: a batch of 100 events per call, each a new
/// event with a new record (as the decoder makes them: the shape's shared keys array, values of its own), so nothing
/// a query derives from a record the first time it sees it (an index of its keys) is reused by later batches. Making
/// them is part of every figure: <c>passthrough</c> measures it.
/// </summary>
internal sealed class QueryRun
{
    public const int Records = 100;
    private readonly Value[] _records;
    private readonly Event[] _events = new Event[Records];
    private readonly QueryInstance _instance;
    private readonly CountingOutput _output = new();
    private readonly bool _advanceTime;
    private ulong _now = 1;

    public QueryRun(string query)
    {
        _records = [.. BenchData.Load()];
        var text = query switch
        {
            "passthrough" => "select event from in into out;",
            "where-eq" => "select event from in where event.short_message == \"ERROR\" into out;",
            "where-lowercase" => BenchData.Example("filter.trickle"),
            "transform" => BenchData.Example("transform.trickle"),
            "logging-throughput" => BenchData.Example("logging-throughput.trickle"),
            "rollup" => BenchData.Example("rollup.trickle"),
            _ => throw new ArgumentException($"unknown query {query}: passthrough, where-eq, where-lowercase, transform, logging-throughput, rollup"),
        };
        _instance = Tremor.Script.Query.Compile(text, query).Instantiate();
        // Rollup's one-second window runs on the events' ingest time; the bucket's slots on the batch's time, which
        // stays inside one second so grouper::bucket measures the classify-and-admit path.
        _advanceTime = query == "rollup";
    }

    public long Once()
    {
        for (var i = 0; i < Records; i++)
        {
            var r = _records[i].AsRecord()!;
            var data = Value.From(new ValueRecord(r.SharedKeys ?? r.KeySpan.ToArray(), r.ValueSpan.ToArray(), sharedKeys: true));
            _events[i] = new Event { Id = new EventId(1, 0, 0, (ulong)i), IngestNs = _now, Data = data };
        }
        _instance.Process("in", _events, _now, _output);
        if (_advanceTime) _now += 1_000_000;
        return _output.Count;
    }

    private sealed class CountingOutput : IQueryOutput
    {
        public long Count;

        public void Emit(string port, Event e) => Count++;
    }
}

internal static class BenchData
{
    /// <summary>The records as the flow sees them: decoded by the <c>json</c> codec (one shared keys array per shape).</summary>
    public static List<Value> Load()
    {
        var path = Path.Combine(Root(), "data", "data.json.xz");
        var psi = new ProcessStartInfo("xz", ["-dc", path]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        var codec = new JsonCodec();
        return [.. lines.Select(l => codec.TryDecode(System.Text.Encoding.UTF8.GetBytes(l), out var v, out var error) ? v : throw new InvalidDataException(error))];
    }

    public static string Example(string name) => File.ReadAllText(Path.Combine(Root(), "Tremor.Script", "examples", name));

    private static string Root()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "data", "data.json.xz"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("data/data.json.xz not found above " + AppContext.BaseDirectory);
    }
}
