using System.Runtime.InteropServices;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// A transactional source's outstanding acknowledgements, per pull: the weight its events went out with (see
/// <see cref="AckWeights"/>) and how much of it is still away. A pull is acked once every copy of every event made from it
/// came back acked (delivered by every sink it reached, or dropped by a pipeline), and failed at the first copy that
/// failed; what comes back for it after that is ignored. Used by one actor; plain, so it is tested without actors.
/// </summary>
internal sealed class AckLedger
{
    private readonly Dictionary<(ulong Stream, ulong Pull), Entry> _entries = [];

    /// <summary>Pulls not settled yet.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Records the events of one pull as sent, each with <see cref="AckWeights.PerEvent"/>; returns their weights
    /// (null when none is transactional).
    /// </summary>
    public long[]? Register(Event[] events)
    {
        long[]? weights = null;
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            if (!e.Transactional) continue;
            weights ??= new long[events.Length];
            weights[i] = AckWeights.PerEvent;
            // An entry is a struct in the dictionary: a source whose pulls are one event each (the wal, a broker
            // message per pull) allocates nothing per event here.
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, (e.Id.StreamId, e.Id.PullId), out var exists);
            if (!exists) entry.Id = e.Id;
            entry.Outstanding += AckWeights.PerEvent;
        }
        return weights;
    }

    /// <summary>
    /// A copy of event <paramref name="id"/> came back with <paramref name="weight"/>, delivered or
    /// <paramref name="failed"/>. Adds the pull to <paramref name="acked"/> or <paramref name="failedPulls"/> when that
    /// settles it.
    /// </summary>
    public void Return(EventId id, long weight, bool failed, List<EventId> acked, List<EventId> failedPulls)
    {
        if (weight <= 0) return;
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, (id.StreamId, id.PullId));
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry)) return;
        // Pull ids start again with a new plugin instance: a late copy from before it is not this pull's.
        if (id.Sequence < entry.Id.Sequence) return;
        if (failed)
        {
            failedPulls.Add(entry.Id);
            _entries.Remove((id.StreamId, id.PullId));
            return;
        }
        entry.Outstanding -= weight;
        if (entry.Outstanding > 0) return;
        acked.Add(entry.Id);
        _entries.Remove((id.StreamId, id.PullId));
    }

    /// <summary>Forgets every pull: a new plugin instance does not know the pull ids of the one before.</summary>
    public void Clear() => _entries.Clear();

    private struct Entry
    {
        /// <summary>The pull's first event: its stream and pull id name the pull to the plugin.</summary>
        public EventId Id;

        public long Outstanding;
    }
}
