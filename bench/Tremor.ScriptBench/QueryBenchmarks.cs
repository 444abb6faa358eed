using System.Diagnostics;
using BenchmarkDotNet.Attributes;
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
    private const int Records = 100;
    private Event[] _events = [];
    private QueryInstance _instance = null!;
    private readonly CountingOutput _output = new();

    [Params("where-eq", "where-lowercase", "transform", "logging-throughput")]
    public string Query { get; set; } = "where-eq";

    [GlobalSetup]
    public void Setup()
    {
        _events = BenchData.Load().Select((v, i) => new Event { Id = new EventId(1, 0, 0, (ulong)i), Data = v }).ToArray();
        var text = Query switch
        {
            "where-eq" => "select event from in where event.short_message == \"ERROR\" into out;",
            "where-lowercase" => BenchData.Example("filter.trickle"),
            "transform" => BenchData.Example("transform.trickle"),
            _ => BenchData.Example("logging-throughput.trickle"),
        };
        _instance = Tremor.Script.Query.Compile(text, Query).Instantiate();
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public long Process()
    {
        // Time stays inside one second so grouper::bucket measures the classify-and-admit path.
        _instance.Process("in", _events, 1, _output);
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
    public static List<Value> Load()
    {
        var path = Path.Combine(Root(), "data", "data.json.xz");
        var psi = new ProcessStartInfo("xz", ["-dc", path]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        // Decode with the query language's own json::decode so the bench needs nothing but Tremor.Script.
        var decode = Tremor.Script.Query.Compile("select json::decode(event) from in into out;", "decode").Instantiate();
        var collect = new Collect();
        decode.Process("in", [.. lines.Select(l => new Event { Data = l })], 0, collect);
        return collect.Values;
    }

    public static string Example(string name) => File.ReadAllText(Path.Combine(Root(), "Tremor.Script", "examples", name));

    private static string Root()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "data", "data.json.xz"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("data/data.json.xz not found above " + AppContext.BaseDirectory);
    }

    private sealed class Collect : IQueryOutput
    {
        public List<Value> Values { get; } = [];

        public void Emit(string port, Event e) => Values.Add(e.Data);
    }
}
