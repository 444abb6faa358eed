namespace Tremor.Actors.Links;

/// <summary>
/// The granting half of credit-based back-pressure: one budget of batches shared by all of an actor's upstreams, so
/// what waits in front of its downstream does not grow with the number of inputs (two sources into one pipeline hold
/// as many batches as one). A unit of credit is held by an upstream from the grant until the output of the batch it
/// paid for has left; a unit that comes back goes to the live upstream holding the fewest (the one granted longest
/// ago on a tie), so busy upstreams share the budget evenly. Every live upstream always holds at least one unit, even
/// past the budget, so none starves while the others keep theirs; an upstream that ended gives back what it did not
/// spend. Plain, so it is tested without actors.
/// </summary>
/// <typeparam name="TUpstream">Who is granted credit (an actor ref in the runtime).</typeparam>
internal sealed class InputCredits<TUpstream>(int budget, Action<TUpstream, int> grant)
    where TUpstream : notnull
{
    private readonly int _budget = Math.Max(1, budget);
    private readonly Dictionary<TUpstream, Input> _inputs = [];
    // Units held by all upstreams: granted and not yet spent, plus spent on a batch whose output has not left.
    private int _outstanding;
    private long _grants;

    /// <summary>Units held by all upstreams together (at most the budget, or one per live upstream when there are more).</summary>
    public int Outstanding => _outstanding;

    /// <summary>Units <paramref name="upstream"/> holds: granted and unspent, plus batches of it still in the actor.</summary>
    public int Holding(TUpstream upstream) => _inputs.TryGetValue(upstream, out var input) ? input.Unspent + input.InActor : 0;

    /// <summary><paramref name="upstream"/> will send: it gets its share now (at least one unit).</summary>
    public void Link(TUpstream upstream)
    {
        if (_inputs.ContainsKey(upstream)) return;
        _inputs[upstream] = new Input();
        Refill();
    }

    /// <summary>A batch of <paramref name="upstream"/> arrived: one of its units is spent on it until <see cref="Released"/>.</summary>
    public void Received(TUpstream upstream)
    {
        if (!_inputs.TryGetValue(upstream, out var input))
        {
            // Sent without a link this actor saw (not a path the runtime takes): account for it, grant it nothing.
            input = new Input { Ended = true };
            _inputs[upstream] = input;
            _outstanding++;
        }
        else if (input.Unspent > 0)
        {
            input.Unspent--;
        }
        else
        {
            _outstanding++;
        }
        input.InActor++;
    }

    /// <summary>The output of a batch of <paramref name="upstream"/> left: its unit goes to whoever holds the fewest.</summary>
    public void Released(TUpstream upstream)
    {
        if (!_inputs.TryGetValue(upstream, out var input) || input.InActor == 0) return;
        input.InActor--;
        _outstanding--;
        Refill();
    }

    /// <summary><paramref name="upstream"/> sends nothing more: what it did not spend goes to the others.</summary>
    public void Ended(TUpstream upstream)
    {
        if (!_inputs.TryGetValue(upstream, out var input) || input.Ended) return;
        input.Ended = true;
        _outstanding -= input.Unspent;
        input.Unspent = 0;
        Refill();
    }

    /// <summary>Hands out free units one at a time to the live upstream holding the fewest; one grant message each.</summary>
    private void Refill()
    {
        while (true)
        {
            Input? lowest = null;
            foreach (var input in _inputs.Values)
            {
                if (input.Ended) continue;
                if (lowest is null || Held(input) < Held(lowest) || Held(input) == Held(lowest) && input.LastGrant < lowest.LastGrant) lowest = input;
            }
            if (lowest is null || _outstanding >= _budget && Held(lowest) > 0) break;
            lowest.Unspent++;
            lowest.Granting++;
            lowest.LastGrant = ++_grants;
            _outstanding++;
        }
        foreach (var (upstream, input) in _inputs)
        {
            if (input.Granting == 0) continue;
            var n = input.Granting;
            input.Granting = 0;
            grant(upstream, n);
        }
    }

    private static int Held(Input input) => input.Unspent + input.InActor;

    private sealed class Input
    {
        public int Unspent;
        public int InActor;
        public int Granting;
        public long LastGrant;
        public bool Ended;
    }
}
