using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>The sink outbox without actors: what is kept, sent again, coalesced and bisected, and who gets credit back.</summary>
public sealed class SinkOutboxTests
{
    /// <summary>An outbox holding batches a (events 0-1), b (2-3) and c (4-5), none sent.</summary>
    private static SinkOutbox<string> ThreeBatchesOfTwo()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 2)));
        outbox.Add(Batch("b", Events(2, 2)));
        outbox.Add(Batch("c", Events(4, 2)));
        return outbox;
    }

    private static Event[] Events(int from, int count) =>
        Enumerable.Range(from, count).Select(n => new Event { Id = new EventId(1, 0, (ulong)n, (ulong)n) }).ToArray();

    private static OutboxBatch<string> Batch(string upstream, Event[] events, long[]? weights = null) => new([upstream], events, weights, bisecting: false);

    [Fact]
    public void One_batch_is_in_the_plugin_at_a_time_and_stays_until_its_own_call_is_answered()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 2)));
        outbox.Add(Batch("b", Events(2, 2)));

        var first = outbox.TakeNext(coalesceUpTo: null);
        Assert.NotNull(first);
        Assert.Null(outbox.TakeNext(coalesceUpTo: null));
        // An answer from an instance that died since is not this call's.
        Assert.Null(outbox.Answered(first.Sequence - 1));
        Assert.Same(first, outbox.InFlight);
        Assert.Equal(4, outbox.HeldEvents);

        Assert.Same(first, outbox.Answered(first.Sequence));
        var second = outbox.TakeNext(coalesceUpTo: null);
        Assert.Equal(["b"], second!.CreditTo);
        Assert.True(second.Sequence > first.Sequence);
        outbox.Answered(second.Sequence);
        Assert.True(outbox.IsEmpty);
    }

    [Fact]
    public void Batches_waiting_for_an_isolated_plugin_go_in_one_call_that_still_returns_each_upstreams_credit()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 2), [1, 2]));
        outbox.Add(Batch("b", Events(2, 2)));
        outbox.Add(Batch("c", Events(4, 2), [5, 6]));

        var call = outbox.TakeNext(coalesceUpTo: 5)!;

        Assert.Equal(Events(0, 4).Select(e => e.Id), call.Events.Select(e => e.Id));
        Assert.Equal(["a", "b"], call.CreditTo);
        Assert.Equal([1L, 2L, 0L, 0L], call.Weights!);
        outbox.Answered(call.Sequence);
        Assert.Equal(["c"], outbox.TakeNext(coalesceUpTo: 5)!.CreditTo);
    }

    [Fact]
    public void A_coalesced_call_cut_back_to_its_first_batch_sends_the_others_next_in_order_under_their_own_credit()
    {
        var outbox = ThreeBatchesOfTwo();
        var call = outbox.TakeNext(coalesceUpTo: 6)!;
        Assert.Equal(3, call.Parts!.Count);

        var cut = outbox.Trim(call, 1);

        Assert.Equal(call.Sequence, cut.Sequence);
        Assert.Same(cut, outbox.InFlight);
        Assert.Equal(["a"], cut.CreditTo);
        Assert.Equal(2, outbox.Waiting);
        Assert.Same(cut, outbox.Answered(call.Sequence));
        var rest = outbox.TakeNext(coalesceUpTo: 6)!;
        Assert.Equal(Events(2, 4).Select(e => e.Id), rest.Events.Select(e => e.Id));
        Assert.Equal(["b", "c"], rest.CreditTo);
    }

    [Fact]
    public void A_batch_that_keeps_killing_the_plugin_is_sent_again_then_bisected_until_the_poison_event_is_alone()
    {
        var outbox = new SinkOutbox<string>();
        var events = Events(0, 8);
        var poison = events[5].Id;
        outbox.Add(Batch("upstream", events, Enumerable.Range(0, 8).Select(i => (long)i + 1).ToArray()));
        var delivered = new List<EventId>();
        var credits = new List<string>();
        var quarantined = new List<(EventId Id, long Weight)>();
        var restartsCounted = 0;
        var uncounted = 0;

        for (var call = 0; call < 50 && !outbox.IsEmpty; call++)
        {
            var next = outbox.InFlight ?? outbox.TakeNext(coalesceUpTo: null)!;
            if (!next.Events.Any(e => e.Id == poison))
            {
                outbox.Answered(next.Sequence);
                delivered.AddRange(next.Events.Select(e => e.Id));
                credits.AddRange(next.CreditTo);
                continue;
            }
            var crash = outbox.Crashed(quarantineAfter: 3);
            if (crash.CountsAsRestart) restartsCounted++;
            uncounted += crash.UncountedRestarts;
            if (crash.Poison is { } alone)
            {
                quarantined.Add((alone.Events[0].Id, alone.Weights![0]));
                credits.AddRange(alone.CreditTo);
            }
        }

        Assert.True(outbox.IsEmpty);
        Assert.Equal([(poison, 6L)], quarantined);
        Assert.Equal(events.Select(e => e.Id).Where(id => id != poison), delivered);
        // The upstream batch gave one credit and gets exactly one back, whichever half carries it.
        Assert.Equal(["upstream"], credits);
        // The first two crashes counted before anyone knew it was the data: both are taken back when bisecting
        // starts, and the bisection's own crashes do not count, so the data cost the plugin none of its restarts.
        Assert.Equal(2, restartsCounted);
        Assert.Equal(2, uncounted);
    }

    [Fact]
    public void A_plugin_that_dies_on_every_batch_counts_restarts_again_once_the_bisection_budget_is_spent()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("upstream", Events(0, 64)));
        var crashes = 0;
        var counted = false;
        while (!counted && crashes < 100)
        {
            if (outbox.InFlight is null) outbox.TakeNext(coalesceUpTo: null);
            var crash = outbox.Crashed(quarantineAfter: 1);
            crashes++;
            counted = crash.Bisecting && crash.CountsAsRestart;
        }

        Assert.True(counted, "the bisection never ran out of budget: a plugin failing on everything would restart forever");
        Assert.True(crashes < 64, $"{crashes} crashes before the restarts counted again: more than a bisection of 64 events needs");
    }

    [Fact]
    public void A_failed_connector_takes_back_every_batch_the_one_in_the_plugin_first()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 1)));
        outbox.Add(Batch("b", Events(1, 1)));
        outbox.Add(Batch("c", Events(2, 1)));
        outbox.TakeNext(coalesceUpTo: null);

        var all = outbox.TakeAll();

        Assert.Equal(["a", "b", "c"], all.SelectMany(b => b.CreditTo));
        Assert.True(outbox.IsEmpty);
        Assert.Equal(0, outbox.HeldEvents);
    }

    [Fact]
    public void A_batch_its_peer_went_away_under_is_delivered_again_first()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 1)));
        outbox.Add(Batch("b", Events(1, 1)));
        var first = outbox.TakeNext(coalesceUpTo: null)!;

        outbox.KeepFirst(outbox.Answered(first.Sequence)!);

        Assert.Equal(["a"], outbox.TakeNext(coalesceUpTo: null)!.CreditTo);
    }

    [Fact]
    public void Pipelined_the_next_call_goes_out_before_the_first_is_answered_and_answers_are_taken_in_order()
    {
        var outbox = ThreeBatchesOfTwo();

        var first = outbox.TakeNext(coalesceUpTo: null, depth: 2)!;
        var second = outbox.TakeNext(coalesceUpTo: null, depth: 2)!;
        Assert.Null(outbox.TakeNext(coalesceUpTo: null, depth: 2));
        Assert.Equal([first, second], outbox.Sent);
        Assert.Same(first, outbox.InFlight);
        Assert.Equal(6, outbox.HeldEvents);

        // The second call's answer cannot come first: the proxy makes calls one at a time.
        Assert.Null(outbox.Answered(second.Sequence));
        Assert.Same(first, outbox.Answered(first.Sequence));
        Assert.Same(second, outbox.InFlight);
        Assert.Equal(["c"], outbox.TakeNext(coalesceUpTo: null, depth: 2)!.CreditTo);
    }

    [Fact]
    public void A_crash_with_a_call_pipelined_behind_it_sends_the_crashed_batch_again_then_the_one_behind_it()
    {
        var outbox = ThreeBatchesOfTwo();
        var crashed = outbox.TakeNext(coalesceUpTo: null, depth: 2)!;
        outbox.TakeNext(coalesceUpTo: null, depth: 2);

        var crash = outbox.Crashed(quarantineAfter: 2);

        Assert.True(crash.CountsAsRestart);
        Assert.Equal([crashed], outbox.Sent);
        // A batch that killed the plugin goes alone: nothing is pipelined behind it, so a second crash is its own.
        Assert.Null(outbox.TakeNext(coalesceUpTo: null, depth: 2));
        Assert.Same(crashed, outbox.Answered(crashed.Sequence));
        var order = new List<string>();
        while (outbox.TakeNext(coalesceUpTo: null, depth: 2) is { } next)
        {
            order.AddRange(next.CreditTo);
            outbox.Answered(next.Sequence);
        }
        Assert.Equal(["b", "c"], order);
        Assert.True(outbox.IsEmpty);
    }

    [Fact]
    public void A_crash_that_bisects_keeps_the_pipelined_batch_behind_both_halves()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", Events(0, 4)));
        outbox.Add(Batch("b", Events(4, 2)));
        outbox.TakeNext(coalesceUpTo: null, depth: 2);
        outbox.TakeNext(coalesceUpTo: null, depth: 2);

        var crash = outbox.Crashed(quarantineAfter: 1);

        Assert.NotNull(crash.Split);
        var sent = new List<EventId>();
        while (outbox.TakeNext(coalesceUpTo: null, depth: 2) is { } next)
        {
            sent.AddRange(next.Events.Select(e => e.Id));
            outbox.Answered(next.Sequence);
        }
        Assert.Equal(Events(0, 6).Select(e => e.Id), sent);
    }

    [Fact]
    public void A_batch_put_back_after_the_one_behind_it_was_answered_still_goes_before_every_later_batch()
    {
        var outbox = ThreeBatchesOfTwo();
        var first = outbox.TakeNext(coalesceUpTo: null, depth: 2)!;
        var second = outbox.TakeNext(coalesceUpTo: null, depth: 2)!;

        // The sink was full for the first; the second came back not called: both wait again, in their order, before c.
        outbox.KeepFirst(outbox.Answered(first.Sequence)!);
        outbox.KeepFirst(outbox.Answered(second.Sequence)!);

        var order = new List<string>();
        while (outbox.TakeNext(coalesceUpTo: null) is { } next)
        {
            order.AddRange(next.CreditTo);
            outbox.Answered(next.Sequence);
        }
        Assert.Equal(["a", "b", "c"], order);
    }

    [Fact]
    public void A_failed_connector_takes_back_both_pipelined_calls_and_what_waits_in_order()
    {
        var outbox = ThreeBatchesOfTwo();
        outbox.TakeNext(coalesceUpTo: null, depth: 2);
        outbox.TakeNext(coalesceUpTo: null, depth: 2);

        Assert.Equal(["a", "b", "c"], outbox.TakeAll().SelectMany(b => b.CreditTo));
        Assert.True(outbox.IsEmpty);
    }
}
