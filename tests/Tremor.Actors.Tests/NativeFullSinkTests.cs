using System.Diagnostics;
using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;

namespace Tremor.Actors.Tests;

/// <summary>
/// A native sink that answers TREMOR_FULL (ABI 1.2) in a flow, in process and isolated: the batch is kept, the
/// breaker opens upstream, the sink's own source side drains it and host->sink_has_room brings the batch back.
/// The plugin (tests/Tremor.Native.Tests/native/full_queue.c) is compiled by the test.
/// </summary>
public sealed class NativeFullSinkTests : TremorTestKit
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-full-sink-").FullName;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_dir, recursive: true);
    }

    private string BuildFullQueue()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Tremor.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"no Tremor.sln above {AppContext.BaseDirectory}");
        var output = Path.Combine(_dir, "c-full-queue.so");
        using var gcc = Process.Start(new ProcessStartInfo("gcc")
        {
            ArgumentList =
            {
                "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                "-I", Path.Combine(root, "Tremor.Native", "include"), "-I", Path.Combine(root, "connectors", "native", "common"),
                "-o", output, Path.Combine(root, "tests", "Tremor.Native.Tests", "native", "full_queue.c"),
            },
            RedirectStandardError = true,
        })!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        Assert.True(gcc.ExitCode == 0, errors);
        return output;
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("process")]
    public async Task A_full_native_sink_holds_the_source_back_fails_nothing_and_every_event_arrives_once(string isolation)
    {
        var record = new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false)).LoadOne(BuildFullQueue());
        Assert.True(record.Status == PluginStatus.Loaded, record.Reason);
        const int total = 200;
        var source = new TestSourceFactory { Total = total, Transactional = true };
        // The sink after the queue takes nothing until released: the queue's source side stops (no credit), the
        // queue fills and answers full.
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, KeepEvents = true };
        Register(source);
        Register(sink);
        Deploy(Flow("f", $$"""
            connectors {
              src { type = test-source }
              queue { type = c-full-queue, isolation = {{isolation}}, config { capacity = 30 } }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> queue", "queue -> snk"]
            """), DataPath(batchSize: 10, credits: 2));

        await AwaitAssertAsync(async () => Assert.True((await ConnectorStatus("f.src")).CircuitBreakerOpen), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        Assert.Contains("the queue holds", (await ConnectorStatus("f.queue")).LastError);
        Assert.Empty(source.Failed);
        Assert.True(source.Emitted < total, $"the source was held back, yet emitted all {source.Emitted}");

        gate.Release(10_000);
        AwaitCondition(() => sink.ReceivedCount == total && source.Acked.Count == total, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        Assert.All(sink.Received.Values, count => Assert.Equal(1, count));
        // In the order the source made them: isolated, a batch pipelined behind one the queue refused as full is not
        // offered to it, so it cannot overtake the refused one.
        Assert.Equal(Enumerable.Range(0, total).Select(n => (long)n), sink.Events.Select(e => e.Data["n"].TryGetI64(out var n) ? n : -1));
        Assert.Empty(source.Failed);
        await AwaitAssertAsync(async () => Assert.False((await ConnectorStatus("f.src")).CircuitBreakerOpen), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
    }
}
