using Tremor.Actors.Configuration;
using Tremor.Actors.Links;
using Tremor.Actors.Pipelines;
using Tremor.Pdk;
using Tremor.Script;

namespace Tremor.Actors.Tests;

/// <summary>qos::backpressure in a real pipeline actor: a downstream that is slow to take output pauses the upstream.</summary>
public sealed class QosPipelineTests : TremorTestKit
{
    private static Event Ev(ulong seq) => new() { Id = new EventId(1, 0, 0, seq), IngestNs = seq, Data = Value.From((long)seq) };

    [Fact]
    public void A_slow_downstream_opens_the_upstream_breaker_through_a_pausing_backpressure_operator_and_it_closes_after_the_backoff()
    {
        var query = Query.Compile("""
            define operator bp from qos::backpressure with timeout = 1, steps = [200], method = "pause" end;
            create operator bp;
            select event from in into bp;
            select event from bp into out;
            """, "bp.trickle");
        var spec = new PipelineSpec("f", "main", "query", "tremor.flows.f.pipelines.main", new PluginConfig("tremor.flows.f.pipelines.main", null));
        var upstream = CreateTestProbe();
        var downstream = CreateTestProbe();
        var pipeline = Sys.ActorOf(PipelineActor.Props(spec, new QueryProgram(query.Instantiate()), DataPath(credits: 1)));
        pipeline.Tell(new LinkOutput("out", downstream.Ref, "in"));
        pipeline.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();

        // The downstream has granted nothing yet: the output of this batch waits.
        pipeline.Tell(new EventBatch("in", [Ev(1)]), upstream.Ref);
        downstream.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        // It takes it only now, well past the operator's 1 ms timeout: the operator backs off and pauses the upstream.
        pipeline.Tell(new Credit(1), downstream.Ref);
        Assert.Equal(Value.From(1L), downstream.ExpectMsg<EventBatch>().Events.Single().Data);
        var opened = upstream.FishForMessage<CircuitBreaker>(_ => true);
        Assert.True(opened.Open, opened.ToString());
        Assert.Contains("qos::backpressure", opened.Reason);

        // After the 200 ms backoff a tick lets the upstream try again.
        var closed = upstream.FishForMessage<CircuitBreaker>(_ => true, TimeSpan.FromSeconds(10));
        Assert.False(closed.Open, closed.ToString());
    }
}
