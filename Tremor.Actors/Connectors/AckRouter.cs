using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>Where an <see cref="AckRouter"/> sends: the connector actor implements it with the runtime's source registry and its plugin proxy.</summary>
internal interface IAckRoutes
{
    /// <summary>Sends an ack or fail to the transactional source numbered <paramref name="sourceId"/>; false when it no longer runs.</summary>
    bool ToSource(uint sourceId, object message);

    /// <summary>Tells this connector's source plugin which of its pulls were acked and failed; false when no instance runs.</summary>
    bool ToPlugin(EventId[] acked, EventId[] failed);
}

/// <summary>
/// Acknowledgements through one connector, both ways. As a sink it returns the ack weight of each copy it delivered
/// or failed to the transactional source that made it (synchronously answered, or later by an asynchronous sink by
/// event id), and counts what it delivered, failed back and lost. As a source it sums what comes back per pull in its
/// <see cref="AckLedger"/> and tells the plugin once per pull. Plain, so it is tested without actors.
/// </summary>
internal sealed class AckRouter(IAckRoutes routes)
{
    private readonly AckLedger _ledger = new();
    private readonly List<EventId> _settledAcks = [];
    private readonly List<EventId> _settledFails = [];
    // The ack weights of events an asynchronous sink has not settled yet (only events owed an ack).
    private readonly Dictionary<EventId, long> _asyncWeights = [];
    private readonly HashSet<EventId> _settledEarly = []; // settled by the plugin during the call in flight, before its reply

    /// <summary>Sink side: acknowledged by the plugin.</summary>
    public long Delivered { get; private set; }

    /// <summary>Sink side: failed (by the plugin, the encoder, or because the connector failed) with no transactional source to hear of it: lost.</summary>
    public long Lost { get; private set; }

    /// <summary>Sink side: failed and told to its transactional source (which replays it or tells its peer).</summary>
    public long FailedBack { get; private set; }

    /// <summary>Sink side: handed to an asynchronous sink, not settled yet. Below zero while a settlement came before the reply it belongs to.</summary>
    public long PendingAsync { get; private set; }

    /// <summary>Source side: records a pull's events as sent; returns their ack weights (null when none is transactional).</summary>
    public long[]? Register(Event[] events) => events.Length == 0 ? null : _ledger.Register(events);

    /// <summary>
    /// Source side: copies of this source's events came back from a sink or a pipeline. The pulls whose whole weight
    /// is back are acked to the plugin, the ones a copy failed are failed (once each); returns true when the plugin
    /// was told anything.
    /// </summary>
    public bool Returned(EventId[] ids, long[] weights, bool failed)
    {
        for (var i = 0; i < ids.Length; i++) _ledger.Return(ids[i], weights[i], failed, _settledAcks, _settledFails);
        if (_settledAcks.Count == 0 && _settledFails.Count == 0) return false;
        var told = routes.ToPlugin([.. _settledAcks], [.. _settledFails]);
        // Without an instance the pulls are no one's: the next instance has pull ids of its own.
        _settledAcks.Clear();
        _settledFails.Clear();
        return told;
    }

    /// <summary>Source side: a new plugin instance does not know the pull ids of the one before.</summary>
    public void NewInstance() => _ledger.Clear();

    /// <summary>Source side: pulls not settled yet.</summary>
    public int OpenPulls => _ledger.Count;

    /// <summary>Sink side: these copies were delivered; their weight goes back to their transactional sources.</summary>
    public void Acked(Event[] events, long[]? weights)
    {
        Delivered += events.Length;
        if (weights is null) return;
        foreach (var (source, ids, owed) in BySource(events, weights))
        {
            routes.ToSource(source, new ConnectorActor.AckEvents(ids, owed));
        }
    }

    /// <summary>
    /// The copies that carry a weight, grouped by the source that made them. One pass and no grouping when they all
    /// come from one source (the common case: a batch reaches a sink from one pipeline fed by one source).
    /// </summary>
    private static List<(uint Source, EventId[] Ids, long[] Weights)> BySource(Event[] events, long[] weights)
    {
        var groups = new List<(uint, EventId[], long[])>(1);
        var owed = 0;
        uint? single = null;
        var mixed = false;
        for (var i = 0; i < events.Length; i++)
        {
            if (weights[i] <= 0) continue;
            owed++;
            var source = events[i].Id.SourceId;
            if (single is null) single = source;
            else if (single != source) mixed = true;
        }
        if (owed == 0) return groups;
        if (!mixed)
        {
            var ids = new EventId[owed];
            var owedWeights = new long[owed];
            var n = 0;
            for (var i = 0; i < events.Length; i++)
            {
                if (weights[i] <= 0) continue;
                ids[n] = events[i].Id;
                owedWeights[n++] = weights[i];
            }
            groups.Add((single!.Value, ids, owedWeights));
            return groups;
        }
        foreach (var group in Enumerable.Range(0, events.Length).Where(i => weights[i] > 0).GroupBy(i => events[i].Id.SourceId))
        {
            groups.Add((group.Key, group.Select(i => events[i].Id).ToArray(), group.Select(i => weights[i]).ToArray()));
        }
        return groups;
    }

    /// <summary>
    /// Sink side: these copies failed. An event whose transactional source hears of it (and may replay it, or tell its
    /// peer) is failed back, not lost; any other is lost.
    /// </summary>
    public void Failed(Event[] events, long[]? weights, string reason)
    {
        var owed = weights is null ? 0 : weights.Count(w => w > 0);
        Lost += events.Length - owed;
        if (owed == 0) return;
        foreach (var (source, ids, owedWeights) in BySource(events, weights!))
        {
            if (!routes.ToSource(source, new ConnectorActor.FailEvents(ids, owedWeights, reason)))
            {
                Lost += ids.Length;
                continue;
            }
            FailedBack += ids.Length;
        }
    }

    /// <summary>
    /// Sink side: the plugin took these copies and answers for them later, by event id: the weight each carries is
    /// kept until it does (unless it already did, during the call).
    /// </summary>
    public void Pending(Event[] events, long[]? weights)
    {
        PendingAsync += events.Length;
        if (weights is not null)
        {
            for (var i = 0; i < events.Length; i++)
            {
                var id = events[i].Id;
                if (weights[i] > 0 && !_settledEarly.Contains(id)) _asyncWeights[id] = _asyncWeights.GetValueOrDefault(id) + weights[i];
            }
        }
    }

    /// <summary>Sink side: the plugin's reply to a call was taken in; what it settled during that call is past.</summary>
    public void CallAnswered() => _settledEarly.Clear();

    /// <summary>Sink side: the plugin took these payloads and answers for them later (the payload ledger knows their events).</summary>
    public void PendingPayloads(int count) => PendingAsync += count;

    /// <summary>Sink side: payloads an asynchronous sink answered for (their events are settled through the payload ledger).</summary>
    public void PayloadsSettled(int count) => PendingAsync -= count;

    /// <summary>
    /// Sink side: an asynchronous sink answered for <paramref name="ids"/> (<paramref name="error"/> null: delivered).
    /// May come before the reply of the call in flight (<paramref name="inFlightEvents"/>): the weights are then still
    /// that batch's.
    /// </summary>
    public void Settled(EventId[] ids, string? error, Event[]? inFlightEvents, long[]? inFlightWeights)
    {
        PendingAsync -= ids.Length;
        if (error is null) Delivered += ids.Length;
        else Lost += ids.Length;
        List<(EventId Id, long Weight)>? owed = null;
        Dictionary<EventId, long>? inFlight = null;
        foreach (var id in ids)
        {
            if (_asyncWeights.Remove(id, out var weight))
            {
                (owed ??= []).Add((id, weight));
                continue;
            }
            if (inFlightEvents is null || inFlightWeights is null) continue;
            if (inFlight is null)
            {
                inFlight = [];
                for (var i = 0; i < inFlightWeights.Length; i++)
                {
                    if (inFlightWeights[i] > 0) inFlight[inFlightEvents[i].Id] = inFlight.GetValueOrDefault(inFlightEvents[i].Id) + inFlightWeights[i];
                }
            }
            if (inFlight.Remove(id, out weight))
            {
                (owed ??= []).Add((id, weight));
                _settledEarly.Add(id);
            }
        }
        if (owed is null) return;
        foreach (var group in owed.GroupBy(o => o.Id.SourceId))
        {
            var groupIds = group.Select(o => o.Id).ToArray();
            var groupWeights = group.Select(o => o.Weight).ToArray();
            routes.ToSource(group.Key, error is null ? new ConnectorActor.AckEvents(groupIds, groupWeights) : new ConnectorActor.FailEvents(groupIds, groupWeights, error));
        }
    }
}
