using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tremor.Actors;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;
using AkkaCluster = Akka.Cluster.Cluster;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tremor.Cluster.Tests;

/// <summary>One cluster node of a test: its own actor system on a loopback port, its own plugin catalog and World.</summary>
public sealed record TestNode(string Name, IHost Host, ActorSystem System, IActorRef World, IActorRef Coordinator)
{
    /// <summary>The node's cluster address.</summary>
    public string Address => AkkaCluster.Get(System).SelfAddress.ToString();
}

/// <summary>
/// Starts several cluster nodes in this test process over real loopback sockets (port 0, the first node joins itself,
/// the others join it). Failure detection and the split brain resolver are tuned for tests here, not in the product
/// defaults. The TestKit's own system only drives AwaitAssert.
/// </summary>
public abstract class ClusterTestKit : TestKit, IAsyncLifetime
{
    private readonly List<TestNode> _nodes = [];

    protected ClusterTestKit()
        : base("akka.test.timefactor = 2\nakka.loglevel = WARNING")
    {
    }

    /// <summary>Where the build put the connector plugins.</summary>
    private static string PluginDir => PluginDiscovery.SearchDirectories([])[^1];

    /// <summary>The test settings of a node: loopback, port 0, fast failure detection.</summary>
    public static Config NodeConfig(IReadOnlyList<string> roles) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
          cluster {
            roles = [{{string.Join(", ", roles)}}]
            split-brain-resolver.stable-after = 2s
            failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
            gossip-interval = 300ms
            leader-actions-interval = 300ms
          }
          # Nodes are stopped together at the end of a test: no graceful leave to wait for.
          coordinated-shutdown.run-by-actor-system-terminate = off
        }
        """).WithFallback(TremorConfig.Reference);

    /// <summary>The flows of a HOCON text, as the cluster's desired state keeps them.</summary>
    protected static IReadOnlyList<FlowDefinition> Flows(string hocon)
    {
        var config = TremorConfig.Parse(hocon, "test.conf");
        return FlowDefinition.FromConfig(config, TremorConfig.ReadSettings(config, "test.conf").Flows);
    }

    /// <summary>Starts a node with the std plugin (metronome, null, ...) and, with <paramref name="withFile"/>, the file plugin; joins the first node.</summary>
    protected async Task<TestNode> StartNodeAsync(string name, IReadOnlyList<string> roles, bool withFile, IReadOnlyList<FlowDefinition> flows)
    {
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, new PluginSettings([], new Dictionary<string, string>(), false));
        foreach (var plugin in withFile ? new[] { "Tremor.Connectors.Std", "Tremor.Connectors.File" } : ["Tremor.Connectors.Std"])
        {
            var record = discovery.LoadOne(Path.Combine(PluginDir, plugin, plugin + ".dll"));
            Assert.True(record.Status == PluginStatus.Loaded, $"{plugin}: {record.Reason}");
        }
        catalog.RegisterConnector("tests", new DiscardFactory());
        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Wired as `tremor run` wires a cluster node: the World, then placement, on one Akka.Hosting builder.
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("tremor", akka =>
        {
            akka.AddHocon(NodeConfig(roles), HoconAddMode.Prepend);
            akka.WithActors((system, registry) => registry.Register<World>(
                system.ActorOf(World.Props(catalog, new RuntimeServices(new StringWriter(), new StringWriter()), DataPathSettings.Default, exit, keepRunning: true), "world")));
            akka.WithTremorCluster(catalog, TremorClusterSettings.Default with { Enabled = true }, flows, TimeSpan.FromMilliseconds(500));
        });
        var host = builder.Build();
        await host.StartAsync();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var system = host.Services.GetRequiredService<ActorSystem>();
        var node = new TestNode(name, host, system, await registry.GetAsync<World>(), await registry.GetAsync<PlacementCoordinator>());
        var seed = _nodes.Count == 0 ? AkkaCluster.Get(system).SelfAddress : AkkaCluster.Get(_nodes[0].System).SelfAddress;
        AkkaCluster.Get(system).Join(seed);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Waits until every started node sees all of them Up.</summary>
    protected async Task AwaitUpAsync()
    {
        await AwaitAssertAsync(() =>
        {
            foreach (var n in _nodes.Where(n => !n.System.WhenTerminated.IsCompleted))
            {
                Assert.Equal(_nodes.Count(x => !x.System.WhenTerminated.IsCompleted), AkkaCluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up));
            }
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
    }

    /// <summary>The flows deployed on <paramref name="node"/> (asked of its World: the edge of the runtime).</summary>
    protected static async Task<IReadOnlyList<string>> RunningOn(TestNode node)
    {
        var list = await node.World.Ask<World.FlowList>(new World.ListFlows(), TimeSpan.FromSeconds(10));
        return list.Flows.Select(f => f.Spec.Name).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The nodes running <paramref name="flow"/>.</summary>
    protected async Task<IReadOnlyList<string>> NodesRunning(string flow, IEnumerable<TestNode> nodes)
    {
        var result = new List<string>();
        foreach (var n in nodes)
        {
            if ((await RunningOn(n)).Contains(flow)) result.Add(n.Name);
        }
        return result;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.System.Terminate()));
        foreach (var n in _nodes) n.Host.Dispose();
    }
}
