using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;

namespace Tremor.Actors.Tests;

public sealed class ReconnectTests : TremorTestKit
{
    public ReconnectTests()
        : base(TestSchedulerConfig)
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public void A_failed_connect_is_retried_on_the_backoff_schedule_then_the_connector_runs()
    {
        var factory = new TestSourceFactory { Total = null, FailConnects = 2 };
        var flow = CreateTestProbe();
        var downstream = CreateTestProbe();
        var spec = Connector(factory.Type, "reconnect { interval = 1s, growth-rate = 2, jitter = 0 }");
        var connector = Sys.ActorOf(ConnectorActor.Props(spec, factory, Catalog, Services, DataPath(), flow.Ref));
        connector.Tell(new LinkOutput("out", downstream.Ref, "in"));
        connector.Tell(new ConnectorActor.Start());
        connector.Tell(new Credit(1), downstream.Ref);

        ExpectRetryScheduled(flow, 1);
        Scheduler.Advance(TimeSpan.FromMilliseconds(999));
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, Volatile.Read(ref factory.ConnectAttempts));

        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        ExpectRetryScheduled(flow, 2);
        Assert.Equal(2, Volatile.Read(ref factory.ConnectAttempts));
        // The second retry waits twice as long.
        Scheduler.Advance(TimeSpan.FromMilliseconds(1999));
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, Volatile.Read(ref factory.ConnectAttempts));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        AwaitAssert(() => Assert.Equal(3, Volatile.Read(ref factory.ConnectAttempts)));

        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        downstream.ExpectMsg<EventBatch>();
    }

    [Fact]
    public void Without_reconnect_a_failed_connect_fails_the_connector()
    {
        var factory = new TestSourceFactory { Total = null, FailConnects = 1 };
        var flow = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(Connector(factory.Type), factory, Catalog, Services, DataPath(), flow.Ref));
        connector.Tell(new LinkOutput("out", CreateTestProbe().Ref, "in"));
        connector.Tell(new ConnectorActor.Start());
        var failed = (ConnectorActor.StateChanged)flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Failed }, TimeSpan.FromSeconds(10));
        Assert.Contains("could not connect after 1 attempt", failed.Reason);
    }

    [Fact]
    public void A_failing_plugin_is_recreated_only_after_its_restart_backoff()
    {
        var sink = new TestSinkFactory { ThrowOn = [1] };
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var spec = Connector(sink.Type, "restart { min-backoff = 1s, jitter = 0 }");
        var connector = Sys.ActorOf(ConnectorActor.Props(spec, sink, Catalog, Services, DataPath(), flow.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();
        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));

        connector.Tell(new EventBatch("in", [Event(1)]), upstream.Ref);
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Restarting }, TimeSpan.FromSeconds(10));
        Assert.Equal(1, Volatile.Read(ref sink.Instances));
        // The timer was started before the state change was reported, so advancing now cannot race it.
        Scheduler.Advance(TimeSpan.FromMilliseconds(999));
        upstream.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, Volatile.Read(ref sink.Instances));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        // Re-created, reconnected, and the kept batch delivered: the credit for it comes back.
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.Equal(2, Volatile.Read(ref sink.Instances));
        Assert.Equal(1, sink.Received[1]);
    }

    private static void ExpectRetryScheduled(TestProbe flow, int failedAttempt) =>
        flow.FishForMessage(
            m => m is ConnectorActor.StateChanged { State: ConnectorState.Connecting, Reason: { } r } && r.StartsWith($"attempt {failedAttempt} failed", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));

    private static Pdk.Event Event(long n)
    {
        var record = new Pdk.ValueRecord();
        record.Append("n", n);
        return new Pdk.Event { Id = new Pdk.EventId(1, 0, (ulong)n, (ulong)n), Data = Pdk.Value.From(record) };
    }
}
