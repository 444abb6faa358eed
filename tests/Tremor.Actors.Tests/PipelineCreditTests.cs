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

        // The downstream has granted nothing: all the pipeline holds is what the budget paid for. Per-input credit
        // let each upstream send 4 (8 in all); one shared budget of 4 lets the first send 4 and the second 1, its
        // guaranteed unit.
        var early = monitor.ReceiveN(5).Cast<Upstream.Sent>().ToList();
        monitor.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(4, early.Count(s => s.Name == "a"));
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
}
