using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>Where a <see cref="PayloadDelivery{TUpstream}"/> sends what it settled: the connector actor implements it with its ack router and counters.</summary>
internal interface IPayloadSettlements
{
    /// <summary>Every payload that carried these events was delivered: acked back with their ack weights.</summary>
    void Acked(Event[] events, long[] weights);

    /// <summary>These events failed (a payload that carried them, a postprocessor, or the connector): failed back.</summary>
    void Failed(Event[] events, long[] weights, string reason);

    /// <summary>The codec refused this event: it is failed back at once, never staged.</summary>
    void EncodeFailed(Event e, long weight, string reason);
}

/// <summary>
/// The sink side when postprocessors hold events or cut them into several payloads (the encoder has a
/// <see cref="PayloadLedger"/>): a batch is encoded once, on arrival, into payloads the outbox keeps for retries (a
/// postprocessor with state cannot run twice over the same events), and an event is settled once no stage holds it and
/// every payload that carried it was answered. The connector actor keeps the timers and the sending; this keeps what
/// goes into the outbox and what the ledger settles. Plain, so it is tested without actors.
/// </summary>
internal sealed class PayloadDelivery<TUpstream>
{
    private readonly SinkEncoder _encoder;
    private readonly PayloadLedger _ledger;
    private readonly SinkOutbox<TUpstream> _outbox;
    private readonly IPayloadSettlements _settlements;
    private readonly List<(Event Event, long Weight, string Reason)> _failed = [];
    private readonly List<(Event Event, long Weight, string? Error)> _settled = [];

    /// <summary>Over <paramref name="encoder"/>, which must have a ledger (<see cref="SinkEncoder.Ledger"/>).</summary>
    public PayloadDelivery(SinkEncoder encoder, SinkOutbox<TUpstream> outbox, IPayloadSettlements settlements)
    {
        _encoder = encoder;
        _ledger = encoder.Ledger ?? throw new ArgumentException("the encoder makes one payload per event: no payload ledger", nameof(encoder));
        _outbox = outbox;
        _settlements = settlements;
    }

    /// <summary>Events not settled yet: held by a postprocessor, or in a payload not answered yet (the sink holds them).</summary>
    public int Unsettled => _ledger.Unsettled;

    /// <summary>How long until a postprocessor's hold runs out (then <see cref="Flush"/>); null: no deadline.</summary>
    public TimeSpan? FlushDueIn => _encoder.FlushDueIn;

    /// <summary>
    /// A batch arrived from <paramref name="upstream"/>: its payloads wait in the outbox, crediting the upstream once
    /// answered. False when it made none (all is held): the upstream's credit is due at once, so holding events never
    /// stalls the flow.
    /// </summary>
    public bool Stage(Event[] events, long[]? weights, TUpstream upstream)
    {
        _failed.Clear();
        _settled.Clear();
        var payloads = _encoder.Stage(events, weights, _failed, _settled);
        foreach (var (e, weight, reason) in _failed) _settlements.EncodeFailed(e, weight, reason);
        Apply();
        if (payloads.Count == 0) return false;
        _outbox.Add(new OutboxBatch<TUpstream>([upstream], [], null, bisecting: false, payloads));
        return true;
    }

    /// <summary>
    /// Source streams ended (a server's connection closed): the sink stream of each number ends with it, so what its
    /// postprocessors hold goes out now (or is failed by the sink when the peer is gone) and its state is dropped.
    /// </summary>
    public void EndStreams(ulong[] ended)
    {
        _settled.Clear();
        foreach (var stream in ended) Keep(_encoder.EndStream(Value.From(stream), _settled));
        Apply();
    }

    /// <summary>
    /// What the postprocessors hold goes to the outbox: those whose hold ran out, or everything and each stream's end
    /// (<paramref name="endOfStream"/>: the sink drains). True when that made payloads.
    /// </summary>
    public bool Flush(bool endOfStream)
    {
        _settled.Clear();
        var made = Keep(_encoder.Flush(endOfStream, _settled));
        Apply();
        return made;
    }

    /// <summary>
    /// The sink answered these payloads (<paramref name="error"/> null: delivered), synchronously or later through the
    /// host: returns the events that settles (valid until the next call), already acked or failed back.
    /// </summary>
    public IReadOnlyList<(Event Event, long Weight, string? Error)> Answered(IEnumerable<EventId> payloads, string? error)
    {
        _settled.Clear();
        _ledger.Answer(payloads, error, _settled);
        Apply();
        return _settled;
    }

    /// <summary>The connector failed: every event held or in a payload not answered is failed back with <paramref name="reason"/>.</summary>
    public void Abandon(string reason)
    {
        _settled.Clear();
        _ledger.Abandon(reason, _settled);
        Apply();
    }

    private bool Keep(SinkBatch payloads)
    {
        if (payloads.Count == 0) return false;
        // Nobody's credit: each upstream batch was staged with the payloads it made (or credited at once).
        _outbox.Add(new OutboxBatch<TUpstream>([], [], null, bisecting: false, payloads));
        return true;
    }

    /// <summary>Events the ledger settled: acked when every payload that carried them was delivered, failed (grouped by reason) otherwise.</summary>
    private void Apply()
    {
        if (_settled.Count == 0) return;
        var acked = _settled.Where(s => s.Error is null).ToArray();
        _settlements.Acked(acked.Select(s => s.Event).ToArray(), acked.Select(s => s.Weight).ToArray());
        foreach (var group in _settled.Where(s => s.Error is not null).GroupBy(s => s.Error!, StringComparer.Ordinal))
        {
            var events = group.ToArray();
            _settlements.Failed(events.Select(s => s.Event).ToArray(), events.Select(s => s.Weight).ToArray(), group.Key);
        }
    }
}
