using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Which events the payloads of a <see cref="PayloadChain"/> carry, and when each event is settled: once no
/// postprocessor holds it any more and every payload that carried it was answered, acked when all were delivered,
/// failed (with the first reason) when one was not. A payload goes to the sink under an id of its own
/// (<see cref="PayloadSourceId"/>), since one event may make several payloads and one payload carry several events.
/// Each event keeps the ack weight its copy carries back to a transactional source (0: no ack owed). A sink of several
/// streams runs a chain per stream, each numbering its events from 0: the ledger keeps a lane per chain.
/// </summary>
internal sealed class PayloadLedger
{
    /// <summary>The source id of payload ids: no source has it, so a payload id never reaches a source by mistake.</summary>
    public const uint PayloadSourceId = uint.MaxValue;

    private readonly Dictionary<(int Lane, long Number), Entry> _events = [];
    private readonly Dictionary<EventId, (int Lane, CarriedRange Carries)> _payloads = [];
    private readonly Dictionary<int, Lane> _lanes = [];
    private ulong _nextPayload;

    /// <summary>Events not settled yet: held by a postprocessor, or in a payload not answered yet.</summary>
    public int Unsettled => _events.Count;

    /// <summary>Payloads handed out and not answered yet.</summary>
    public int OpenPayloads => _payloads.Count;

    /// <summary>Takes an event in, with the ack weight it carries; returns its number for the chain of <paramref name="lane"/>.</summary>
    public long Register(Event e, long weight = 0, int lane = 0)
    {
        var number = LaneOf(lane).Next++;
        _events[(lane, number)] = new Entry(e, weight);
        return number;
    }

    /// <summary>A new payload carrying <paramref name="carries"/> of <paramref name="lane"/>: its id, and the event whose metadata it goes with (the last it carries).</summary>
    public (EventId Id, Event? Last) AddPayload(CarriedRange carries, int lane = 0)
    {
        var id = new EventId(PayloadSourceId, 0, 0, ++_nextPayload);
        _payloads[id] = (lane, carries);
        Event? last = null;
        for (var n = carries.First; n <= carries.Last; n++)
        {
            if (!_events.TryGetValue((lane, n), out var entry)) continue;
            entry.Pending++;
            last = entry.Event;
        }
        return (id, last);
    }

    /// <summary>A postprocessor refused these events: they fail once settled, whatever their other payloads do.</summary>
    public void Fail(CarriedRange events, string reason, int lane = 0)
    {
        for (var n = events.First; n <= events.Last; n++)
        {
            if (_events.TryGetValue((lane, n), out var entry)) entry.Error ??= reason;
        }
    }

    /// <summary>No postprocessor holds an event before <paramref name="heldFrom"/> any more: those carried by no open payload are settled.</summary>
    public void Release(long heldFrom, List<(Event Event, long Weight, string? Error)> settled, int lane = 0)
    {
        var state = LaneOf(lane);
        var upTo = Math.Min(heldFrom, state.Next);
        for (var n = state.Released; n < upTo; n++)
        {
            if (_events.TryGetValue((lane, n), out var entry) && entry.Pending == 0) Settle((lane, n), entry, settled);
        }
        state.Released = Math.Max(state.Released, upTo);
    }

    /// <summary>The chain of <paramref name="lane"/> is gone (its stream ended and was flushed): its numbers are forgotten once nothing of it is open.</summary>
    public void CloseLane(int lane)
    {
        if (_lanes.TryGetValue(lane, out var state)) state.Closed = true;
        ForgetIfDone(lane);
    }

    private void ForgetIfDone(int lane)
    {
        if (_lanes.TryGetValue(lane, out var state) && state.Closed && state.Unsettled == 0) _lanes.Remove(lane);
    }

    private Lane LaneOf(int lane)
    {
        if (!_lanes.TryGetValue(lane, out var state)) _lanes[lane] = state = new Lane();
        return state;
    }

    /// <summary>The sink answered these payloads (<paramref name="error"/> null: delivered). Ids it does not know are ignored.</summary>
    public void Answer(IEnumerable<EventId> payloads, string? error, List<(Event Event, long Weight, string? Error)> settled)
    {
        foreach (var id in payloads)
        {
            if (!_payloads.Remove(id, out var payload)) continue;
            var (lane, carries) = payload;
            var released = _lanes.TryGetValue(lane, out var state) ? state.Released : long.MaxValue;
            for (var n = carries.First; n <= carries.Last; n++)
            {
                if (!_events.TryGetValue((lane, n), out var entry)) continue;
                entry.Pending--;
                if (error is not null) entry.Error ??= error;
                if (entry.Pending == 0 && n < released) Settle((lane, n), entry, settled);
            }
            ForgetIfDone(lane);
        }
    }

    private void Settle((int Lane, long Number) key, Entry entry, List<(Event Event, long Weight, string? Error)> settled)
    {
        _events.Remove(key);
        if (_lanes.TryGetValue(key.Lane, out var state)) state.Settled++;
        settled.Add((entry.Event, entry.Weight, entry.Error));
    }

    /// <summary>The connector failed: every event not settled yet fails with <paramref name="reason"/>.</summary>
    public void Abandon(string reason, List<(Event Event, long Weight, string? Error)> settled)
    {
        foreach (var (key, entry) in _events.OrderBy(e => e.Key.Lane).ThenBy(e => e.Key.Number).ToList())
        {
            entry.Error ??= reason;
            Settle(key, entry, settled);
        }
        _payloads.Clear();
        foreach (var state in _lanes.Values) state.Released = state.Next;
    }

    /// <summary>A chain's numbering: the next number, and up to where no postprocessor holds events any more.</summary>
    private sealed class Lane
    {
        public long Next { get; set; }

        public long Released { get; set; }

        public long Settled { get; set; }

        public bool Closed { get; set; }

        public long Unsettled => Next - Settled;
    }

    private sealed class Entry(Event e, long weight)
    {
        public Event Event { get; } = e;

        public long Weight { get; } = weight;

        public int Pending { get; set; }

        public string? Error { get; set; }
    }
}
