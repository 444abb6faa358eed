using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>The steps of a hot swap without actors: what the old instance is asked, in which order, and who is told.</summary>
public sealed class HotSwapStepsTests
{
    [Fact]
    public void A_source_that_pulls_while_draining_hands_over_until_a_pull_brings_nothing_then_its_streams_and_the_sink_end_before_it_is_retired()
    {
        var steps = new Steps { PullsWhileDraining = true };
        var swap = new HotSwap<string>(new TestSourceFactory(), "api", steps);

        swap.Begin();
        Assert.True(swap.HookDone(PluginProxy.HookKind.Drain));
        Assert.True(swap.HandingOver);
        swap.Pulled(PullStatus.Data, gotAnything: true);
        swap.Pulled(PullStatus.Data, gotAnything: true);
        swap.Pulled(PullStatus.Empty, gotAnything: false);
        Assert.False(swap.HandingOver);
        // A pull answered after the hand-over ended (queued behind it) changes nothing.
        swap.Pulled(PullStatus.Data, gotAnything: true);
        swap.SourceStopped();
        Assert.True(swap.HookDone(PluginProxy.HookKind.SinkEnd));

        Assert.Equal(["drain", "pull", "pull", "pull", "stop-source", "end-sink", "retire"], steps.Calls);
    }

    [Fact]
    public void A_drained_sources_finished_ends_the_hand_over_not_the_source()
    {
        var steps = new Steps { PullsWhileDraining = true, SinkDone = true };
        var swap = new HotSwap<string>(new TestSourceFactory(), "api", steps);
        swap.Begin();
        Assert.Equal(PullStatus.Finished, swap.SourceSees(PullStatus.Finished));
        swap.HookDone(PluginProxy.HookKind.Drain);

        Assert.Equal(PullStatus.Data, swap.SourceSees(PullStatus.Finished));
        Assert.Equal(PullStatus.Empty, swap.SourceSees(PullStatus.Empty));
        swap.Pulled(PullStatus.Finished, gotAnything: true);
        swap.SourceStopped();

        Assert.Equal(["drain", "pull", "stop-source", "retire"], steps.Calls);
    }

    [Fact]
    public void Without_a_source_and_with_the_sink_ended_already_the_instance_is_retired_once_after_the_drain_hook()
    {
        var steps = new Steps { SourceDone = true, SinkDone = true };
        var swap = new HotSwap<string>(new TestSinkFactory(), "api", steps);
        swap.Begin();
        // Hooks that are not the swap's step are the connector's (a pause hook queued before the swap).
        Assert.False(swap.HookDone(PluginProxy.HookKind.Pause));
        Assert.False(swap.HookDone(PluginProxy.HookKind.SinkEnd));

        Assert.True(swap.HookDone(PluginProxy.HookKind.Drain));
        swap.TimedOut();

        Assert.Equal(["drain", "retire"], steps.Calls);
    }

    [Fact]
    public void A_source_that_does_not_pull_while_draining_only_ends_its_streams_and_a_timeout_retires_it_where_it_is()
    {
        var steps = new Steps();
        var swap = new HotSwap<string>(new TestSourceFactory(), "api", steps);
        swap.Begin();
        swap.HookDone(PluginProxy.HookKind.Drain);
        swap.TimedOut();
        // The answers that come after the timeout do not take the swap any further.
        swap.SourceStopped();
        Assert.False(swap.HookDone(PluginProxy.HookKind.SinkEnd));

        Assert.Equal(["drain", "stop-source", "retire"], steps.Calls);
    }

    [Fact]
    public void A_newer_version_asked_for_while_swapping_is_the_one_created_and_every_asker_is_told()
    {
        var v2 = new TestSinkFactory("v2");
        var v3 = new TestSinkFactory("v3");
        var swap = new HotSwap<string>(v2, "first", new Steps());

        swap.Newer(v3, "second");

        Assert.Same(v3, swap.Factory);
        Assert.Equal(["first", "second"], swap.ReplyTo);
    }

    private sealed class Steps : ISwapSteps
    {
        public List<string> Calls { get; } = [];

        public bool SourceDone { get; set; }

        public bool PullsWhileDraining { get; set; }

        public bool SinkDone { get; set; }

        public void DrainHook() => Calls.Add("drain");

        public void Pull() => Calls.Add("pull");

        public void StopSource() => Calls.Add("stop-source");

        public void EndSink() => Calls.Add("end-sink");

        public void Retire() => Calls.Add("retire");
    }
}
