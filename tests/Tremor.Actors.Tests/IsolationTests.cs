using System.Text.Json;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;

namespace Tremor.Actors.Tests;

/// <summary>
/// isolation = process through the whole runtime: the same native .so in a plugin host process, crashing on purpose;
/// the proxy actor restarts it, quarantine isolates the poison events, nothing else is lost, this process lives on.
/// </summary>
public sealed class IsolationTests : TremorTestKit
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-isolation-").FullName;

    private static readonly PluginSettings NoTrust = new([], new Dictionary<string, string>(), false);

    private FlowSpec CrashingFlow(string mode, string output, string extra = "") => Flow("f", $$"""
        connectors {
          src { type = test-source }
          snk {
            type = c-crasher
            isolation = process
            call-timeout = 2s
            quarantine-after = 2
            config { mode = {{mode}}, marker = ":57}", path = "{{output}}" }
            restart { min-backoff = 5ms, max-backoff = 20ms, max-restarts = 3 }
            {{extra}}
          }
          bad { type = err-sink }
        }
        pipelines { main { type = passthrough } }
        links = ["src -> main", "main -> snk", "snk/err -> bad"]
        """);

    private static HashSet<long> Delivered(string file) =>
        File.ReadLines(file).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("n").GetInt64()).ToHashSet();

    [Theory]
    [InlineData("segfault", "SIGSEGV")]
    [InlineData("abort", "SIGABRT")]
    [InlineData("hang", "call-timeout")]
    [InlineData("fork-segfault", "SIGSEGV")] // a forked child holds the control pipe and exits later
    [InlineData("fork-forever", "SIGSEGV")] // ... or never: the death is noticed anyway, the drain finishes
    public async Task A_plugin_that_crashes_on_one_event_is_restarted_and_only_that_event_goes_to_err(string mode, string why)
    {
        new PluginDiscovery(Catalog, NoTrust).DiscoverAll([]);
        var source = new TestSourceFactory { Total = 120, Transactional = true, ChunksPerPull = 20 };
        var errors = new TestSinkFactory("err-sink");
        Register(source);
        Register(errors);
        var output = Path.Combine(_dir, $"{mode}.jsonl");
        var (_, exit) = Deploy(CrashingFlow(mode, output), DataPath(batchSize: 20, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(120)));

        // At least once: every event but the poison one reached the sink (a crashed batch may repeat some).
        var expected = Enumerable.Range(0, 120).Select(i => (long)i).Where(i => i != 57).ToHashSet();
        var delivered = Delivered(output);
        Assert.True(expected.SetEquals(delivered), $"missing: {string.Join(",", expected.Except(delivered))}; unexpected: {string.Join(",", delivered.Except(expected))}");
        Assert.Equal([57L], errors.Received.Keys);
        AwaitAssert(() => Assert.Contains(57UL, source.Failed));
        var status = await Sys.ActorSelection("/user/world/connectors/f.snk").Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
        Assert.True(status.Restarts >= 2, status.ToString());
        Assert.Contains(why, status.LastError);
        Assert.NotEqual(ConnectorState.Failed, status.State);
    }

    [Fact]
    public async Task A_host_crash_with_the_next_call_pipelined_loses_nothing_and_keeps_the_order()
    {
        new PluginDiscovery(Catalog, NoTrust).DiscoverAll([]);
        // Many small batches and credit for several: the outbox has a call ready behind each one the host works on.
        var source = new TestSourceFactory { Total = 400, Transactional = true, ChunksPerPull = 10 };
        var errors = new TestSinkFactory("err-sink");
        Register(source);
        Register(errors);
        var output = Path.Combine(_dir, "pipelined.jsonl");
        var (_, exit) = Deploy(CrashingFlow("segfault", output), DataPath(batchSize: 10, credits: 8));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(120)));

        // c-crasher checks a whole batch before writing any of it: a call that died wrote nothing, so the file holds
        // every event but the poison one exactly once, and in the order the source made them.
        var lines = File.ReadLines(output).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("n").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i).Where(i => i != 57), lines);
        Assert.Equal([57L], errors.Received.Keys);
        AwaitAssert(() => Assert.Equal(399, source.Acked.Count));
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("process")]
    public async Task Two_sources_into_one_async_native_sink_each_get_their_own_acks(string isolation)
    {
        var records = new PluginDiscovery(Catalog, NoTrust).DiscoverAll([]);
        var rust = Assert.Single(records, r => r.Name == "rust-sink" || r.Path.EndsWith("rust-sink.so", StringComparison.Ordinal));
        Assert.True(rust.Status == PluginStatus.Loaded, $"rust-sink: {rust.Status}: {rust.Reason}");
        // Both emit sequences 0..39: an ack keyed by sequence alone would land on one of them only. Isolated, acks
        // arrive with the next call, so both sources' batches are pending together every time; in-process that
        // depends on the ack thread's timing (CallbackTests has one batch holding both sources for certain).
        var first = new TestSourceFactory { Type = "test-source-a", Total = 40, Transactional = true, ChunksPerPull = 8 };
        var second = new TestSourceFactory { Type = "test-source-b", Total = 40, Transactional = true, ChunksPerPull = 8 };
        Register(first);
        Register(second);
        var flow = Flow("f", $$"""
            connectors {
              a { type = test-source-a }
              b { type = test-source-b }
              snk { type = rust-sink, isolation = {{isolation}}, config { async = true } }
            }
            pipelines { main { type = passthrough } }
            links = ["a -> main", "b -> main", "main -> snk"]
            """);
        var (_, exit) = Deploy(flow, DataPath(batchSize: 16, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));

        var all = Enumerable.Range(0, 40).Select(i => (ulong)i).ToList();
        AwaitAssert(() => Assert.Equal(all, first.Acked.Order()));
        AwaitAssert(() => Assert.Equal(all, second.Acked.Order()));
        Assert.Empty(first.Failed);
        Assert.Empty(second.Failed);
    }

    [Fact]
    public async Task Isolation_process_for_a_managed_connector_is_refused_at_deploy()
    {
        new PluginDiscovery(Catalog, NoTrust).DiscoverAll([]);
        Register(new TestSourceFactory());
        var flow = Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = blackhole, isolation = process }
            }
            links = ["src -> snk"]
            """);
        var exit = new TaskCompletionSource<int>();
        var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit));
        world.Tell(new World.DeployFlow(flow), TestActor);
        var refused = await ExpectMsgAsync<World.DeployFailed>();
        Assert.Contains("tremor.flows.f.connectors.snk.isolation", refused.Reason);
        Assert.Contains("managed plugin", refused.Reason);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
