using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;

namespace Tremor.Actors.Tests;

public sealed class FlowTests : TremorTestKit
{
    private const string SourceToSink = """
        connectors {
          src { type = test-source }
          snk { type = test-sink, restart { min-backoff = 10ms, max-backoff = 50ms, max-restarts = 5 } }
        }
        pipelines { main { type = passthrough } }
        links = ["src -> main", "main -> snk"]
        """;

    [Fact]
    public async Task A_finite_flow_delivers_every_event_once_and_completes()
    {
        var source = new TestSourceFactory { Total = 1000 };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), sink.Received.Keys.Order());
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
        Assert.Equal(1, sink.Ends);
    }

    [Fact]
    public async Task No_event_is_lost_when_the_sink_plugin_fails_and_is_restarted()
    {
        var source = new TestSourceFactory { Total = 1000 };
        var sink = new TestSinkFactory { ThrowOn = [3, 7, 8] };
        Register(source);
        Register(sink);
        var (world, exit) = Deploy(Flow("f", SourceToSink));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        // The set of distinct ids, not a count: every event arrived, none twice.
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), sink.Received.Keys.Order());
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
        // One instance the deploy check made and threw away, the first real one, and one per failure.
        Assert.Equal(1 + 1 + 3, Volatile.Read(ref sink.Instances));
    }

    [Fact]
    public async Task A_sink_past_its_restart_limit_is_marked_failed_and_the_rest_of_the_flow_keeps_flowing()
    {
        var source = new TestSourceFactory { Total = 500, Transactional = true };
        var broken = new TestSinkFactory("broken-sink") { AlwaysThrow = true };
        var healthy = new TestSinkFactory();
        Register(source);
        Register(broken);
        Register(healthy);
        var flow = Flow("f", """
            connectors {
              src { type = test-source }
              bad { type = broken-sink, restart { min-backoff = 10ms, max-backoff = 20ms, max-restarts = 2, within = 1m } }
              good { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> bad", "main -> good"]
            """);
        var (world, exit) = Deploy(flow);
        // The run ends 1 and says why: a connector failed for good and what it was handed was not delivered.
        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("connector 'f::bad' failed: the plugin failed 3 times", Services.Ledger.Summary?.Line);
        // The deploy check's instance, the first real one and two restarts; the third failure is past the limit.
        Assert.Equal(1 + 1 + 2, Volatile.Read(ref broken.Instances));
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), healthy.Received.Keys.Order());
        // What the failed sink was handed was failed back to the transactional source, not dropped silently.
        Assert.NotEmpty(source.Failed);
    }

    [Fact]
    public async Task A_transactional_source_gets_an_ack_for_every_delivered_event_and_a_fail_for_every_failed_one()
    {
        var source = new TestSourceFactory { Total = 200, Transactional = true };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        await exit.WaitAsync(TimeSpan.FromSeconds(30));
        AwaitAssert(() => Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)i), source.Acked.Order()));
        Assert.Empty(source.Failed);
    }

    [Fact]
    public async Task Acks_reach_a_source_whose_pull_waits_for_them_as_a_broker_with_a_full_prefetch_window_does()
    {
        // The source sends nothing more until acks open its window, and its pull waits for input without a timer:
        // the acks must cut that wait short, or the flow stalls after the first window.
        var source = new TestSourceFactory { Total = 30, Transactional = true, Window = 4 };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), sink.Received.Keys.Order());
        AwaitAssert(() => Assert.Equal(30, source.Acked.Count));
    }

    [Fact]
    public async Task A_sink_that_fails_batches_makes_the_source_hear_fail_for_each_event()
    {
        var source = new TestSourceFactory { Total = 50, Transactional = true };
        var sink = new TestSinkFactory { FailAll = true };
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        await exit.WaitAsync(TimeSpan.FromSeconds(30));
        AwaitAssert(() => Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong)i), source.Failed.Order()));
        Assert.Empty(source.Acked);
    }

    [Fact]
    public async Task A_batch_that_keeps_killing_the_plugin_is_bisected_and_only_the_poison_events_go_to_err()
    {
        var source = new TestSourceFactory { Total = 200, Transactional = true, ChunksPerPull = 20 };
        var sink = new TestSinkFactory { PoisonOn = [57, 133] };
        var errors = new TestSinkFactory("err-sink");
        Register(source);
        Register(sink);
        Register(errors);
        var flow = Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = test-sink, quarantine-after = 3, restart { min-backoff = 5ms, max-backoff = 20ms, max-restarts = 3 } }
              bad { type = err-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk", "snk/err -> bad"]
            """);
        var (world, exit) = Deploy(flow, DataPath(batchSize: 20, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        var delivered = Enumerable.Range(0, 200).Select(i => (long)i).Where(i => i is not (57 or 133));
        Assert.Equal(delivered, sink.Received.Keys.Order());
        Assert.Equal([57L, 133L], errors.Received.Keys.Order());
        AwaitAssert(() => Assert.Equal([57UL, 133UL], source.Failed.Order()));
        var status = await Sys.ActorSelection("/user/world/connectors/f.snk").Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
        Assert.NotEqual(ConnectorState.Failed, status.State);
    }

    [Fact]
    public async Task Bytes_the_codec_rejects_are_failed_back_to_a_transactional_source_at_once()
    {
        var source = new TestSourceFactory { Total = 100, Transactional = true, Payload = n => n % 10 == 3 ? "not json" : $"{{\"n\":{n}}}" };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        var bad = Enumerable.Range(0, 100).Where(n => n % 10 == 3).Select(n => (ulong)n).ToList();
        AwaitAssert(() => Assert.Equal(bad, source.Failed.Order()));
        Assert.Equal(90, sink.ReceivedCount);
    }

    [Fact]
    public void Back_pressure_a_slow_sink_bounds_the_events_in_flight()
    {
        var gate = new SemaphoreSlim(0);
        var source = new TestSourceFactory { Total = null, ChunksPerPull = 10 };
        var sink = new TestSinkFactory { Gate = gate };
        Register(source);
        Register(sink);
        var dataPath = DataPath(batchSize: 10, credits: 2);
        Deploy(Flow("f", SourceToSink), dataPath);

        // With the sink stuck, the source stops: two links of 2 batches each, one batch in the sink, one in the
        // pipeline's pending output and one pull: a fixed bound, however long we wait.
        const int bound = 10 * (2 + 2 + 1 + 1 + 1);
        AwaitAssert(() => Assert.True(Interlocked.Read(ref source.Emitted) > 0));
        for (var round = 0; round < 3; round++)
        {
            ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            Assert.InRange(Interlocked.Read(ref source.Emitted), 1, bound);
        }
        var before = Interlocked.Read(ref source.Emitted);
        gate.Release(5);
        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount));
        AwaitAssert(() => Assert.True(Interlocked.Read(ref source.Emitted) > before));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.InRange(Interlocked.Read(ref source.Emitted) - sink.ReceivedCount, 0, bound);
        gate.Release(1000);
    }

    [Fact]
    public void A_deploy_with_an_unknown_connector_type_is_refused_and_nothing_starts()
    {
        Register(new TestSinkFactory());
        Register(new TestSourceFactory());
        var flow = Flow("f", """
            connectors {
              src { type = test-sorce }
              snk { type = test-sink }
            }
            links = ["src -> snk"]
            """);
        var exit = new TaskCompletionSource<int>();
        var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit));
        world.Tell(new World.DeployFlow(flow), TestActor);
        var refused = ExpectMsg<World.DeployFailed>();
        Assert.Contains("tremor.flows.f.connectors.src.type", refused.Reason);
        Assert.Contains("unknown connector type 'test-sorce'", refused.Reason);
        Assert.Contains("did you mean 'test-source'", refused.Reason);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Shutdown_requested_drains_an_endless_flow_and_ends_the_run_with_the_code()
    {
        var source = new TestSourceFactory { Total = null };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (world, exit) = Deploy(Flow("f", SourceToSink));
        AwaitAssert(() => Assert.True(sink.ReceivedCount > 100));
        world.Tell(new World.ShutdownRequested(3, "test"));
        Assert.Equal(3, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        // Drained: everything the source emitted reached the sink.
        Assert.Equal(Interlocked.Read(ref source.Emitted), sink.ReceivedCount);
        Assert.Equal(1, sink.Ends);
    }
}
