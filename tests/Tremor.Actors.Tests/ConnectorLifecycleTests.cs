using Akka.Actor;
using Akka.TestKit;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class ConnectorLifecycleTests : TremorTestKit
{
    private (IActorRef Connector, TestProbe Flow, TestProbe Downstream) StartSource(TestSourceFactory factory, string extra = "", int initialCredit = 2)
    {
        var flow = CreateTestProbe();
        var downstream = CreateTestProbe();
        var spec = Connector(factory.Type, extra);
        var connector = Sys.ActorOf(ConnectorActor.Props(spec, factory, Catalog, Services, DataPath(), flow.Ref));
        connector.Tell(new LinkOutput("out", downstream.Ref, "in"));
        connector.Tell(new ConnectorActor.Start());
        if (initialCredit > 0) connector.Tell(new Credit(initialCredit), downstream.Ref);
        return (connector, flow, downstream);
    }

    private static void ExpectState(TestProbe flow, ConnectorState state) =>
        flow.FishForMessage(m => m is ConnectorActor.StateChanged s && s.State == state, TimeSpan.FromSeconds(10));

    [Fact]
    public void A_source_goes_through_connecting_running_paused_running_draining_and_finishes()
    {
        var factory = new TestSourceFactory { Total = null };
        var (connector, flow, downstream) = StartSource(factory);
        ExpectState(flow, ConnectorState.Connecting);
        ExpectState(flow, ConnectorState.Running);
        downstream.ExpectMsg<EventBatch>();

        connector.Tell(new ConnectorActor.Pause());
        ExpectState(flow, ConnectorState.Paused);
        // Paused: whatever credit comes, nothing more is pulled.
        downstream.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        var pulls = Interlocked.Read(ref factory.Pulls);
        connector.Tell(new Credit(5), downstream.Ref);
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(pulls, Interlocked.Read(ref factory.Pulls));

        connector.Tell(new ConnectorActor.Resume());
        ExpectState(flow, ConnectorState.Running);
        downstream.ExpectMsg<EventBatch>();

        connector.Tell(new ConnectorActor.Drain());
        ExpectState(flow, ConnectorState.Draining);
        flow.FishForMessage(m => m is ConnectorActor.SourceFinished, TimeSpan.FromSeconds(10));
        downstream.FishForMessage(m => m is EndOfStream, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Back_pressure_a_source_sends_no_more_batches_than_it_was_granted()
    {
        var factory = new TestSourceFactory { Total = null };
        var (connector, flow, downstream) = StartSource(factory, initialCredit: 3);
        for (var i = 0; i < 3; i++) downstream.ExpectMsg<EventBatch>();
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        // One pull may be answered but not sent; no more than that.
        Assert.InRange(Interlocked.Read(ref factory.Pulls), 3, 4);

        connector.Tell(new Credit(1), downstream.Ref);
        downstream.ExpectMsg<EventBatch>();
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Events_get_ids_from_the_source_in_sequence_not_from_the_payload()
    {
        // Every payload claims id 7; the ids still count 0, 1, 2, ...
        var factory = new TestSourceFactory { Total = 20, Payload = _ => "{\"id\":7}" };
        var (_, _, downstream) = StartSource(factory, initialCredit: 10);
        var ids = new List<ulong>();
        while (ids.Count < 20)
        {
            var batch = downstream.ExpectMsg<EventBatch>();
            ids.AddRange(batch.Events.Select(e => e.Id.Sequence));
        }
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (ulong)i), ids);
    }

    [Fact]
    public void Bytes_the_codec_cannot_decode_go_to_the_err_port_with_the_reason()
    {
        var factory = new TestSourceFactory { Total = 3, Payload = n => n == 1 ? "{not json" : $"{{\"n\":{n}}}" };
        var flow = CreateTestProbe();
        var outPort = CreateTestProbe();
        var errPort = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(Connector(factory.Type), factory, Catalog, Services, DataPath(), flow.Ref));
        connector.Tell(new LinkOutput("out", outPort.Ref, "in"));
        connector.Tell(new LinkOutput("err", errPort.Ref, "in"));
        connector.Tell(new ConnectorActor.Start());
        connector.Tell(new Credit(5), outPort.Ref);
        connector.Tell(new Credit(5), errPort.Ref);

        var good = outPort.ExpectMsg<EventBatch>();
        Assert.Equal(2, good.Events.Length);
        var bad = errPort.ExpectMsg<EventBatch>();
        var error = Assert.Single(bad.Events).Data["error"].AsString();
        Assert.Contains("codec", error);
        Assert.Contains("f::c", bad.Events[0].Data["source"].AsString());
    }
}
