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
