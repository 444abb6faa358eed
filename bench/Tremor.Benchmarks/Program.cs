using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Tremor.Benchmarks;

// dotnet run -c Release --project bench/Tremor.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project bench/Tremor.Benchmarks -- --interleaved [rounds]
// dotnet run -c Release --project bench/Tremor.Benchmarks -- --interleaved-msgpack [rounds]
// dotnet run -c Release --project bench/Tremor.Benchmarks -- --codec-bound [seconds] [threads]
if (args.Length > 0 && args[0] == "--interleaved")
{
    Interleaved.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 41);
    return;
}
if (args.Length > 0 && args[0] == "--codec-bound")
{
    CodecBound.Run(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Environment.ProcessorCount);
    return;
}
if (args.Length > 0 && args[0] == "--interleaved-msgpack")
{
    Interleaved.RunMsgpack(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 41);
    return;
}
var summaries = BenchmarkSwitcher.FromAssembly(typeof(JsonBenchmarks).Assembly).Run(args);
PrintThroughput(summaries);

static void PrintThroughput(IEnumerable<Summary> summaries)
{
    var recordBytes = BenchData.AverageRecordBytes;
    var bytesPerOperation = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        [$"{nameof(JsonBenchmarks)}.{nameof(JsonBenchmarks.Decode)}"] = recordBytes,
        [$"{nameof(JsonBenchmarks)}.{nameof(JsonBenchmarks.Encode)}"] = recordBytes,
        [$"{nameof(JsonBenchmarks)}.{nameof(JsonBenchmarks.DecodeBaseline)}"] = recordBytes,
        [$"{nameof(JsonBenchmarks)}.{nameof(JsonBenchmarks.EncodeBaseline)}"] = recordBytes,
        [$"{nameof(SeparateBenchmarks)}.{nameof(SeparateBenchmarks.Separate)}"] = BenchData.Json.Length,
        [$"{nameof(SeparateBenchmarks)}.{nameof(SeparateBenchmarks.SeparateIn4KChunks)}"] = BenchData.Json.Length,
        [$"{nameof(LengthPrefixedBenchmarks)}.{nameof(LengthPrefixedBenchmarks.OneChunk)}"] = BenchData.Json.Length + 300,
        [$"{nameof(LengthPrefixedBenchmarks)}.{nameof(LengthPrefixedBenchmarks.In4KChunks)}"] = BenchData.Json.Length + 300,
        [$"{nameof(CompressionBenchmarks)}.{nameof(CompressionBenchmarks.Compress)}"] = recordBytes,
        [$"{nameof(CompressionBenchmarks)}.{nameof(CompressionBenchmarks.Decompress)}"] = recordBytes,
        [$"{nameof(PayloadBenchmarks)}.{nameof(PayloadBenchmarks.Process)}"] = recordBytes,
        [$"{nameof(PayloadBenchmarks)}.{nameof(PayloadBenchmarks.Decompress)}"] = recordBytes,
    };
    Console.WriteLine();
    Console.WriteLine($"Throughput (one JSON operation = one record of {recordBytes:F0} bytes on average; one separate operation = 63,015 bytes):");
    Console.WriteLine($"{"benchmark",-44} {"ns/op",12} {"MB/s",10} {"ops/s",14} {"alloc B/op",12}");
    foreach (var summary in summaries)
    {
        foreach (var report in summary.Reports)
        {
            var descriptor = report.BenchmarkCase.Descriptor;
            var name = $"{descriptor.Type.Name}.{descriptor.WorkloadMethod.Name}";
            if (report.ResultStatistics is not { } stats) continue;
            var ns = stats.Mean;
            var allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
            if (descriptor.Type == typeof(FormatCodecBenchmarks) && report.BenchmarkCase.Parameters[nameof(FormatCodecBenchmarks.Codec)] is string codec)
            {
                // Per codec: decode reads the corpus's bytes, encode writes its own; null writes none (no MB/s).
                var (decoded, encoded) = FormatCodecBenchmarks.BytesPerEvent(codec);
                name = $"{codec} {descriptor.WorkloadMethod.Name.ToLowerInvariant()}";
                bytesPerOperation[name] = descriptor.WorkloadMethod.Name == nameof(FormatCodecBenchmarks.Decode) ? decoded : encoded;
            }
            var mbps = bytesPerOperation.TryGetValue(name, out var bytes) && bytes > 0 ? (bytes / ns * 1e9 / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"{name,-44} {ns,12:F1} {mbps,10} {1e9 / ns,14:N0} {allocated?.ToString(CultureInfo.InvariantCulture) ?? "-",12}");
        }
    }
}
