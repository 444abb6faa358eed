using Akka.Actor;
using Tremor.Actors.Configuration;
using Tremor.Actors.Links;
using Tremor.Actors.Pipelines;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>A pipeline's upstreams share one budget of credit: two inputs hold no more batches in it than one.</summary>
public sealed class PipelineCreditTests : TremorTestKit
{
    /// <summary>An upstream that sends a batch for every unit of credit it gets, until it sent its last, and tells the monitor each send.</summary>
    private sealed class Upstream : ReceiveActor
    {
        public sealed record Sent(string Name, int Batch);

        public Upstream(string name, uint sourceId, int batches, IActorRef monitor)
        {
            var next = 0;
            var ended = false;
            IActorRef? pipeline = null;
            Receive<Credit>(c =>
            {
                pipeline ??= Sender;
                for (var i = 0; i < c.Batches && next < batches; i++, next++)
                {
                    var events = Enumerable.Range(0, 3).Select(k => new Event { Id = new EventId(sourceId, 0, (ulong)next, (ulong)k), Data = Value.From(next * 10L + k) }).ToArray();
                    pipeline.Tell(new EventBatch("in", events));
                    monitor.Tell(new Sent(name, next));
                }
                if (next == batches && !ended)
                {
                    ended = true;
                    pipeline.Tell(EndOfStream.Instance);
                }
            });
        }
    }

    [Fact]
    public void Two_upstreams_share_one_budget_neither_starves_and_every_event_arrives_once()
    {
        const int batches = 20;
        var spec = new PipelineSpec("f", "main", "passthrough", "tremor.flows.f.pipelines.main", new PluginConfig("tremor.flows.f.pipelines.main", null));
        var monitor = CreateTestProbe();
        var downstream = CreateTestProbe();
        var pipeline = Sys.ActorOf(PipelineActor.Props(spec, new PassthroughProgram(), DataPath(batchSize: 10, credits: 4)));
        pipeline.Tell(new LinkOutput("out", downstream.Ref, "in"));
        var a = Sys.ActorOf(Props.Create(() => new Upstream("a", 1, batches, monitor.Ref)));
        var b = Sys.ActorOf(Props.Create(() => new Upstream("b", 2, batches, monitor.Ref)));
        pipeline.Tell(new LinkInput(a));
        pipeline.Tell(new LinkInput(b));

        // The downstream has granted nothing: the pipeline queues nothing in front of it but one batch per upstream,
        // each one's guaranteed unit (per-input credit let each send 4, one shared budget the first 4 and the second 1).
        var early = monitor.ReceiveN(2).Cast<Upstream.Sent>().ToList();
        monitor.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, early.Count(s => s.Name == "a"));
        Assert.Equal(1, early.Count(s => s.Name == "b"));

        // Now the downstream takes one batch at a time: every event of both arrives, each once, in order per upstream.
        var received = new List<Event>();
        var order = new List<uint>();
        while (true)
        {
            pipeline.Tell(new Credit(1), downstream.Ref);
            var message = downstream.ReceiveOne(TimeSpan.FromSeconds(10));
            if (message is EndOfStream) break;
            var batch = Assert.IsType<EventBatch>(message);
            received.AddRange(batch.Events);
            order.Add(batch.Events[0].Id.SourceId);
        }
        Assert.Equal(2 * batches * 3, received.Count);
        Assert.Equal(received.Count, received.Select(e => e.Id).Distinct().Count());
        foreach (var source in new uint[] { 1, 2 })
        {
            var pulls = received.Where(e => e.Id.SourceId == source).Select(e => e.Id.PullId).Distinct().ToList();
            Assert.Equal(Enumerable.Range(0, batches).Select(i => (ulong)i), pulls);
        }
        // Neither starves: in the first half of what left, each upstream has at least a third.
        var firstHalf = order.Take(batches).ToList();
        Assert.InRange(firstHalf.Count(s => s == 2), batches / 3, batches - batches / 3);
    }

    [Fact]
    public void A_slow_downstream_holds_both_upstreams_to_what_it_granted_plus_one_batch_each_and_loses_nothing()
    {
        const int batches = 30;
        var spec = new PipelineSpec("f", "main", "passthrough", "tremor.flows.f.pipelines.main", new PluginConfig("tremor.flows.f.pipelines.main", null));
        var monitor = CreateTestProbe();
        var downstream = CreateTestProbe();
        var pipeline = Sys.ActorOf(PipelineActor.Props(spec, new PassthroughProgram(), DataPath(batchSize: 10, credits: 8)));
        pipeline.Tell(new LinkOutput("out", downstream.Ref, "in"));
        pipeline.Tell(new LinkInput(Sys.ActorOf(Props.Create(() => new Upstream("a", 1, batches, monitor.Ref)))));
        pipeline.Tell(new LinkInput(Sys.ActorOf(Props.Create(() => new Upstream("b", 2, batches, monitor.Ref)))));

        // The downstream takes one batch at a time and is slow to ask for the next: whatever the budget (8), the
        // upstreams never get ahead of it by more than the batch each holds in the pipeline, so nothing queues there.
        var granted = 0;
        var sent = 0;
        var received = new List<Event>();
        while (received.Count < 2 * batches * 3)
        {
            pipeline.Tell(new Credit(1), downstream.Ref);
            granted++;
            received.AddRange(downstream.ExpectMsg<EventBatch>(TimeSpan.FromSeconds(10)).Events);
            while (monitor.HasMessages)
            {
                monitor.ExpectMsg<Upstream.Sent>();
                sent++;
                Assert.True(sent <= granted + 2, $"the upstreams sent {sent} batches when the downstream had taken {granted}");
            }
        }
        pipeline.Tell(new Credit(1), downstream.Ref);
        downstream.ExpectMsg<EndOfStream>(TimeSpan.FromSeconds(10));

        Assert.Equal(received.Count, received.Select(e => e.Id).Distinct().Count());
        foreach (var source in new uint[] { 1, 2 })
        {
            var values = received.Where(e => e.Id.SourceId == source).Select(e => e.Data.RawI64).ToList();
            Assert.Equal(Enumerable.Range(0, batches).SelectMany(b => Enumerable.Range(0, 3).Select(k => b * 10L + k)), values);
        }
    }

    [Fact]
    public void A_lone_event_waiting_for_a_downstream_without_credit_leaves_as_soon_as_it_grants_one()
    {
        var spec = new PipelineSpec("f", "main", "passthrough", "tremor.flows.f.pipelines.main", new PluginConfig("tremor.flows.f.pipelines.main", null));
        var upstream = CreateTestProbe();
        var downstream = CreateTestProbe();
        var pipeline = Sys.ActorOf(PipelineActor.Props(spec, new PassthroughProgram(), DataPath(batchSize: 10, credits: 8)));
        pipeline.Tell(new LinkOutput("out", downstream.Ref, "in"));
        pipeline.Tell(new LinkInput(upstream.Ref));
        // No room downstream: one unit, the batch in hand.
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        var lone = new Event { Id = new EventId(1, 0, 0, 0), Data = Value.From(42L) };
        pipeline.Tell(new EventBatch("in", [lone]), upstream.Ref);
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // The downstream asks for four: the lone event leaves at once, and the upstream may send what the downstream
        // has room for now plus the one in hand.
        pipeline.Tell(new Credit(4), downstream.Ref);
        var batch = downstream.ExpectMsg<EventBatch>(TimeSpan.FromSeconds(5));
        Assert.Equal(42L, Assert.Single(batch.Events).Data.RawI64);
        var regranted = 0;
        AwaitCondition(() =>
        {
            while (upstream.HasMessages) regranted += upstream.ExpectMsg<Credit>().Batches;
            return regranted == 4;
        }, TimeSpan.FromSeconds(5));
    }
}
