using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.NativeBench;

/// <summary>
/// Quick harness (no BenchmarkDotNet yet): ns/event of one native sink batch call, amortised over batches of 64 and
/// 1024 events, against a bare function-pointer call to a trivial C function measured the same way.
/// Run: dotnet run -c Release --project bench/Tremor.NativeBench   (isolation = process vs in-process: add -- --isolation)
/// </summary>
internal static unsafe class Program
{
    private const int Repetitions = 7;
    private static readonly TimeSpan s_runTime = TimeSpan.FromMilliseconds(250);

    private static int Main(string[] args)
    {
        if (args is ["--isolation"]) return IsolationBench.Run();
        var pluginDir = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NativePluginDir").Value!;
        var trivialPath = Path.Combine(AppContext.BaseDirectory, "libbench_trivial.so");
        var trivialLib = NativeLibrary.Load(trivialPath);
        var trivial = (delegate* unmanaged[Cdecl]<void*, TremorSinkBatch*, TremorErr*, int>)NativeLibrary.GetExport(trivialLib, "bench_trivial");

        using var plugin = NativePluginLoader.Load(Path.Combine(pluginDir, "c-blackhole.so"));
        var host = new QuietHost();

        Console.WriteLine($"Tremor.NativeBench  {RuntimeInformation.FrameworkDescription}  {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}  {Environment.ProcessorCount} cpus");
        Console.WriteLine($"median of {Repetitions} runs of {s_runTime.TotalMilliseconds} ms each; payload {{\"count\":N}} (~13 bytes)");
        Console.WriteLine();
        Console.WriteLine("| batch | case                                          | ns/event | ns/batch | vs bare call | vs bare call + slices |");
        Console.WriteLine("|------:|-----------------------------------------------|---------:|---------:|-------------:|----------------------:|");

        foreach (var size in new[] { 64, 1024 })
        {
            var batch = MakeBatch(size);
            var slices = (TremorSinkSlice*)NativeMemory.Alloc((nuint)size, (nuint)sizeof(TremorSinkSlice));
            var pin = batch.Bytes.Pin();
            FillSlices(batch, slices, (byte*)pin.Pointer);
            var errBuffer = (byte*)NativeMemory.Alloc(256);

            // 1. The bare call: a prepared batch struct, one function-pointer call per batch.
            var bare = Measure(size, () =>
            {
                var err = new TremorErr { Ptr = errBuffer, Cap = 256 };
                var native = new TremorSinkBatch { Size = (uint)sizeof(TremorSinkBatch), Count = (uint)size, Slices = slices, Bytes = (byte*)pin.Pointer, BytesLen = (nuint)batch.Bytes.Length };
                if (trivial(null, &native, &err) != 0) throw new InvalidOperationException();
            });

            // 2. The bare call plus what any binding must do per event: pin the bytes, fill one slice per event.
            var bareSlices = Measure(size, () =>
            {
                using var p = batch.Bytes.Pin();
                FillSlices(batch, slices, (byte*)p.Pointer);
                var err = new TremorErr { Ptr = errBuffer, Cap = 256 };
                var native = new TremorSinkBatch { Size = (uint)sizeof(TremorSinkBatch), Count = (uint)size, Slices = slices, Bytes = (byte*)p.Pointer, BytesLen = (nuint)batch.Bytes.Length };
                if (trivial(null, &native, &err) != 0) throw new InvalidOperationException();
            });

            // 3. The real thing: ISink.OnBatchAsync of the adapter into c-blackhole (counts events and bytes).
            var connector = plugin.ConnectorFactory.Create(new ConnectorContext(host, new PluginConfig("bench", null)));
            var sink = connector.Sink!;
            var native = Measure(size, () =>
            {
                var reply = sink.OnBatchAsync(batch, default);
                if (reply.Result.Status != SinkStatus.Ack) throw new InvalidOperationException();
            });
            connector.DisposeAsync().AsTask().GetAwaiter().GetResult();

            // 4. A managed sink doing the same work (count events and bytes), through the same interface.
            ISink managed = new ManagedCountingSink();
            var managedResult = Measure(size, () =>
            {
                var reply = managed.OnBatchAsync(batch, default);
                if (reply.Result.Status != SinkStatus.Ack) throw new InvalidOperationException();
            });

            Row(size, "bare delegate* call to a trivial C function", bare, bare, bareSlices);
            Row(size, "bare call + pin + fill slices", bareSlices, bare, bareSlices);
            Row(size, "native c-blackhole via ISink adapter", native, bare, bareSlices);
            Row(size, "managed counting sink via ISink", managedResult, bare, bareSlices);
            pin.Dispose();
            NativeMemory.Free(slices);
            NativeMemory.Free(errBuffer);
        }

        Console.WriteLine();
        Console.WriteLine("Throughput of the native sink relative to the managed one is ns(managed)/ns(native) per event.");
        NativeLibrary.Free(trivialLib);
        return 0;
    }

    private static void Row(int size, string name, double nsPerEvent, double bare, double bareSlices) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {size,5} | {name,-45} | {nsPerEvent,8:F2} | {nsPerEvent * size,8:F1} | {nsPerEvent / bare,11:F2}x | {nsPerEvent / bareSlices,20:F2}x |"));

    /// <summary>Median ns/event over repetitions; each repetition runs whole batches for <see cref="s_runTime"/>.</summary>
    private static double Measure(int batchSize, Action oneBatch)
    {
        for (var i = 0; i < 20_000; i++) oneBatch(); // warm-up through tiered compilation
        var results = new double[Repetitions];
        for (var r = 0; r < Repetitions; r++)
        {
            long batches = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < s_runTime)
            {
                for (var i = 0; i < 256; i++) oneBatch();
                batches += 256;
            }
            watch.Stop();
            results[r] = watch.Elapsed.TotalNanoseconds / (batches * (double)batchSize);
        }
        Array.Sort(results);
        return results[Repetitions / 2];
    }

    private static SinkBatch MakeBatch(int size)
    {
        var bytes = new byte[size * 32];
        var events = new List<SinkEvent>(size);
        var offset = 0;
        for (var i = 0; i < size; i++)
        {
            var len = Encoding.UTF8.GetBytes($"{{\"count\":{i}}}", bytes.AsSpan(offset));
            var id = new EventId(1, 0, (ulong)i, (ulong)i);
            events.Add(new SinkEvent(id, 1, bytes.AsMemory(offset, len), new Event { Id = id, IngestNs = 1 }));
            offset += len;
        }
        return new SinkBatch(events, bytes.AsMemory(0, offset));
    }

    /// <summary>The per-event work any binding does: one slice per event pointing into the pinned bytes (as the adapter does it).</summary>
    private static void FillSlices(SinkBatch batch, TremorSinkSlice* slices, byte* basePtr)
    {
        var bytes = batch.Bytes;
        var events = CollectionsMarshal.AsSpan((List<SinkEvent>)batch.Events);
        var running = 0;
        for (var i = 0; i < events.Length; i++)
        {
            ref readonly var ev = ref events[i];
            var len = ev.Payload.Length;
            if (!ev.Payload.Equals(bytes.Slice(running, len))) throw new InvalidOperationException("not back to back");
            ref var slice = ref slices[i];
            slice.Data = basePtr + running;
            slice.Len = (nuint)len;
            slice.EventId = ev.Id.Sequence;
            slice.IngestNs = ev.IngestNs;
            running += len;
        }
    }

    private sealed class ManagedCountingSink : ISink
    {
        private long _events;
        private long _bytes;

        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            foreach (var ev in batch.Events) _bytes += ev.Payload.Length;
            _events += batch.Count;
            return ValueTask.FromResult(SinkReply.Acked);
        }

        public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class QuietHost : IPluginHost
    {
        public string Alias => "bench::native";
        public TextWriter Out => TextWriter.Null;
        public TextWriter Error => TextWriter.Null;
        public void Log(PluginLogLevel level, string message) { }
        public ulong NowNs() => 0;
        public void RequestShutdown(int exitCode, string reason) { }
        public void Ack(IReadOnlyList<EventId> ids) { }
        public void Fail(IReadOnlyList<EventId> ids, string reason) { }
    }
}
