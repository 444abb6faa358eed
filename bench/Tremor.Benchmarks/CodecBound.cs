using System.Diagnostics;
using System.Globalization;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// The passthrough's bound: what the json codec alone does with data.json on this machine — every record decoded (as
/// input that never changes, as the bench source hands it over) and encoded again into a reused buffer, 100 records a
/// batch — on as many threads as there are cores, with no actor, queue, batch or event between. The runtime's
/// passthrough figure over it is the share the rest of the runtime leaves.
/// <code>dotnet bench/Tremor.Benchmarks/bin/Release/net10.0/Tremor.Benchmarks.dll --codec-bound [seconds] [threads]</code>
/// </summary>
internal static class CodecBound
{
    public static void Run(int seconds, int threads)
    {
        var lines = BenchData.JsonLines().Select(l => (ReadOnlyMemory<byte>)l).ToArray();
        var bytesPerRecord = lines.Average(l => (double)l.Length);
        Console.WriteLine($"json decode + encode of data.json ({lines.Length} records, {bytesPerRecord:F0} bytes each) on {threads} thread(s), 2 s warm-up, {seconds} s measured");
        var measuring = 0;
        var stop = 0;
        var counts = new long[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var codec = new JsonCodec();
            using var output = new PooledBufferWriter(128 * 1024);
            long events = 0;
            var counted = false;
            while (Volatile.Read(ref stop) == 0)
            {
                if (!counted && Volatile.Read(ref measuring) == 1)
                {
                    counted = true;
                    events = 0;
                }
                output.Reset();
                foreach (var line in lines)
                {
                    if (!codec.TryDecode(line, immutable: true, out var value, out var error)) throw new InvalidOperationException(error);
                    codec.Encode(value, output);
                }
                events += lines.Length;
            }
            counts[t] = events;
        }) { IsBackground = true, Name = $"codec-bound-{t}" }).ToArray();
        foreach (var w in workers) w.Start();
        Thread.Sleep(TimeSpan.FromSeconds(2)); // the warm-up: the JIT's tiers, not synchronisation
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var gc0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref stop, 1);
        var elapsed = clock.Elapsed.TotalSeconds;
        foreach (var w in workers) w.Join();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var total = counts.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CODEC-BOUND {{\"threads\":{threads},\"events\":{total},\"seconds\":{elapsed:F3},\"mb_per_s\":{total * bytesPerRecord / 1e6 / elapsed:F1},\"events_per_s\":{total / elapsed:F0},\"cpu_ns_per_event\":{cpu * 1e9 / total:F0},\"gc_gen0\":{GC.CollectionCount(0) - gc0}}}"));
    }
}
