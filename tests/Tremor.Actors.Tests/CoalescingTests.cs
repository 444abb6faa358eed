using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// Batches that wait for a process-isolated plugin go to it in one call: nothing is lost or reordered, a crash in a
/// coalesced call sends all of its batches again, each upstream batch's acks, fails and credit reach its own sender,
/// and a batch for an idle plugin is never held back.
/// </summary>
public sealed class CoalescingTests : TremorTestKit
{
    private static Event Event(long n, uint source = 1)
    {
        var record = new ValueRecord();
        record.Set("n", n);
        return new Event { Id = new EventId(source, 0, (ulong)n, (ulong)n), Data = Value.From(record) };
    }

    private static EventBatch Batch(int b, uint source = 1) => new("in", Enumerable.Range(b * 10, 10).Select(n => Event(n, source)).ToArray());

    private (IActorRef Connector, TestProbe Upstream) StartSink(TestSinkFactory sink, string isolation, bool awaitRunning = true, string extra = "")
    {
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(Connector(sink.Type, $"isolation = {isolation}\nrestart {{ min-backoff = 5ms, max-backoff = 20ms, max-restarts = 3 }}\n{extra}"), sink, Catalog, Services, DataPath(batchSize: 10, credits: 8), flow.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();
        connector.Tell(new ConnectorActor.Start());
        if (awaitRunning) flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        return (connector, upstream);
    }

    private static IEnumerable<long> Numbers(TestSinkFactory sink) => sink.Events.Select(e => e.Data["n"].TryGetI64(out var n) ? n : -1);

    [Theory]
    [InlineData("process")]
    [InlineData("in-process")]
    public void Batches_waiting_behind_a_call_go_to_an_isolated_plugin_together_in_order_and_each_returns_its_credit(string isolation)
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, KeepEvents = true };
        var (connector, upstream) = StartSink(sink, isolation);

        // The first batch holds the plugin (the gate); the four behind it arrive while it is in the call.
        for (var b = 0; b < 5; b++) connector.Tell(Batch(b), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        gate.Release(10);

        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount));
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), Numbers(sink));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
        // Isolated, the second batch went behind the first at once (pipelined) and the three that waited behind both
        // went in one call; in process every batch is its own call (no round trip to save).
        Assert.Equal(isolation == "process" ? 3 : 5, Volatile.Read(ref sink.Calls));
    }

    [Fact]
    public void A_batch_for_an_idle_isolated_plugin_is_sent_at_once_and_one_behind_a_call_follows_without_more_input()
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate, KeepEvents = true };
        var (connector, upstream) = StartSink(sink, "process");

        // Nothing else comes: the batch is in the plugin's call without waiting for company.
        connector.Tell(Batch(0), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        // One batch behind the call in flight, and nothing after it: it goes behind the first without waiting for company.
        connector.Tell(Batch(1), upstream.Ref);
        gate.Release(2);
        AwaitAssert(() => Assert.Equal(20, sink.ReceivedCount));
        Assert.Equal(2, Volatile.Read(ref sink.Calls));
        Assert.Equal(Enumerable.Range(0, 20).Select(n => (long)n), Numbers(sink));
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }

    [Fact]
    public void The_plugin_dying_in_a_coalesced_call_gets_all_of_its_batches_again_in_one_call_in_order()
    {
        var connect = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { ConnectGate = connect, ThrowAfterGateOn = [1], KeepEvents = true };
        var (connector, upstream) = StartSink(sink, "process", awaitRunning: false);

        // The plugin is still connecting: all five batches wait, and the first call carries them all.
        for (var b = 0; b < 5; b++) connector.Tell(Batch(b), upstream.Ref);
        connect.Release(10);

        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount), TimeSpan.FromSeconds(10));
        // The first call died without taking anything; the next instance got the same five batches in one call.
        Assert.Equal(2, Volatile.Read(ref sink.Calls));
        Assert.Equal(50, sink.MaxBatch);
        Assert.Equal(2, Volatile.Read(ref sink.Instances));
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), Numbers(sink));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }

    [Fact]
    public void A_coalesced_call_the_sink_is_too_full_for_opens_the_breaker_and_is_offered_again_whole_in_order()
    {
        var connect = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { ConnectGate = connect, FullOn = [1], KeepEvents = true };
        var (connector, upstream) = StartSink(sink, "process", awaitRunning: false);

        for (var b = 0; b < 5; b++) connector.Tell(Batch(b), upstream.Ref);
        connect.Release(10);

        // Nothing taken: the breaker opens upstream and no credit comes back until the kept call is taken.
        upstream.ExpectMsg<CircuitBreaker>(m => m.Open, TimeSpan.FromSeconds(10));
        upstream.ExpectMsg<CircuitBreaker>(m => !m.Open, TimeSpan.FromSeconds(10));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.Equal(2, Volatile.Read(ref sink.Calls));
        Assert.Equal(50, sink.MaxBatch);
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), Numbers(sink));
    }

    [Fact]
    public void A_coalesced_call_stays_within_half_of_the_shared_region_and_the_batches_past_it_follow_in_order()
    {
        var connect = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { ConnectGate = connect, KeepEvents = true };
        // Half of 400 bytes: two batches of ten {"n":N} (70-80 bytes each) fit in a call, three do not.
        var (connector, upstream) = StartSink(sink, "process", awaitRunning: false, extra: "max-region-size = 400");

        for (var b = 0; b < 5; b++) connector.Tell(Batch(b), upstream.Ref);
        connect.Release(10);

        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount), TimeSpan.FromSeconds(10));
        Assert.Equal(20, sink.MaxBatch);
        Assert.Equal(3, Volatile.Read(ref sink.Calls));
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n), Numbers(sink));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Acks_and_fails_of_a_coalesced_call_reach_the_source_of_each_event_with_its_weight(bool fail)
    {
        var connect = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { ConnectGate = connect, FailOn = fail ? [1] : [] };
        var sourceA = CreateTestProbe();
        var sourceB = CreateTestProbe();
        var a = Services.RegisterSource(sourceA.Ref);
        var b = Services.RegisterSource(sourceB.Ref);
        var (connector, upstream) = StartSink(sink, "process", awaitRunning: false);

        // Three batches from two transactional sources, weights 1000 + n, coalesced into the first call.
        foreach (var (batch, source) in new[] { (0, a), (1, b), (2, a) })
        {
            var events = Batch(batch, source).Events;
            connector.Tell(new EventBatch("in", events, events.Select(e => 1000 + (long)e.Id.Sequence).ToArray()), upstream.Ref);
        }
        connect.Release(10);

        Assert.Equal(
            Enumerable.Range(0, 10).Concat(Enumerable.Range(20, 10)).Select(n => ((ulong)n, 1000L + n)),
            Settled(sourceA, 20, fail).OrderBy(p => p.Sequence));
        Assert.Equal(Enumerable.Range(10, 10).Select(n => ((ulong)n, 1000L + n)), Settled(sourceB, 10, fail).OrderBy(p => p.Sequence));
        Assert.Equal(1, Volatile.Read(ref sink.Calls));
        for (var i = 0; i < 3; i++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
    }

    /// <summary>What <paramref name="source"/> is told of its events (acked, or failed when <paramref name="fail"/>) until <paramref name="count"/> of them.</summary>
    private static List<(ulong Sequence, long Weight)> Settled(TestProbe source, int count, bool fail)
    {
        var settled = new List<(ulong Sequence, long Weight)>();
        while (settled.Count < count)
        {
            var (ids, weights) = source.ExpectMsg<object>(TimeSpan.FromSeconds(10)) switch
            {
                ConnectorActor.AckEvents ack when !fail => (ack.Ids, ack.Weights),
                ConnectorActor.FailEvents failed when fail => (failed.Ids, failed.Weights),
                var other => throw new Xunit.Sdk.XunitException($"unexpected {other}"),
            };
            settled.AddRange(ids.Zip(weights, (id, w) => (id.Sequence, w)));
        }
        return settled;
    }
}
