using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// A batch on its way to the sink plugin: kept until the plugin answers. <typeparamref name="TUpstream"/> names who
/// gets a credit back once it was answered (an actor in the runtime, anything in a test).
/// </summary>
internal sealed class OutboxBatch<TUpstream>(IReadOnlyList<TUpstream> creditTo, Event[] events, long[]? weights, bool bisecting, SinkBatch? payloads = null)
{
    /// <summary>The batches accepted one by one that this call carries, in order (null: it is one of them): a call over the bytes bound is cut back to a prefix of them.</summary>
    public IReadOnlyList<OutboxBatch<TUpstream>>? Parts { get; init; }

    /// <summary>Payloads encoded once (postprocessors with state); <see cref="Events"/> is then empty and the encoder's ledger knows what they carry.</summary>
    public SinkBatch? Payloads { get; } = payloads;

    /// <summary>What a bisection halves: payloads, or events.</summary>
    public int Size => Payloads?.Count ?? Events.Length;

    /// <summary>The ack weight each event carries back to its transactional source; null when none is owed an ack.</summary>
    public long[]? Weights { get; } = weights;

    /// <summary>The upstream batches this holds: each gives its sender one credit back once answered.</summary>
    public IReadOnlyList<TUpstream> CreditTo { get; } = creditTo;

    public Event[] Events { get; } = events;

    /// <summary>One half of a batch that killed the plugin: sent as it is, never coalesced, one crash is enough.</summary>
    public bool Bisecting { get; } = bisecting;

    /// <summary>How many times the plugin died with this batch in the call.</summary>
    public int Failures { get; set; }

    /// <summary>Events the encoder refused in the last encoding (failed back once the sink answered).</summary>
    public List<(Event Event, string Reason)> EncodeFailures { get; } = [];

    /// <summary>Which call into the plugin carries it: an answer for an older call is not this batch's.</summary>
    public long Sequence { get; set; }

    /// <summary>Where it was accepted among the outbox's batches: a batch put back goes to its place by this, so order holds.</summary>
    public long Order { get; set; }

    /// <summary>When it was accepted (a <see cref="System.Diagnostics.Stopwatch"/> timestamp): a held call waits at most <c>linger</c> after its oldest batch.</summary>
    public long AcceptedAt { get; set; }
}

/// <summary>What the plugin's death did to the batch in its call (see <see cref="SinkOutbox{TUpstream}.Crashed"/>).</summary>
/// <param name="Bisecting">The crash is the data's fault (a batch being narrowed down): expected, not the plugin's.</param>
/// <param name="CountsAsRestart">The crash counts towards the restart limit and grows the backoff.</param>
/// <param name="Poison">A batch of one that killed the plugin: its events (or payload) are quarantined.</param>
/// <param name="Split">The batch that was cut in two halves (both wait first in the outbox), to be logged.</param>
/// <param name="UncountedRestarts">Restarts already counted that this batch caused: taken back from the limit.</param>
internal readonly record struct CrashOutcome<TUpstream>(bool Bisecting, bool CountsAsRestart, OutboxBatch<TUpstream>? Poison, OutboxBatch<TUpstream>? Split, int UncountedRestarts);

/// <summary>
/// The sink side's outbox: the batches a connector accepted and has not had answered by its plugin. One batch is in
/// the plugin at a time (<see cref="InFlight"/>); the plugin answers it, or dies with it in the call and it is kept:
/// sent again, and once it killed the plugin <c>quarantine-after</c> times, bisected until the events that kill the
/// plugin are alone. Batches waiting for a process-isolated plugin are coalesced into one call (held for company while
/// the input is saturated, see <see cref="SinkLinger"/>), and with a depth of two (<see cref="TakeNext"/>) the next
/// call is already at the plugin's proxy while the plugin works on the current one: answers come in the order the
/// calls went out, and a batch put back returns to its place in that order. Plain, so it is tested without actors;
/// the connector actor does the sending.
/// </summary>
internal sealed class SinkOutbox<TUpstream>
{
    private readonly LinkedList<OutboxBatch<TUpstream>> _queue = new();
    // Sent and not answered, in the order sent: the first is in the plugin's call, the next waits at its proxy.
    private readonly List<OutboxBatch<TUpstream>> _inFlight = new(2);
    private long _sequence;
    private long _order;
    private int _bisectBudget;

    /// <summary>The batch in the plugin's call (the oldest sent and not answered), kept until it answers.</summary>
    public OutboxBatch<TUpstream>? InFlight => _inFlight.Count > 0 ? _inFlight[0] : null;

    /// <summary>Batches sent and not answered, in the order sent (more than one only when pipelined).</summary>
    public IReadOnlyList<OutboxBatch<TUpstream>> Sent => _inFlight;

    /// <summary>Nothing waits and nothing is in the plugin.</summary>
    public bool IsEmpty => _inFlight.Count == 0 && _queue.Count == 0;

    /// <summary>Batches waiting (not counting those in flight).</summary>
    public int Waiting => _queue.Count;

    /// <summary>Events held: waiting and in flight.</summary>
    public long HeldEvents => _queue.Sum(o => (long)o.Events.Length) + _inFlight.Sum(o => (long)o.Events.Length);

    /// <summary>A crash now is one a bisection expects: the batch in flight is a half and the budget is not spent.</summary>
    public bool BisectingWithinBudget => InFlight is { Bisecting: true } && _bisectBudget > 0;

    /// <summary>When the oldest waiting batch was accepted (see <see cref="OutboxBatch{TUpstream}.AcceptedAt"/>); null when none waits.</summary>
    public long? WaitingSince => _queue.First?.Value.AcceptedAt;

    /// <summary>Keeps <paramref name="batch"/> until the plugin answered it, after those that wait; <paramref name="acceptedAt"/> is when it arrived.</summary>
    public void Add(OutboxBatch<TUpstream> batch, long acceptedAt = 0)
    {
        batch.Order = ++_order;
        batch.AcceptedAt = acceptedAt;
        _queue.AddLast(batch);
    }

    /// <summary>
    /// The next batch to send while fewer than <paramref name="depth"/> are in flight: it joins <see cref="Sent"/> under a
    /// new sequence. With <paramref name="coalesceUpTo"/> (a process-isolated plugin) batches that wait go in one call,
    /// up to that many events. A batch that crashed the plugin or is being bisected is never sent behind another, nor
    /// another behind it: its crash must be its own. With <paramref name="holdBelow"/> (a lingering call, see
    /// <see cref="SinkLinger"/>) nothing is taken while the batches that could share the call hold fewer events: they
    /// wait for company; a batch that is sent alone anyway (suspect, payloads) is never held.
    /// </summary>
    public OutboxBatch<TUpstream>? TakeNext(int? coalesceUpTo, int depth = 1, int holdBelow = 0)
    {
        if (_inFlight.Count >= depth || _queue.First is not { } first) return null;
        if (_inFlight.Count > 0 && (Suspect(_inFlight[^1]) || Suspect(first.Value))) return null;
        if (holdBelow > 0 && coalesceUpTo is not null && Coalescable(first.Value) && CoalescableEvents(holdBelow) < holdBelow) return null;
        _queue.RemoveFirst();
        var next = coalesceUpTo is { } max ? Coalesce(first.Value, max) : first.Value;
        next.Sequence = ++_sequence;
        _inFlight.Add(next);
        return next;
    }

    private static bool Suspect(OutboxBatch<TUpstream> batch) => batch.Bisecting || batch.Failures > 0;

    private static bool Coalescable(OutboxBatch<TUpstream> batch) => !Suspect(batch) && batch.Payloads is null;

    /// <summary>Events in the waiting batches that one call could carry together (counted up to <paramref name="enough"/>).</summary>
    private int CoalescableEvents(int enough)
    {
        var count = 0;
        for (var node = _queue.First; node is not null && count < enough && Coalescable(node.Value); node = node.Next) count += node.Value.Events.Length;
        return count;
    }

    /// <summary>
    /// The plugin answered call <paramref name="sequence"/>: its batch leaves the outbox and is returned; null when the
    /// answer is not the oldest call's (a call of an instance that died since).
    /// </summary>
    public OutboxBatch<TUpstream>? Answered(long sequence)
    {
        if (InFlight is not { } answered || answered.Sequence != sequence) return null;
        _inFlight.RemoveAt(0);
        // A half that got through: the next crash is a new bisection's first step, with the budget of a fresh one.
        if (answered.Bisecting) _bisectBudget = BisectBudget(answered.Size * 2);
        return answered;
    }

    /// <summary>
    /// Keeps an answered (or never called) batch to deliver it again, at its place: before every waiting batch
    /// accepted after it, so a batch put back after its successor was answered still goes out first.
    /// </summary>
    public void KeepFirst(OutboxBatch<TUpstream> batch)
    {
        var node = _queue.First;
        while (node is not null && node.Value.Order <= batch.Order) node = node.Next;
        if (node is null) _queue.AddLast(batch);
        else _queue.AddBefore(node, batch);
    }

    /// <summary>
    /// The plugin died with <see cref="InFlight"/> in its call. The batch stays in flight (sent again to the next
    /// instance) until it killed the plugin <paramref name="quarantineAfter"/> times in a row; then it is cut in two
    /// halves that wait first, each on its own with one failure allowed, down to single events (or payloads): those are
    /// the <see cref="CrashOutcome{TUpstream}.Poison"/>. The crashes of a bisection do not count towards the restart
    /// limit, within a budget, so a plugin that fails on everything still ends failed.
    /// </summary>
    public CrashOutcome<TUpstream> Crashed(int quarantineAfter)
    {
        if (InFlight is not { } inFlight) return new(false, true, null, null, 0);
        // The calls behind the crashed one died unheard in the proxy's mailbox: they wait again, in their order.
        for (var i = _inFlight.Count - 1; i >= 1; i--) _queue.AddFirst(_inFlight[i]);
        _inFlight.RemoveRange(1, _inFlight.Count - 1);
        inFlight.Failures++;
        var threshold = inFlight.Bisecting ? 1 : quarantineAfter;
        var bisecting = true;
        OutboxBatch<TUpstream>? poison = null;
        OutboxBatch<TUpstream>? split = null;
        var uncounted = 0;
        if (inFlight.Failures < threshold)
        {
            bisecting = inFlight.Bisecting;
        }
        else if (inFlight.Size == 1)
        {
            _inFlight.Clear();
            poison = inFlight;
        }
        else
        {
            if (!inFlight.Bisecting)
            {
                _bisectBudget = BisectBudget(inFlight.Size);
                uncounted = inFlight.Failures - 1;
            }
            var half = inFlight.Size / 2;
            var (first, second) = inFlight.Payloads is { } payloads
                ? (new OutboxBatch<TUpstream>([], [], null, bisecting: true, new SinkBatch(payloads.Events.Take(half).ToList(), payloads.Bytes)),
                   new OutboxBatch<TUpstream>(inFlight.CreditTo, [], null, bisecting: true, new SinkBatch(payloads.Events.Skip(half).ToList(), payloads.Bytes)))
                : (new OutboxBatch<TUpstream>([], inFlight.Events[..half], inFlight.Weights?[..half], bisecting: true),
                   new OutboxBatch<TUpstream>(inFlight.CreditTo, inFlight.Events[half..], inFlight.Weights?[half..], bisecting: true));
            first.Order = second.Order = inFlight.Order;
            _queue.AddFirst(second);
            _queue.AddFirst(first);
            _inFlight.Clear();
            split = inFlight;
        }
        if (bisecting) _bisectBudget--;
        return new(bisecting, !bisecting || _bisectBudget <= 0, poison, split, uncounted);
    }

    /// <summary>Empties the outbox (the connector failed): every batch it held, the one in flight first.</summary>
    public List<OutboxBatch<TUpstream>> TakeAll()
    {
        var all = new List<OutboxBatch<TUpstream>>(_queue.Count + _inFlight.Count);
        all.AddRange(_inFlight);
        all.AddRange(_queue);
        _inFlight.Clear();
        _queue.Clear();
        return all;
    }

    /// <summary>Crashes a bisection may take: two per halving (a poison event in each half) plus slack.</summary>
    private static int BisectBudget(int events) => 2 * (int)Math.Ceiling(Math.Log2(Math.Max(events, 2))) + 2;

    /// <summary>
    /// A call into a process-isolated plugin costs a round trip to another process whatever its size: batches waiting
    /// go in one call (up to <paramref name="maxEvents"/> events), each still returning its own credit. A batch being
    /// bisected, retried after a crash, or made of payloads is sent as it is.
    /// </summary>
    private OutboxBatch<TUpstream> Coalesce(OutboxBatch<TUpstream> first, int maxEvents)
    {
        if (!Coalescable(first) || _queue.First is null) return first;
        // A call put back whole (not taken, or behind one that was not) is opened up again: its batches join the new call one by one.
        var parts = first.Parts is { } earlier ? new List<OutboxBatch<TUpstream>>(earlier) : [first];
        var count = first.Events.Length;
        while (_queue.First is { Value: var o } && Coalescable(o) && count + o.Events.Length <= maxEvents)
        {
            _queue.RemoveFirst();
            count += o.Events.Length;
            parts.Add(o);
        }
        return parts.Count == 1 ? first : Combine(parts);
    }

    /// <summary>
    /// The call <paramref name="sent"/> (just taken, coalesced) carries only its first <paramref name="parts"/> batches:
    /// the rest wait again at their places, first in the outbox. Returns the call that goes out, under the same sequence.
    /// </summary>
    public OutboxBatch<TUpstream> Trim(OutboxBatch<TUpstream> sent, int parts)
    {
        if (sent.Parts is not { } all || parts >= all.Count) return sent;
        var at = _inFlight.IndexOf(sent);
        if (at < 0) throw new InvalidOperationException("only a call in flight is trimmed");
        for (var i = all.Count - 1; i >= parts; i--) _queue.AddFirst(all[i]);
        var kept = parts == 1 ? all[0] : Combine(all.Take(parts).ToList());
        kept.Sequence = sent.Sequence;
        kept.EncodeFailures.Clear();
        kept.EncodeFailures.AddRange(sent.EncodeFailures);
        _inFlight[at] = kept;
        return kept;
    }

    /// <summary>One call over <paramref name="parts"/>: their events in order, their weights, every upstream's credit.</summary>
    private static OutboxBatch<TUpstream> Combine(List<OutboxBatch<TUpstream>> parts)
    {
        var count = parts.Sum(p => p.Events.Length);
        var events = new Event[count];
        long[]? weights = null;
        var credits = new List<TUpstream>(parts.Count);
        var at = 0;
        foreach (var part in parts)
        {
            part.Events.CopyTo(events, at);
            if (part.Weights is not null)
            {
                weights ??= new long[count];
                part.Weights.CopyTo(weights, at);
            }
            at += part.Events.Length;
            credits.AddRange(part.CreditTo);
        }
        return new OutboxBatch<TUpstream>(credits, events, weights, bisecting: false) { Order = parts[0].Order, Parts = parts };
    }
}
