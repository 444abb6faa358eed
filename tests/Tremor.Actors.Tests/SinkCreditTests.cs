using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// A sink's upstreams share one budget of credit, and an upstream linked to it twice (a pipeline whose out and
/// overflow ports both lead to it) is granted it once: what waits in front of the sink does not grow with the links.
/// </summary>
public sealed class SinkCreditTests : TremorTestKit
{
    private static EventBatch Batch(int b) => new("in", Enumerable.Range(b * 10, 10).Select(n => Event(n)).ToArray());

    private static Event Event(long n)
    {
        var record = new ValueRecord();
        record.Set("n", n);
        return new Event { Id = new EventId(1, 0, (ulong)n, (ulong)n), Data = Value.From(record) };
    }

    private IActorRef Sink(TestSinkFactory sink, TestProbe flow) =>
        Sys.ActorOf(ConnectorActor.Props(Connector(sink.Type, "isolation = in-process"), sink, Catalog, Services, DataPath(batchSize: 10, credits: 4), flow.Ref));

    [Fact]
    public void An_upstream_linked_by_two_ports_is_granted_the_budget_once_and_gets_a_unit_back_per_delivered_batch()
    {
        var sink = new TestSinkFactory();
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var connector = Sink(sink, flow);
        connector.Tell(new LinkInput(upstream.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>(c => c.Batches == 4);
        upstream.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        for (var b = 0; b < 4; b++) connector.Tell(Batch(b), upstream.Ref);
        AwaitAssert(() => Assert.Equal(40, sink.ReceivedCount));
        Assert.Equal(4, Enumerable.Range(0, 4).Sum(_ => upstream.ExpectMsg<Credit>().Batches));
        upstream.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Two_upstreams_share_the_budget_and_what_comes_back_evens_out_their_holdings()
    {
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate };
        var flow = CreateTestProbe();
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        var connector = Sink(sink, flow);
        connector.Tell(new LinkInput(a.Ref));
        connector.Tell(new LinkInput(b.Ref));
        a.ExpectMsg<Credit>(c => c.Batches == 4);
        b.ExpectMsg<Credit>(c => c.Batches == 1);

        // a spends its budget; once the plugin took it, the units come back to whoever holds the fewest (b) first.
        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 4; i++) connector.Tell(Batch(i), a.Ref);
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        gate.Release(10);
        AwaitAssert(() => Assert.Equal(40, sink.ReceivedCount));
        var toA = 0;
        var toB = 0;
        // With no batch left in the sink the two hold the budget of 4 between them, evenly: a gets 2 back, b 1 more
        // beside the unit it held (per-upstream credit gave a its 4 back and b its own 4 besides).
        AwaitCondition(() =>
        {
            while (a.HasMessages) toA += a.ExpectMsg<Credit>().Batches;
            while (b.HasMessages) toB += b.ExpectMsg<Credit>().Batches;
            return toA + toB == 3;
        }, TimeSpan.FromSeconds(10));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        b.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal((2, 1), (toA, toB));
    }
}
