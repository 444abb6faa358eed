using System.Text.Json;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;

namespace Tremor.Actors.Tests;

/// <summary>Real native plugins (built from C and Rust by the normal build), loaded by discovery, behind the proxy actor.</summary>
public sealed class NativeSupervisionTests : TremorTestKit
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-native-").FullName;

    private void DiscoverNative()
    {
        var discovery = new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false));
        var records = discovery.DiscoverAll([]);
        Assert.Contains(records, r => r.Name == "c-blackhole" && r.Status == PluginStatus.Loaded);
        Assert.Contains(records, r => r.Name == "rust-sink" && r.Status == PluginStatus.Loaded);
    }

    [Fact]
    public async Task A_native_sink_that_errors_is_restarted_with_backoff_and_no_event_is_lost()
    {
        DiscoverNative();
        var source = new TestSourceFactory { Total = 600, ChunksPerPull = 100 };
        Register(source);
        var output = Path.Combine(_dir, "out.jsonl");
        var flow = Flow("f", $$"""
            connectors {
              src { type = test-source }
              snk {
                type = c-blackhole
                config { path = "{{output}}", fail-every = 4 }
                restart { min-backoff = 10ms, max-backoff = 50ms, max-restarts = 20 }
              }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """);
        var (world, exit) = Deploy(flow, DataPath(batchSize: 100, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));

        var seen = File.ReadLines(output).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("n").GetInt64()).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i).ToHashSet(), seen);
        var status = await Sys.ActorSelection("/user/world/connectors/f.snk").Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
        Assert.True(status.Restarts >= 1, $"expected restarts, status: {status}");
        Assert.Contains("fail-every", status.LastError);
    }

    [Fact]
    public async Task A_rust_panic_is_an_error_the_proxy_restarts_not_an_abort()
    {
        DiscoverNative();
        var source = new TestSourceFactory { Total = 300, ChunksPerPull = 100 };
        Register(source);
        var flow = Flow("f", """
            connectors {
              src { type = test-source }
              snk {
                type = rust-sink
                config { panic-on-batch = 2 }
                restart { min-backoff = 10ms, max-backoff = 50ms, max-restarts = 20 }
              }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """);
        var (_, exit) = Deploy(flow, DataPath(batchSize: 100, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        var status = await Sys.ActorSelection("/user/world/connectors/f.snk").Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
        Assert.True(status.Restarts >= 1, $"expected restarts, status: {status}");
        Assert.Contains("panic", status.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(ConnectorState.Failed, status.State);
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
