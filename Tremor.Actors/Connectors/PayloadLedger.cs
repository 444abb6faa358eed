using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Which events the payloads of a <see cref="PayloadChain"/> carry, and when each event is settled: once no
/// postprocessor holds it any more and every payload that carried it was answered, acked when all were delivered,
/// failed (with the first reason) when one was not. A payload goes to the sink under an id of its own
/// (<see cref="PayloadSourceId"/>), since one event may make several payloads and one payload carry several events.
/// Each event keeps the ack weight its copy carries back to a transactional source (0: no ack owed).
/// </summary>
internal sealed class PayloadLedger
{
    /// <summary>The source id of payload ids: no source has it, so a payload id never reaches a source by mistake.</summary>
    public const uint PayloadSourceId = uint.MaxValue;

    private readonly Dictionary<long, Entry> _events = [];
    private readonly Dictionary<EventId, CarriedRange> _payloads = [];
    private long _next;
    private long _released;
    private ulong _nextPayload;

    /// <summary>Events not settled yet: held by a postprocessor, or in a payload not answered yet.</summary>
    public int Unsettled => _events.Count;

    /// <summary>Payloads handed out and not answered yet.</summary>
    public int OpenPayloads => _payloads.Count;

    /// <summary>Takes an event in, with the ack weight it carries; returns its number for the chain.</summary>
    public long Register(Event e, long weight = 0)
    {
        var number = _next++;
        _events[number] = new Entry(e, weight);
        return number;
    }

    /// <summary>A new payload carrying <paramref name="carries"/>: its id, and the event whose metadata it goes with (the last it carries).</summary>
    public (EventId Id, Event? Last) AddPayload(CarriedRange carries)
    {
        var id = new EventId(PayloadSourceId, 0, 0, ++_nextPayload);
        _payloads[id] = carries;
        Event? last = null;
        for (var n = carries.First; n <= carries.Last; n++)
        {
            if (!_events.TryGetValue(n, out var entry)) continue;
            entry.Pending++;
            last = entry.Event;
        }
        return (id, last);
    }

    /// <summary>A postprocessor refused these events: they fail once settled, whatever their other payloads do.</summary>
    public void Fail(CarriedRange events, string reason)
    {
        for (var n = events.First; n <= events.Last; n++)
        {
            if (_events.TryGetValue(n, out var entry)) entry.Error ??= reason;
        }
    }

    /// <summary>No postprocessor holds an event before <paramref name="heldFrom"/> any more: those carried by no open payload are settled.</summary>
    public void Release(long heldFrom, List<(Event Event, long Weight, string? Error)> settled)
    {
        var upTo = Math.Min(heldFrom, _next);
        for (var n = _released; n < upTo; n++)
        {
            if (_events.TryGetValue(n, out var entry) && entry.Pending == 0) Settle(n, entry, settled);
        }
        _released = Math.Max(_released, upTo);
    }

    /// <summary>The sink answered these payloads (<paramref name="error"/> null: delivered). Ids it does not know are ignored.</summary>
    public void Answer(IEnumerable<EventId> payloads, string? error, List<(Event Event, long Weight, string? Error)> settled)
    {
        foreach (var id in payloads)
        {
            if (!_payloads.Remove(id, out var carries)) continue;
            for (var n = carries.First; n <= carries.Last; n++)
            {
                if (!_events.TryGetValue(n, out var entry)) continue;
                entry.Pending--;
                if (error is not null) entry.Error ??= error;
                if (entry.Pending == 0 && n < _released) Settle(n, entry, settled);
            }
        }
    }

    private void Settle(long number, Entry entry, List<(Event Event, long Weight, string? Error)> settled)
    {
        _events.Remove(number);
        settled.Add((entry.Event, entry.Weight, entry.Error));
    }

    /// <summary>The connector failed: every event not settled yet fails with <paramref name="reason"/>.</summary>
    public void Abandon(string reason, List<(Event Event, long Weight, string? Error)> settled)
    {
        foreach (var (number, entry) in _events.OrderBy(e => e.Key).ToList())
        {
            entry.Error ??= reason;
            Settle(number, entry, settled);
        }
        _payloads.Clear();
        _released = _next;
    }

    private sealed class Entry(Event e, long weight)
    {
        public Event Event { get; } = e;

        public long Weight { get; } = weight;

        public int Pending { get; set; }

        public string? Error { get; set; }
    }
}
