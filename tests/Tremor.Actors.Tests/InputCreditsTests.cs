using Tremor.Actors.Links;

namespace Tremor.Actors.Tests;

/// <summary>One budget of credit shared by an actor's upstreams, without actors.</summary>
public sealed class InputCreditsTests
{
    private readonly Dictionary<string, int> _granted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sent = new(StringComparer.Ordinal);
    private readonly InputCredits<string> _credits;

    public InputCreditsTests()
    {
        _credits = new InputCredits<string>(4, (upstream, n) => _granted[upstream] = _granted.GetValueOrDefault(upstream) + n);
    }

    /// <summary>What <paramref name="upstream"/> may still send: granted, minus what it sent.</summary>
    private int Unspent(string upstream) => _granted.GetValueOrDefault(upstream) - _sent.GetValueOrDefault(upstream);

    private void Send(string upstream)
    {
        Assert.True(Unspent(upstream) > 0, $"{upstream} sent without credit");
        _sent[upstream] = _sent.GetValueOrDefault(upstream) + 1;
        _credits.Received(upstream);
    }

    [Fact]
    public void One_upstream_gets_the_whole_budget_and_a_unit_back_for_each_batch_whose_output_left()
    {
        _credits.Link("a");
        Assert.Equal(4, _granted["a"]);
        for (var i = 0; i < 4; i++) Send("a");
        _credits.Released("a");
        Assert.Equal(5, _granted["a"]);
        Assert.Equal(4, _credits.Outstanding);
    }

    [Fact]
    public void Two_busy_upstreams_end_up_holding_half_the_budget_each_and_never_more_than_the_budget_plus_one_together()
    {
        _credits.Link("a");
        _credits.Link("b");
        // a was linked first and holds the budget; b still gets a unit so it can start at once.
        Assert.Equal(4, _granted["a"]);
        Assert.Equal(1, _granted["b"]);

        var inActor = new Queue<string>();
        for (var round = 0; round < 50; round++)
        {
            foreach (var upstream in new[] { "a", "b" })
            {
                while (Unspent(upstream) > 0)
                {
                    Send(upstream);
                    inActor.Enqueue(upstream);
                }
            }
            Assert.InRange(_credits.Outstanding, 1, 5);
            // The downstream takes one batch per round: the oldest leaves and its unit comes back.
            _credits.Released(inActor.Dequeue());
        }
        Assert.Equal(2, _credits.Holding("a"));
        Assert.Equal(2, _credits.Holding("b"));
        Assert.Equal(4, _credits.Outstanding);
        // Both kept sending: neither starved.
        Assert.InRange(_sent["a"] - _sent["b"], -4, 4);
    }

    [Fact]
    public void What_an_ended_upstream_did_not_spend_goes_to_the_one_still_sending()
    {
        _credits.Link("a");
        _credits.Link("b");
        Send("b");
        _credits.Released("b");
        _credits.Ended("a");
        // a's four unspent units came back: b holds the whole budget now.
        Assert.Equal(4, _credits.Holding("b"));
        Assert.Equal(4, Unspent("b"));
        Assert.Equal(4, _credits.Outstanding);
    }

    [Fact]
    public void With_more_upstreams_than_the_budget_each_still_holds_one_unit()
    {
        foreach (var upstream in new[] { "a", "b", "c", "d", "e", "f" }) _credits.Link(upstream);
        foreach (var upstream in new[] { "b", "c", "d", "e", "f" }) Assert.Equal(1, _granted[upstream]);
        Send("f");
        _credits.Released("f");
        // f holds nothing once its batch left, so its unit comes back to it even past the budget.
        Assert.Equal(1, Unspent("f"));
    }

    [Fact]
    public void With_room_the_units_out_are_what_the_downstream_takes_plus_one_in_hand_and_come_out_when_it_grants_again()
    {
        var room = 0;
        var credits = new InputCredits<string>(4, (upstream, n) => _granted[upstream] = _granted.GetValueOrDefault(upstream) + n, () => room);
        // The downstream takes nothing yet: one batch in hand, nothing queued behind it.
        credits.Link("a");
        Assert.Equal(1, _granted["a"]);
        // It grants three: the upstream may send them and one more.
        room = 3;
        credits.RoomChanged();
        Assert.Equal(4, _granted["a"]);
        Assert.Equal(4, credits.Outstanding);
        // Never past the budget, whatever the room.
        room = 10;
        credits.RoomChanged();
        Assert.Equal(4, credits.Outstanding);
    }

    [Fact]
    public void With_no_room_each_live_upstream_still_holds_one_unit_and_gets_it_back_when_its_batch_left()
    {
        var room = 0;
        var credits = new InputCredits<string>(8, (upstream, n) => _granted[upstream] = _granted.GetValueOrDefault(upstream) + n, () => room);
        credits.Link("a");
        credits.Link("b");
        Assert.Equal((1, 1), (_granted["a"], _granted["b"]));
        credits.Received("a");
        credits.Received("b");
        // Both batches wait for the downstream: no more units go out.
        Assert.Equal((1, 1), (_granted["a"], _granted["b"]));
        // The downstream took a's batch (and has no room left): a's unit comes back to it, so neither starves.
        credits.Released("a");
        Assert.Equal((2, 1), (_granted["a"], _granted["b"]));
        Assert.Equal(2, credits.Outstanding);
    }
}
