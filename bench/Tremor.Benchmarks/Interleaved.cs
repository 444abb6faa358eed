using System.Runtime.InteropServices;
using System.Globalization;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// A/B of the JSON codec against its frozen baseline (Baseline/), interleaved: every round times each variant once
/// over all records, so load from other processes on a shared machine hits both alike; time is the thread's CPU time
/// (Linux), so being descheduled by other processes does not count. Prints the median per-record time of each, the
/// median of the per-round ratios, and the bytes allocated per record (deterministic).
/// <c>dotnet run -c Release --project bench/Tremor.Benchmarks -- --interleaved [rounds]</c>; <c>--interleaved-msgpack</c>
/// does the same for the msgpack codec.
/// </summary>
internal static class Interleaved
{
    public static void Run(int rounds)
    {
        var lines = BenchData.JsonLines();
        var codec = new JsonCodec();
        var values = lines.Select(l => codec.TryDecode(l.AsSpan(), out var v, out _) ? v : default).ToArray();
        var baselineValues = lines.Select(l => Baseline.JsonDecoder.TryDecode(l, out var v, out _) ? v : default).ToArray();
        using var output = new PooledBufferWriter(128 * 1024);
        const int Repeat = 50;
        var records = lines.Length * Repeat;

        void DecodeNew()
        {
            for (var r = 0; r < Repeat; r++)
            {
                foreach (var line in lines) codec.TryDecode(line.AsSpan(), out _, out _);
            }
        }

        void DecodeOld()
        {
            for (var r = 0; r < Repeat; r++)
            {
                foreach (var line in lines) Baseline.JsonDecoder.TryDecode(line, out _, out _);
            }
        }

        // The decoder on Utf8JsonReader alone (its fallback when the scanner gives up): the "scan" row's baseline.
        void DecodeReader()
        {
            for (var r = 0; r < Repeat; r++)
            {
                foreach (var line in lines) JsonDecoder.TryDecodeWithReader(line, out _, out _);
            }
        }

        void EncodeNew()
        {
            for (var r = 0; r < Repeat; r++)
            {
                output.Reset();
                foreach (var value in values) codec.Encode(value, output);
            }
        }

        void EncodeOld()
        {
            for (var r = 0; r < Repeat; r++)
            {
                output.Reset();
                foreach (var value in baselineValues) Baseline.JsonEncoder.Encode(value, output);
            }
        }

        Compare("json", [("decode", DecodeOld, DecodeNew), ("scan", DecodeReader, DecodeNew), ("encode", EncodeOld, EncodeNew)], rounds, records);
    }

    /// <summary>
    /// The same A/B for the msgpack codec against its frozen copy (Baseline/MsgpackCodec.cs): data.json's records as
    /// MessagePack, decoded and encoded again (the passthrough-msgpack path without base64).
    /// <c>dotnet run -c Release --project bench/Tremor.Benchmarks -- --interleaved-msgpack [rounds]</c>.
    /// </summary>
    public static void RunMsgpack(int rounds)
    {
        var json = new JsonCodec();
        var codec = new MsgpackCodec();
        var baseline = new Baseline.MsgpackCodec();
        var lines = BenchData.JsonLines().Select(l =>
        {
            json.TryDecode(l.AsSpan(), out var v, out _);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            codec.Encode(v, buffer);
            return buffer.WrittenMemory;
        }).ToArray();
        var values = lines.Select(l => codec.TryDecode(l, out var v, out _) ? v : default).ToArray();
        var baselineValues = lines.Select(l => baseline.TryDecode(l, out var v, out _) ? v : default).ToArray();
        using var output = new PooledBufferWriter(128 * 1024);
        const int Repeat = 50;
        var records = lines.Length * Repeat;

        void Decode(ICodec c)
        {
            for (var r = 0; r < Repeat; r++)
            {
                foreach (var line in lines) c.TryDecode(line, out _, out _);
            }
        }

        void Encode(ICodec c, Value[] vs)
        {
            for (var r = 0; r < Repeat; r++)
            {
                output.Reset();
                foreach (var value in vs) c.Encode(value, output);
            }
        }

        Compare("msgpack", [("decode", () => Decode(baseline), () => Decode(codec)), ("encode", () => Encode(baseline, baselineValues), () => Encode(codec, values))], rounds, records);
    }

    private static void Compare(string codecName, (string Name, Action Old, Action New)[] cases, int rounds, int records)
    {
        Sample Time(Action body)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var cpu = ThreadCpuNs();
            body();
            var ns = (ThreadCpuNs() - cpu) / (double)records;
            return new Sample(ns, (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)records);
        }

        foreach (var (_, old, @new) in cases)
        {
            for (var w = 0; w < 20; w++)
            {
                old();
                @new();
            }
        }
        Console.WriteLine($"Interleaved A/B of {codecName}, {rounds} rounds of {records} records each ({BenchData.AverageRecordBytes:F0} bytes per record on average); medians:");
        Console.WriteLine($"{"case",-8} {"baseline ns",12} {"new ns",10} {"new/base",9} {"base B",8} {"new B",8} {"base MB/s",10} {"new MB/s",10}");
        foreach (var (name, old, @new) in cases)
        {
            var oldNs = new List<double>();
            var newNs = new List<double>();
            var ratios = new List<double>();
            double oldBytes = 0, newBytes = 0;
            for (var round = 0; round < rounds; round++)
            {
                // Alternate which variant goes first, so neither always runs right after a collection the other caused.
                var (a, b) = round % 2 == 0 ? (Time(old), Time(@new)) : Swap(Time(@new), Time(old));
                oldNs.Add(a.Ns);
                newNs.Add(b.Ns);
                ratios.Add(b.Ns / a.Ns);
                oldBytes = a.Bytes;
                newBytes = b.Bytes;
            }
            var mbOld = BenchData.AverageRecordBytes / Median(oldNs) * 1e3;
            var mbNew = BenchData.AverageRecordBytes / Median(newNs) * 1e3;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-8} {Median(oldNs),12:F1} {Median(newNs),10:F1} {Median(ratios),9:F3} {oldBytes,8:F0} {newBytes,8:F0} {mbOld,10:F1} {mbNew,10:F1}"));
        }
    }

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ns.</summary>
    private static long ThreadCpuNs()
    {
        if (clock_gettime(3, out var ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed (Linux only)");
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static (Sample, Sample) Swap(Sample first, Sample second) => (second, first);

    private readonly record struct Sample(double Ns, double Bytes);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
