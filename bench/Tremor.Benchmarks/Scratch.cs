using System.Text.Json;
using BenchmarkDotNet.Attributes;
namespace Tremor.Benchmarks;
[MemoryDiagnoser]
public class ScratchBenchmarks
{
    private byte[][] _lines = [];
    [GlobalSetup] public void Setup() => _lines = BenchData.JsonLines();
    [Benchmark(OperationsPerInvoke = 100)]
    public int ReaderOnly()
    {
        var n = 0;
        foreach (var line in _lines)
        {
            var r = new Utf8JsonReader(line);
            while (r.Read()) n++;
        }
        return n;
    }
    [Benchmark(OperationsPerInvoke = 100)]
    public int ReaderStrings()
    {
        var n = 0;
        foreach (var line in _lines)
        {
            var r = new Utf8JsonReader(line);
            while (r.Read()) { if (r.TokenType == JsonTokenType.String) n += r.GetString()!.Length; else if (r.TokenType == JsonTokenType.Number) n += (int)r.GetInt64(); }
        }
        return n;
    }
}
