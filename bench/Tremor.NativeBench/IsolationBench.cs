using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native;
using Tremor.Native.Isolation;
using Tremor.Pdk;

namespace Tremor.NativeBench;

/// <summary>
/// isolation = process against in-process: ns/event of c-blackhole batches through the ISink adapter, and the restart
/// time of a plugin host process (SIGKILL of the child -> the first call answered by a new child).
/// Run: dotnet run -c Release --project bench/Tremor.NativeBench -- --isolation
/// </summary>
internal static class IsolationBench
{
    private const int Repetitions = 7;
    private const int Restarts = 10;
    private static readonly TimeSpan s_runTime = TimeSpan.FromMilliseconds(500);

    public static int Run()
    {
        var pluginDir = typeof(IsolationBench).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NativePluginDir").Value!;
        using var plugin = NativePluginLoader.Load(Path.Combine(pluginDir, "c-blackhole.so"));
        var options = new IsolationOptions(TimeSpan.FromSeconds(10), 256L << 20);
        var isolated = plugin.CreateIsolatedFactory(options);
        var context = new ConnectorContext(new QuietHost(), new PluginConfig("bench", null));

        Console.WriteLine($"Tremor.NativeBench --isolation  {RuntimeInformation.FrameworkDescription}  {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}  {Environment.ProcessorCount} cpus");
        Console.WriteLine($"plugin host: {((IsolatedConnectorFactory)isolated).HostPath}");
        Console.WriteLine($"median of {Repetitions} runs of {s_runTime.TotalMilliseconds} ms each; payload {{\"count\":N}} (~13 bytes); c-blackhole counting");
        Console.WriteLine();
        Console.WriteLine("| batch | isolation  | ns/event | ns/batch (µs) | vs in-process |");
        Console.WriteLine("|------:|------------|---------:|--------------:|--------------:|");
        foreach (var size in new[] { 64, 1024 })
        {
            var batch = MakeBatch(size);
            var inProcess = MeasureSink(plugin.ConnectorFactory, context, batch);
            var process = MeasureSink(isolated, context, batch);
            Row(size, "in-process", inProcess, inProcess);
            Row(size, "process", process, inProcess);
        }

        Console.WriteLine();
        var restarts = MeasureRestarts(isolated, context);
        Array.Sort(restarts);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"restart (SIGKILL of the plugin host -> failed call -> dispose -> Create + ConnectAsync -> first batch of 1024 answered), {Restarts} runs: median {restarts[Restarts / 2]:F2} ms, min {restarts[0]:F2} ms, max {restarts[^1]:F2} ms"));
        var cold = MeasureCreate(isolated, context);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"start only (Create + ConnectAsync of a new plugin host), median of {Restarts}: {cold:F2} ms"));
        return 0;
    }

    private static void Row(int size, string name, double nsPerEvent, double baseline) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {size,5} | {name,-10} | {nsPerEvent,8:F2} | {nsPerEvent * size / 1000,13:F2} | {nsPerEvent / baseline,12:F2}x |"));

    private static double MeasureSink(IConnectorFactory factory, ConnectorContext context, SinkBatch batch)
    {
        var connector = factory.Create(context);
        try
        {
            if (!connector.ConnectAsync(1, default).AsTask().GetAwaiter().GetResult()) throw new InvalidOperationException("connect failed");
            var sink = connector.Sink!;
            for (var i = 0; i < 5_000; i++) Send(sink, batch); // warm-up through tiered compilation
            var results = new double[Repetitions];
            for (var r = 0; r < Repetitions; r++)
            {
                long batches = 0;
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed < s_runTime)
                {
                    for (var i = 0; i < 64; i++) Send(sink, batch);
                    batches += 64;
                }
                watch.Stop();
                results[r] = watch.Elapsed.TotalNanoseconds / (batches * (double)batch.Count);
            }
            Array.Sort(results);
            return results[Repetitions / 2];
        }
        finally
        {
            connector.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Send(ISink sink, SinkBatch batch)
    {
        if (sink.OnBatchAsync(batch, default).Result.Status != SinkStatus.Ack) throw new InvalidOperationException("batch not acked");
    }

    /// <summary>What a crash costs: from the SIGKILL to the first batch the replacement answered (what the runtime does, minus its backoff).</summary>
    private static double[] MeasureRestarts(IConnectorFactory factory, ConnectorContext context)
    {
        var batch = MakeBatch(1024);
        var results = new double[Restarts];
        var connector = (IsolatedConnector)factory.Create(context);
        connector.ConnectAsync(1, default).AsTask().GetAwaiter().GetResult();
        Send(connector.Sink!, batch);
        for (var r = 0; r < Restarts; r++)
        {
            using var child = Process.GetProcessById(connector.ProcessId);
            var watch = Stopwatch.StartNew();
            child.Kill();
            try
            {
                Send(connector.Sink!, batch);
                throw new InvalidOperationException("the call after the kill did not fail");
            }
            catch (NativePluginException)
            {
            }
            connector.DisposeAsync().AsTask().GetAwaiter().GetResult();
            connector = (IsolatedConnector)factory.Create(context);
            connector.ConnectAsync(1, default).AsTask().GetAwaiter().GetResult();
            Send(connector.Sink!, batch);
            watch.Stop();
            results[r] = watch.Elapsed.TotalMilliseconds;
        }
        connector.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return results;
    }

    private static double MeasureCreate(IConnectorFactory factory, ConnectorContext context)
    {
        var results = new double[Restarts];
        for (var r = 0; r < Restarts; r++)
        {
            var watch = Stopwatch.StartNew();
            var connector = factory.Create(context);
            connector.ConnectAsync(1, default).AsTask().GetAwaiter().GetResult();
            watch.Stop();
            results[r] = watch.Elapsed.TotalMilliseconds;
            connector.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        Array.Sort(results);
        return results[Restarts / 2];
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

    private sealed class QuietHost : IPluginHost
    {
        public string Alias => "bench::isolated";
        public TextWriter Out => TextWriter.Null;
        public TextWriter Error => TextWriter.Null;
        public void Log(PluginLogLevel level, string message) { }
        public ulong NowNs() => 0;
        public void RequestShutdown(int exitCode, string reason) { }
        public void Ack(IReadOnlyList<EventId> ids) { }
        public void Fail(IReadOnlyList<EventId> ids, string reason) { }
    }
}
