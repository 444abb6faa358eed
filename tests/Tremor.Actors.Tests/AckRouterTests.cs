using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>Ack routing without actors: which source and which plugin hear of a delivery or a failure, once, with the right weight.</summary>
public sealed class AckRouterTests
{
    /// <summary>Records what the router sends; sources not in <see cref="Running"/> are gone.</summary>
    private sealed class Routes : IAckRoutes
    {
        public HashSet<uint> Running { get; } = [1, 2];

        public bool InstanceRuns { get; set; } = true;

        public List<(uint Source, object Message)> ToSources { get; } = [];

        public List<(EventId[] Acked, EventId[] Failed)> ToPlugins { get; } = [];

        public bool ToSource(uint sourceId, object message)
        {
            if (!Running.Contains(sourceId)) return false;
            ToSources.Add((sourceId, message));
            return true;
        }

        public bool ToPlugin(EventId[] acked, EventId[] failed)
        {
            if (!InstanceRuns) return false;
            ToPlugins.Add((acked, failed));
            return true;
        }
    }

    private readonly Routes _routes = new();

    private static Event E(uint source, ulong pull, ulong sequence) => new() { Id = new EventId(source, 0, pull, sequence), Transactional = true };

    [Fact]
    public void A_pull_is_acked_to_its_plugin_once_when_every_copy_of_every_event_came_back()
    {
        var router = new AckRouter(_routes);
        var events = new[] { E(1, 7, 1), E(1, 7, 2) };
        var weights = router.Register(events)!;
        var half = weights[0] / 2;

        router.Returned([events[0].Id], [half], failed: false);
        router.Returned([events[1].Id], [weights[1]], failed: false);
        Assert.Empty(_routes.ToPlugins);

        router.Returned([events[0].Id], [weights[0] - half], failed: false);
        var (acked, failed) = Assert.Single(_routes.ToPlugins);
        Assert.Equal([events[0].Id], acked);
        Assert.Empty(failed);
        Assert.Equal(0, router.OpenPulls);
    }

    [Fact]
    public void A_pull_fails_at_its_first_failed_copy_and_what_comes_back_for_it_later_is_ignored()
    {
        var router = new AckRouter(_routes);
        var events = new[] { E(1, 3, 1), E(1, 3, 2) };
        var weights = router.Register(events)!;

        router.Returned([events[1].Id], [weights[1]], failed: true);
        router.Returned([events[0].Id], [weights[0]], failed: false);

        var (acked, failed) = Assert.Single(_routes.ToPlugins);
        Assert.Empty(acked);
        Assert.Equal([events[0].Id], failed);
    }

    [Fact]
    public void Pulls_settled_while_no_instance_runs_are_not_told_to_the_next_instance()
    {
        var router = new AckRouter(_routes);
        var first = E(1, 1, 1);
        var weights = router.Register([first])!;
        _routes.InstanceRuns = false;
        router.Returned([first.Id], weights, failed: false);

        _routes.InstanceRuns = true;
        router.NewInstance();
        var second = E(1, 1, 2);
        router.Returned([second.Id], router.Register([second])!, failed: false);

        var (acked, _) = Assert.Single(_routes.ToPlugins);
        Assert.Equal([second.Id], acked);
    }

    [Fact]
    public void A_batch_from_one_source_goes_back_to_it_as_one_message_without_the_copies_that_owe_nothing()
    {
        var router = new AckRouter(_routes);
        var delivered = new[] { E(1, 1, 1), E(1, 2, 2), E(1, 3, 3) };
        router.Acked(delivered, [5, 0, 6]);
        var message = Assert.IsType<ConnectorActor.AckEvents>(Assert.Single(_routes.ToSources).Message);
        Assert.Equal([delivered[0].Id, delivered[2].Id], message.Ids);
        Assert.Equal([5L, 6], message.Weights);
        Assert.Equal(3, router.Delivered);
    }

    [Fact]
    public void A_sink_returns_each_copys_weight_to_the_source_that_made_it_and_counts_what_no_source_hears_of_as_lost()
    {
        var router = new AckRouter(_routes);
        var delivered = new[] { E(1, 1, 1), E(2, 1, 1) };
        router.Acked(delivered, [5, 6]);
        var failed = new[] { E(1, 1, 2), E(3, 1, 1), E(2, 1, 2) };
        router.Failed(failed, [7, 8, 0], "refused");

        Assert.Equal(2, router.Delivered);
        Assert.Equal(1, router.FailedBack);
        // Source 3 is gone and the third event owed no ack: nobody replays them.
        Assert.Equal(2, router.Lost);
        Assert.Collection(
            _routes.ToSources,
            m => Assert.Equal($"1: {delivered[0].Id} 5", AckOf(m)),
            m => Assert.Equal($"2: {delivered[1].Id} 6", AckOf(m)),
            m => Assert.Equal($"1: {failed[0].Id} 7 refused", AckOf(m)));
    }

    [Fact]
    public void An_asynchronous_sink_settles_later_by_event_id_with_the_weight_the_copy_carried()
    {
        var router = new AckRouter(_routes);
        var events = new[] { E(1, 1, 1), E(1, 1, 2) };
        router.Pending(events, [AckWeights.PerEvent, AckWeights.PerEvent]);
        router.CallAnswered();
        Assert.Equal(2, router.PendingAsync);

        router.Settled([events[1].Id], null, null, null);
        router.Settled([events[0].Id], "timed out", null, null);

        Assert.Equal(0, router.PendingAsync);
        Assert.Equal(1, router.Delivered);
        Assert.Equal(1, router.Lost);
        Assert.Equal([$"1: {events[1].Id} {AckWeights.PerEvent}", $"1: {events[0].Id} {AckWeights.PerEvent} timed out"], _routes.ToSources.Select(AckOf));
    }

    [Fact]
    public void A_settlement_that_comes_before_the_reply_of_its_call_is_routed_once_with_the_calls_weight()
    {
        var router = new AckRouter(_routes);
        var events = new[] { E(1, 1, 1), E(1, 1, 2) };
        long[] weights = [3, 4];

        // The plugin settles the first event through the host while the call is still in flight, then replies Pending.
        router.Settled([events[0].Id], null, events, weights);
        router.Pending(events, weights);
        router.CallAnswered();
        router.Settled([events[1].Id], null, null, null);

        Assert.Equal([$"1: {events[0].Id} 3", $"1: {events[1].Id} 4"], _routes.ToSources.Select(AckOf));
        Assert.Equal(0, router.PendingAsync);
    }

    /// <summary>An ack or fail as one line: source, ids with their weights, and the reason of a fail.</summary>
    private static string AckOf((uint Source, object Message) m) => m.Message switch
    {
        ConnectorActor.AckEvents a => $"{m.Source}: {Pairs(a.Ids, a.Weights)}",
        ConnectorActor.FailEvents f => $"{m.Source}: {Pairs(f.Ids, f.Weights)} {f.Reason}",
        _ => throw new InvalidOperationException($"not an ack: {m.Message}"),
    };

    private static string Pairs(EventId[] ids, long[] weights) => string.Join(", ", ids.Zip(weights, (id, w) => $"{id} {w}"));
}
