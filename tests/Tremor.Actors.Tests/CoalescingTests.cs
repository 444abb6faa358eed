using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class CoalescingTests : TremorTestKit
{
    private static Event Event(long n)
    {
        var record = new ValueRecord();
        record.Set("n", n);
        return new Event { Id = new EventId(1, 0, (ulong)n, (ulong)n), Data = Value.From(record) };
    }

    private (IActorRef Connector, TestProbe Upstream) StartSink(TestSinkFactory sink, string isolation)
    {
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(Connector(sink.Type, $"isolation = {isolation}"), sink, Catalog, Services, DataPath(batchSize: 10, credits: 8), flow.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();
        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        return (connector, upstream);
    }

    [Theory]
    [InlineData("process", 3)]
    [InlineData("in-process", 5)]
    public void Batches_waiting_for_a_process_isolated_plugin_go_in_one_call_and_each_returns_its_credit(string isolation, int calls)
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate };
        var (connector, upstream) = StartSink(sink, isolation);

        // The first batch holds the plugin (the gate); isolated, the second is sent behind it at once (pipelined) and
        // three wait in the outbox meanwhile.
        for (var b = 0; b < 5; b++) connector.Tell(new EventBatch("in", Enumerable.Range(b * 10, 10).Select(n => Event(n)).ToArray()), upstream.Ref);
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref sink.Calls)));
        gate.Release(10);

        AwaitAssert(() => Assert.Equal(50, sink.ReceivedCount));
        // Isolated: the three waiting batches went in one call (a round trip to another process each otherwise).
        Assert.Equal(calls, Volatile.Read(ref sink.Calls));
        for (var b = 0; b < 5; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
    }
}
