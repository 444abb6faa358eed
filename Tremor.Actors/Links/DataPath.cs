using Akka.Actor;
using Tremor.Pdk;

namespace Tremor.Actors.Links;

/// <summary>A batch of events sent from an upstream to one of a downstream's input ports.</summary>
/// <param name="Port">The downstream's input port.</param>
/// <param name="Events">The events, in order.</param>
/// <param name="Weights">
/// Per event, the share of its transactional source's acknowledgement this copy carries (see <see cref="AckWeights"/>);
/// null when no event of the batch is owed an ack, so non-transactional batches carry nothing extra.
/// </param>
internal sealed record EventBatch(string Port, Event[] Events, long[]? Weights = null);

/// <summary>
/// End-to-end acknowledgement by weights: a transactional source gives every event it emits
/// <see cref="PerEvent"/>; wherever a copy of it is fanned out (a port linked to several downstreams, a pipeline that
/// emits it more than once) its weight is split between the copies, and wherever a copy ends (a sink acks or fails it,
/// a pipeline drops it) its weight goes back to the source. The source acks once the whole weight is back and fails at
/// the first failure. Nothing is announced at a fan-out, so no message race can settle an event early, and a batch of
/// events owed no ack carries no weights at all.
/// </summary>
internal static class AckWeights
{
    /// <summary>What each transactional event starts with: enough to be split in two 32 times over.</summary>
    public const long PerEvent = 1L << 32;

    /// <summary>
    /// The part of <paramref name="weights"/> that target <paramref name="index"/> of <paramref name="targets"/> carries: an
    /// even share each, the first target also takes the remainder, so the shares add up to the whole.
    /// </summary>
    public static long[] Share(long[] weights, int targets, int index)
    {
        var share = new long[weights.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            var w = weights[i];
            share[i] = w / targets + (index == 0 ? w % targets : 0);
        }
        return share;
    }
}

/// <summary>
/// Cuts an actor's output into batches of at most batch-size events: a batch is what one credit pays for, so no link
/// ever carries more than batch-size × credits events, whatever one pull or one program step produced.
/// </summary>
internal static class Batches
{
    /// <summary>
    /// The batch of <paramref name="events"/> that starts at <paramref name="from"/>: at most
    /// <paramref name="batchSize"/> events. An array that fits whole is returned as it is, so the usual case copies
    /// nothing.
    /// </summary>
    public static Event[] Slice(Event[] events, int from, int batchSize)
    {
        batchSize = Math.Max(1, batchSize);
        if (from == 0 && events.Length <= batchSize) return events;
        return events.AsSpan(from, Math.Min(batchSize, events.Length - from)).ToArray();
    }

    /// <summary>The weights that go with <see cref="Slice(Event[], int, int)"/> of the same arguments (null stays null).</summary>
    public static long[]? Slice(long[]? weights, int from, int batchSize)
    {
        if (weights is null) return null;
        batchSize = Math.Max(1, batchSize);
        if (from == 0 && weights.Length <= batchSize) return weights;
        return weights.AsSpan(from, Math.Min(batchSize, weights.Length - from)).ToArray();
    }
}

/// <summary>A downstream lets an upstream send <paramref name="Batches"/> more batches.</summary>
internal sealed record Credit(int Batches);

/// <summary>An upstream will send nothing more on this link (it finished or drained).</summary>
internal sealed record EndOfStream
{
    /// <summary>The one instance.</summary>
    public static EndOfStream Instance { get; } = new();
}

/// <summary>
/// Downstream → upstream: a circuit breaker opened (<paramref name="Open"/>: a sink lost its peer and is reconnecting)
/// or closed again. Sources stop pulling while any breaker downstream of them is open; pipelines pass it upstream.
/// </summary>
internal sealed record CircuitBreaker(bool Open, string Reason);

/// <summary>Which downstreams hold a circuit breaker open (an actor's bookkeeping for <see cref="Links.CircuitBreaker"/>).</summary>
internal sealed class CircuitBreakers
{
    private readonly HashSet<IActorRef> _open = [];

    /// <summary>True while any downstream holds its breaker open.</summary>
    public bool IsOpen => _open.Count > 0;

    /// <summary>Applies a message from <paramref name="from"/>; true when the overall state changed (to pass on).</summary>
    public bool Apply(CircuitBreaker message, IActorRef from)
    {
        var wasOpen = IsOpen;
        if (message.Open) _open.Add(from);
        else _open.Remove(from);
        return wasOpen != IsOpen;
    }
}

/// <summary>Flow → upstream: send what leaves <paramref name="FromPort"/> to <paramref name="Target"/>'s <paramref name="ToPort"/>.</summary>
internal sealed record LinkOutput(string FromPort, IActorRef Target, string ToPort);

/// <summary>Flow → downstream: <paramref name="Upstream"/> will send to you; grant it credit.</summary>
internal sealed record LinkInput(IActorRef Upstream);

/// <summary>
/// The sending half of credit-based back-pressure: which downstreams each output port goes to and how many
/// batches each downstream still accepts. An upstream sends only while every link it would use has credit.
/// </summary>
internal sealed class Outlets
{
    private readonly Dictionary<string, List<(IActorRef Target, string Port)>> _byPort = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, int> _credits = [];

    /// <summary>Adds a link.</summary>
    public void Add(LinkOutput link)
    {
        if (!_byPort.TryGetValue(link.FromPort, out var targets))
        {
            targets = [];
            _byPort[link.FromPort] = targets;
        }
        targets.Add((link.Target, link.ToPort));
        _credits.TryAdd(link.Target, 0);
    }

    /// <summary>True when the port is linked to anything.</summary>
    public bool IsLinked(string port) => _byPort.ContainsKey(port);

    /// <summary>Records credit granted by <paramref name="from"/>.</summary>
    public void Grant(IActorRef from, int batches)
    {
        // Credit may arrive before the flow's LinkOutput (two senders, no order between them): keep it.
        _credits[from] = _credits.GetValueOrDefault(from) + batches;
    }

    /// <summary>True when every downstream can take at least one more batch (and there is at least one).</summary>
    public bool AllHaveCredit
    {
        get
        {
            if (_credits.Count == 0) return false;
            foreach (var c in _credits.Values)
            {
                if (c <= 0) return false;
            }
            return true;
        }
    }

    /// <summary>Batches the downstream with the least credit can still take; null when nothing is linked.</summary>
    public int? FewestCredits
    {
        get
        {
            if (_credits.Count == 0) return null;
            var fewest = int.MaxValue;
            foreach (var c in _credits.Values) fewest = Math.Min(fewest, c);
            return fewest;
        }
    }

    /// <summary>True when every downstream of <paramref name="port"/> can take one more batch.</summary>
    public bool HasCredit(string port)
    {
        if (!_byPort.TryGetValue(port, out var targets)) return true;
        foreach (var (target, _) in targets)
        {
            if (_credits[target] <= 0) return false;
        }
        return true;
    }

    /// <summary>How many downstreams <paramref name="port"/> goes to (0 when unlinked).</summary>
    public int TargetCount(string port) => _byPort.TryGetValue(port, out var targets) ? targets.Count : 0;

    /// <summary>
    /// Sends a batch to every downstream of <paramref name="port"/>, spending one credit each; the acknowledgement
    /// <paramref name="weights"/> are split between the downstreams. Returns false when the port is unlinked.
    /// </summary>
    public bool Send(string port, Event[] events, IActorRef self, long[]? weights = null)
    {
        if (!_byPort.TryGetValue(port, out var targets)) return false;
        for (var i = 0; i < targets.Count; i++)
        {
            var (target, toPort) = targets[i];
            _credits[target]--;
            var share = weights is null || targets.Count == 1 ? weights : AckWeights.Share(weights, targets.Count, i);
            target.Tell(new EventBatch(toPort, events, share), self);
        }
        return true;
    }

    /// <summary>Tells every downstream the stream ended.</summary>
    public void EndAll(IActorRef self)
    {
        foreach (var target in _credits.Keys) target.Tell(EndOfStream.Instance, self);
    }
}
