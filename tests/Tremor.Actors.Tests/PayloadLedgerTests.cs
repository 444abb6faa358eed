using Tremor.Actors.Connectors;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>When events that postprocessors held, cut or joined are acked or failed back: only once every payload that carried them was answered.</summary>
public sealed class PayloadLedgerTests
{
    private static Event E(ulong n) => new() { Id = new EventId(1, 0, n, n), Transactional = true };

    private readonly List<(Event Event, long Weight, string? Error)> _settled = [];

    [Fact]
    public void An_event_cut_into_three_payloads_is_acked_only_when_the_third_was_delivered()
    {
        var ledger = new PayloadLedger();
        var e = E(0);
        var n = ledger.Register(e, weight: 3);
        var ids = Enumerable.Range(0, 3).Select(_ => ledger.AddPayload(new CarriedRange(n, n)).Id).ToList();
        ledger.Release(long.MaxValue, _settled);
        Assert.All(ids, id => Assert.Equal(PayloadLedger.PayloadSourceId, id.SourceId));
        ledger.Answer(ids.Take(2), null, _settled);
        Assert.Empty(_settled);
        ledger.Answer([ids[2]], null, _settled);
        Assert.Equal((e, 3L, (string?)null), Assert.Single(_settled));
        Assert.Equal(0, ledger.Unsettled);
    }

    [Fact]
    public void An_event_fails_with_the_first_payload_that_failed_even_when_the_others_were_delivered()
    {
        var ledger = new PayloadLedger();
        var n = ledger.Register(E(0));
        var (first, _) = ledger.AddPayload(new CarriedRange(n, n));
        var (second, _) = ledger.AddPayload(new CarriedRange(n, n));
        ledger.Release(long.MaxValue, _settled);
        ledger.Answer([first], "the peer refused it", _settled);
        ledger.Answer([second], null, _settled);
        Assert.Equal("the peer refused it", Assert.Single(_settled).Error);
    }

    [Fact]
    public void Events_held_by_a_postprocessor_wait_and_fail_together_with_the_payload_that_carried_them()
    {
        var ledger = new PayloadLedger();
        var events = Enumerable.Range(0, 3).Select(i => E((ulong)i)).ToList();
        foreach (var e in events) ledger.Register(e);
        // All three held (collect): nothing settles, whatever is answered.
        ledger.Release(heldFrom: 0, _settled);
        Assert.Empty(_settled);
        Assert.Equal(3, ledger.Unsettled);
        var (id, last) = ledger.AddPayload(new CarriedRange(0, 2));
        Assert.Same(events[2], last);
        ledger.Release(long.MaxValue, _settled);
        Assert.Empty(_settled);
        ledger.Answer([id], "sink down", _settled);
        Assert.Equal(events, _settled.Select(s => s.Event));
        Assert.All(_settled, s => Assert.Equal("sink down", s.Error));
    }

    [Fact]
    public void A_payload_delivered_before_the_rest_of_its_event_left_the_postprocessor_does_not_settle_it_early()
    {
        var ledger = new PayloadLedger();
        var n = ledger.Register(E(0));
        var (head, _) = ledger.AddPayload(new CarriedRange(n, n));
        ledger.Release(heldFrom: n, _settled); // the tail is still held
        ledger.Answer([head], null, _settled);
        Assert.Empty(_settled);
        var (tail, _) = ledger.AddPayload(new CarriedRange(n, n));
        ledger.Release(long.MaxValue, _settled);
        Assert.Empty(_settled);
        ledger.Answer([tail], null, _settled);
        Assert.Single(_settled);
    }

    [Fact]
    public void An_event_carried_by_no_payload_is_settled_when_released_and_unknown_ids_are_ignored()
    {
        var ledger = new PayloadLedger();
        var failed = E(0);
        ledger.Register(failed);
        ledger.Fail(new CarriedRange(0, 0), "postprocessor 'chunk': too big");
        ledger.Register(E(1));
        ledger.Release(long.MaxValue, _settled);
        Assert.Equal(["postprocessor 'chunk': too big", null], _settled.Select(s => s.Error));
        ledger.Answer([new EventId(PayloadLedger.PayloadSourceId, 0, 0, 99), new EventId(1, 0, 0, 0)], "late", _settled);
        Assert.Equal(2, _settled.Count);
    }

    [Fact]
    public void A_failed_connector_fails_back_every_event_held_or_in_an_unanswered_payload()
    {
        var ledger = new PayloadLedger();
        var sent = E(0);
        var held = E(1);
        ledger.Register(sent, weight: 1);
        ledger.AddPayload(new CarriedRange(0, 0));
        ledger.Register(held, weight: 1);
        ledger.Release(heldFrom: 1, _settled);
        Assert.Empty(_settled);
        ledger.Abandon("connector failed", _settled);
        Assert.Equal([(sent, 1L, "connector failed"), (held, 1L, "connector failed")], _settled.Select(s => (s.Event, s.Weight, s.Error)));
        Assert.Equal(0, ledger.Unsettled);
    }
}
