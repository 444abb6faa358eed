using BenchmarkDotNet.Running;
using Tremor.ScriptBench;

// dotnet run -c Release --project bench/Tremor.ScriptBench -- --filter '*' [--job short]
// dotnet run -c Release --project bench/Tremor.ScriptBench -- loop QUERY [EVENTS]: the query alone in a loop, for
// `perf record` / `perf stat` (prints CPU ns and allocated bytes per event after a warm-up).
if (args is ["loop", var query, ..])
{
    var events = args.Length > 2 ? long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20_000_000;
    var run = new QueryRun(query);
    for (var i = 0; i < 20_000; i++) run.Once();
    var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    var rounds = events / QueryRun.Records;
    for (long i = 0; i < rounds; i++) run.Once();
    var ns = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalNanoseconds / (rounds * QueryRun.Records);
    var bytes = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / (rounds * QueryRun.Records);
    Console.WriteLine(FormattableString.Invariant($"{query}: {ns:F1} ns CPU/event, {bytes:F1} B allocated/event over {rounds * QueryRun.Records} events"));
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(QueryBenchmarks).Assembly).Run(args);
