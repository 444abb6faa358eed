using BenchmarkDotNet.Running;
using Tremor.ScriptBench;

// dotnet run -c Release --project bench/Tremor.ScriptBench -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(QueryBenchmarks).Assembly).Run(args);
