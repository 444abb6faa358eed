using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// A process-isolated sink gets its next call while it works on the current one (the outbox sends two): the plugin
/// dying with one call in it and the next waiting at its proxy loses neither, and they reach the sink in order.
/// </summary>
public sealed class PipelinedSinkTests : TremorTestKit
{
    private static Event Event(long n)
    {
        var record = new ValueRecord();
        record.Set("n", n);
        return new Event { Id = new EventId(1, 0, (ulong)n, (ulong)n), Data = Value.From(record) };
    }

    private (IActorRef Connector, TestProbe Upstream, TestProbe Flow) StartSink(TestSinkFactory sink, string extra)
    {
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(Connector(sink.Type, $"isolation = process\n{extra}"), sink, Catalog, Services, DataPath(batchSize: 10, credits: 8), flow.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();
        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        return (connector, upstream, flow);
    }

    [Fact]
    public void The_plugin_dying_in_a_call_with_the_next_one_ready_delivers_both_again_in_order()
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, ThrowAfterGateOn = [1], KeepEvents = true };
        var (connector, upstream, _) = StartSink(sink, "restart { min-backoff = 5ms, max-backoff = 20ms, max-restarts = 3 }");

        // Call 1 holds batch 0 in the plugin (the gate); batch 1 is pipelined behind it, batches 2-4 wait.
        for (var b = 0; b < 5; b++) connector.Tell(new EventBatch("in", Enumerable.Range(b * 10, 10).Select(n => Event(n)).ToArray()), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        gate.Release(100);

        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount), TimeSpan.FromSeconds(10));
        // Exactly once (the call that died wrote nothing) and in the order accepted.
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), sink.Events.Select(e => e.Data["n"].TryGetI64(out var n) ? n : -1));
        Assert.Equal(2, Volatile.Read(ref sink.Instances));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }

    [Fact]
    public async Task The_plugin_failing_for_good_with_a_call_pipelined_fails_both_back_and_returns_their_credit()
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, ThrowAfterGateOn = [1] };
        var (connector, upstream, flow) = StartSink(sink, "restart { min-backoff = 5ms, max-backoff = 20ms, max-restarts = 0 }");

        for (var b = 0; b < 3; b++) connector.Tell(new EventBatch("in", Enumerable.Range(b * 10, 10).Select(n => Event(n)).ToArray()), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        gate.Release(100);

        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Failed }, TimeSpan.FromSeconds(10));
        // Nothing reached the sink, and every batch (the one in the call, the one ready behind it, the one waiting)
        // came back as a failure: each upstream batch's credit returns.
        Assert.Equal(0, sink.ReceivedCount);
        for (var b = 0; b < 3; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        var status = await connector.Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(5));
        Assert.Equal(ConnectorState.Failed, status.State);
    }

    [Fact]
    public void A_batch_the_sink_failed_with_the_next_one_pipelined_fails_alone_and_the_rest_follows_in_order()
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, FailOn = [1], KeepEvents = true };
        var (connector, upstream, _) = StartSink(sink, "");

        for (var b = 0; b < 5; b++) connector.Tell(new EventBatch("in", Enumerable.Range(b * 10, 10).Select(n => Event(n)).ToArray()), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        gate.Release(100);

        // The batch behind the failed one was not offered while it waited at the proxy; it is sent again, once.
        AwaitAssert(() => Assert.Equal(50, sink.Events.Count), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), sink.Events.Select(e => e.Data["n"].TryGetI64(out var n) ? n : -1));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }
}
