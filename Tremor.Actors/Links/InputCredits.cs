namespace Tremor.Actors.Links;

/// <summary>
/// The granting half of credit-based back-pressure: one budget of batches shared by all of an actor's upstreams, so
/// what waits in front of its downstream does not grow with the number of inputs (two sources into one pipeline hold
/// as many batches as one). A unit of credit is held by an upstream from the grant until the output of the batch it
/// paid for has left; a unit that comes back goes to the live upstream holding the fewest (the one granted longest
/// ago on a tie), so busy upstreams share the budget evenly. Every live upstream always holds at least one unit, even
/// past the budget, so none starves while the others keep theirs; an upstream that ended gives back what it did not
/// spend. With <c>room</c> (an actor that passes batches on, such as a pipeline) the units out are also held to what
/// the actor's downstream can take now plus one batch in hand: in front of a slow downstream the actor queues nothing
/// of its own, so the window from the sources to the bottleneck is one budget, not one per stage (two inputs into one
/// pipeline held the pipeline's budget and the sink's full, and every gen0 collection copied those events; BENCHMARKS.md,
/// issue 22, session 9). Plain, so it is tested without actors.
/// </summary>
/// <typeparam name="TUpstream">Who is granted credit (an actor ref in the runtime).</typeparam>
/// <param name="budget">Units all upstreams hold together at most.</param>
/// <param name="grant">Tells an upstream it may send that many more batches.</param>
/// <param name="room">
/// How many more batches the actor's downstream takes now (null: no downstream, output goes nowhere, no limit); read
/// whenever units are handed out. Tell <see cref="RoomChanged"/> when it grows.
/// </param>
internal sealed class InputCredits<TUpstream>(int budget, Action<TUpstream, int> grant, Func<int?>? room = null)
    where TUpstream : notnull
{
    // What an actor that passes batches on may hold beyond its downstream's room: the batch it is working on.
    private const int InHand = 1;

    private readonly int _budget = Math.Max(1, budget);
    private readonly Dictionary<TUpstream, Input> _inputs = [];
    // Units held by all upstreams: granted and not yet spent, plus spent on a batch whose output has not left.
    private int _outstanding;
    // Of those, spent on a batch still in the actor.
    private int _inActor;
    private long _grants;

    /// <summary>Units held by all upstreams together (at most the budget, or one per live upstream when there are more).</summary>
    public int Outstanding => _outstanding;

    /// <summary>Units granted and not yet spent: batches the upstreams may still send before this actor lets one go.</summary>
    public int Unspent => _outstanding - _inActor;

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
        _inActor++;
    }

    /// <summary>The output of a batch of <paramref name="upstream"/> left: its unit goes to whoever holds the fewest.</summary>
    public void Released(TUpstream upstream)
    {
        if (!_inputs.TryGetValue(upstream, out var input) || input.InActor == 0) return;
        input.InActor--;
        _inActor--;
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

    /// <summary>The downstream took credit back into its hands (granted more): units that <c>room</c> held back may go out.</summary>
    public void RoomChanged() => Refill();

    /// <summary>
    /// Hands out free units one at a time to the live upstream holding the fewest (up to the budget, or the downstream's
    /// room plus one in hand when that is less, but always one per live upstream); one grant message each.
    /// </summary>
    private void Refill()
    {
        var cap = _budget;
        if (room?.Invoke() is { } free) cap = Math.Min(cap, Math.Max(0, free) + InHand);
        while (true)
        {
            Input? lowest = null;
            foreach (var input in _inputs.Values)
            {
                if (input.Ended) continue;
                if (lowest is null || Held(input) < Held(lowest) || Held(input) == Held(lowest) && input.LastGrant < lowest.LastGrant) lowest = input;
            }
            if (lowest is null || _outstanding >= cap && Held(lowest) > 0) break;
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
