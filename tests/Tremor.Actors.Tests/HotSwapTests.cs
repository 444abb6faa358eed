using System.Runtime.CompilerServices;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;

namespace Tremor.Actors.Tests;

public sealed class HotSwapTests : TremorTestKit
{
    // Two paths from one source: raw events to `out`, and counts of tumbling windows of ten to `counts`; both sinks
    // belong to the plugin that is swapped, the source to another.
    private const string TwoPaths = """
        connectors {
          src { type = test-source }
          out { type = swap-sink }
          counts { type = count-sink }
        }
        pipelines {
          raw { type = passthrough }
          win {
            query = "define window ten from tumbling with size = 10 end; select { \"n\": aggr::stats::count() } from in[ten] into out;"
          }
        }
        links = ["src -> raw", "raw -> out", "src -> win", "win -> counts"]
        """;

    [Fact]
    public async Task Swapping_a_sink_plugin_mid_stream_restarts_only_its_connectors_and_delivers_every_event_once()
    {
        var source = new TestSourceFactory { Total = 200 };
        var gate = new SemaphoreSlim(0);
        var outV1 = new TestSinkFactory("swap-sink") { Gate = gate };
        var countsV1 = new TestSinkFactory("count-sink");
        Catalog.RegisterConnector("sources", source);
        Catalog.RegisterConnector("sinks", outV1);
        Catalog.RegisterConnector("sinks", countsV1);
        var (world, exit) = Deploy(Flow("f", TwoPaths));

        // Three batches through the first version; the fourth waits in it (in flight) when the swap begins.
        gate.Release(3);
        AwaitCondition(() => outV1.ReceivedCount == 30 && Volatile.Read(ref outV1.Calls) == 4);
        var outV2 = new TestSinkFactory("swap-sink");
        var countsV2 = new TestSinkFactory("count-sink");
        Catalog.RegisterConnector("sinks", outV2);
        Catalog.RegisterConnector("sinks", countsV2);
        world.Tell(new World.SwapPlugin("sinks", ["swap-sink", "count-sink"]), TestActor);
        // The old instance is in a call (the fourth batch, held by the gate) when the swap begins; it finishes that call.
        AwaitCondition(() => ConnectorState("f", "out") == Connectors.ConnectorState.Swapping);
        Assert.Equal(4, Volatile.Read(ref outV1.Calls));
        gate.Release(1);
        var swapped = ExpectMsg<World.PluginSwapped>();
        Assert.Equal(["f::counts", "f::out"], swapped.Restarted);
        Assert.Empty(swapped.StillSwapping);

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        // Every event once, across both versions: the batch in flight at the swap went through the old one, what waited
        // in the outbox through the new one.
        var received = outV1.Received.Concat(outV2.Received).ToList();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), received.Select(kv => kv.Key).Order());
        Assert.All(received, kv => Assert.Equal(1, kv.Value));
        Assert.True(outV1.ReceivedCount >= 30 && outV2.ReceivedCount > 0, $"old version {outV1.ReceivedCount}, new {outV2.ReceivedCount}");
        // The pipeline kept its window: twenty full windows of ten, none cut short by the swap.
        Assert.Equal([10L], countsV1.Received.Keys.Concat(countsV2.Received.Keys).Distinct());
        Assert.Equal(20, countsV1.Received.GetValueOrDefault(10) + countsV2.Received.GetValueOrDefault(10));
        // The source (another plugin) was neither restarted nor reconnected.
        Assert.Equal(1, source.ConnectAttempts);
        // The old instances were ended and disposed at the swap; one new instance each (no deploy check for a swap).
        Assert.Equal(1, outV1.Ends);
        Assert.Equal(1, countsV1.Ends);
        Assert.Equal(1, Volatile.Read(ref outV2.Instances));
        Assert.Equal(1, outV2.Ends);
    }

    [Fact]
    public void A_paused_connector_stays_paused_after_its_plugin_was_swapped_and_a_connector_not_yet_started_takes_the_new_factory()
    {
        var source = new TestSourceFactory { Total = null };
        var sinkV1 = new TestSinkFactory("swap-sink");
        Catalog.RegisterConnector("sources", source);
        Catalog.RegisterConnector("sinks", sinkV1);
        var (world, _) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              out { type = swap-sink }
            }
            pipelines { raw { type = passthrough } }
            links = ["src -> raw", "raw -> out"]
            """));
        AwaitCondition(() => sinkV1.ReceivedCount > 0);
        world.Tell(new FlowManager.SendTo("f", new FlowActor.PauseFlow()));
        AwaitCondition(() => ConnectorState("f", "out") == Connectors.ConnectorState.Paused);

        var sinkV2 = new TestSinkFactory("swap-sink");
        Catalog.RegisterConnector("sinks", sinkV2);
        world.Tell(new World.SwapPlugin("sinks", ["swap-sink"]), TestActor);
        Assert.Equal(["f::out"], ExpectMsg<World.PluginSwapped>().Restarted);
        AwaitCondition(() => ConnectorState("f", "out") == Connectors.ConnectorState.Paused);
        Assert.Equal(0, sinkV2.ReceivedCount);

        world.Tell(new FlowManager.SendTo("f", new FlowActor.ResumeFlow()));
        AwaitCondition(() => sinkV2.ReceivedCount > 0);
        Assert.Equal(1, source.ConnectAttempts);
    }

    [Fact]
    public void The_old_version_s_load_context_is_collected_once_its_connectors_run_the_new_one()
    {
        var discovery = new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false));
        var std = Path.Combine(PluginDiscovery.SearchDirectories([])[^1], "Tremor.Connectors.Std", "Tremor.Connectors.Std.dll");
        Assert.Equal(PluginStatus.Loaded, discovery.LoadOne(std).Status);
        var sink = new TestSinkFactory();
        Catalog.RegisterConnector("sinks", sink);
        var flow = Flow("f", """
            connectors {
              tick { type = metronome, config { interval = 1ms } }
              out { type = test-sink, codec = json }
            }
            pipelines { main { type = passthrough } }
            links = ["tick -> main", "main -> out"]
            """);
        var (world, _) = Deploy(flow);
        AwaitCondition(() => Volatile.Read(ref sink.Calls) > 0);

        var old = SwapStd(discovery, std, world, flow);
        var calls = Volatile.Read(ref sink.Calls);
        AwaitCondition(() => Volatile.Read(ref sink.Calls) > calls); // the new version's metronome ticks
        for (var round = 0; round < 10 && old.IsAlive; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(old.IsAlive, "the old version's load context is still reachable after the swap");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference SwapStd(PluginDiscovery discovery, string path, Akka.Actor.IActorRef world, FlowSpec flow)
    {
        var old = discovery.LoadContextReference("std")!;
        using var staged = discovery.Stage(path);
        staged.CheckReplaces("std", Catalog, [flow]);
        var retired = discovery.Replace("std", staged);
        world.Tell(new World.SwapPlugin("std", staged.Connectors.Select(c => c.Type).ToList()), TestActor);
        Assert.Equal(["f::tick"], ExpectMsg<World.PluginSwapped>().Restarted);
        retired!.Dispose();
        return old;
    }

    private ConnectorState? ConnectorState(string flow, string connector)
    {
        var status = Sys.ActorSelection($"/user/world/connectors/{ConnectorManager.ActorName($"{flow}::{connector}")}")
            .Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(5)).Result;
        return status.State;
    }
}
