using Tremor.Actors.Connectors;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>The sink side with a payload ledger, without actors: what goes into the outbox, who gets credit, and when events are acked or failed back.</summary>
public sealed class PayloadDeliveryTests
{
    private readonly SinkOutbox<string> _outbox = new();
    private readonly Settlements _settlements = new();

    private static Event E(int n) => new() { Id = new EventId(1, 0, (ulong)n, (ulong)n), IngestNs = 1, Data = Value.From((long)n) };

    private PayloadDelivery<string> Collect(int maxEvents, string codec = "json")
    {
        var config = new ValueRecord();
        config.Append("max-events", maxEvents);
        var encoder = new SinkEncoder(
            BuiltinCodecs.FindCodec(codec)!.Create(new PluginConfig("codec", null)),
            [(BuiltinCodecs.FindPostprocessor("collect")!, new PluginConfig("post", config))]);
        return new PayloadDelivery<string>(encoder, _outbox, _settlements);
    }

    [Fact]
    public void Held_events_credit_their_upstream_at_once_and_are_acked_with_their_weights_once_the_payload_carrying_them_was_delivered()
    {
        var delivery = Collect(maxEvents: 2);

        Assert.False(delivery.Stage([E(0)], [5], "a"));
        Assert.True(_outbox.IsEmpty);
        Assert.Equal(1, delivery.Unsettled);

        Assert.True(delivery.Stage([E(1), E(2)], [6, 7], "b"));
        var call = _outbox.TakeNext(coalesceUpTo: null)!;
        Assert.Equal(["b"], call.CreditTo);
        var payload = Assert.Single(call.Payloads!.Events);
        Assert.Empty(_settlements.Acked);

        _outbox.Answered(call.Sequence);
        var settled = delivery.Answered([payload.Id], null);

        Assert.Equal([0L, 1L], settled.Select(s => s.Event.Data.RawI64));
        Assert.Equal([(0L, 5L), (1L, 6L)], _settlements.Acked.Select(a => (a.Event.Data.RawI64, a.Weight)));
        Assert.Equal(1, delivery.Unsettled);
    }

    [Fact]
    public void What_is_held_at_the_end_goes_out_in_a_payload_of_nobodys_credit_and_fails_back_with_the_sinks_reason()
    {
        var delivery = Collect(maxEvents: 10);
        Assert.False(delivery.Stage([E(0), E(1)], [1, 1], "a"));
        Assert.False(delivery.Flush(endOfStream: false));

        Assert.True(delivery.Flush(endOfStream: true));
        var call = _outbox.TakeNext(coalesceUpTo: null)!;
        Assert.Empty(call.CreditTo);
        delivery.Answered(call.Payloads!.Events.Select(p => p.Id), "the peer went away");

        var (events, weights, reason) = Assert.Single(_settlements.Failed);
        Assert.Equal([0L, 1L], events.Select(e => e.Data.RawI64));
        Assert.Equal([1L, 1L], weights);
        Assert.Equal("the peer went away", reason);
        Assert.Equal(0, delivery.Unsettled);
    }

    [Fact]
    public void A_failed_connector_fails_back_what_is_held_and_what_is_in_an_unanswered_payload_in_one_go()
    {
        var delivery = Collect(maxEvents: 2);
        delivery.Stage([E(0), E(1), E(2)], [1, 2, 3], "a");

        delivery.Abandon("connector failed");

        var (events, weights, reason) = Assert.Single(_settlements.Failed);
        Assert.Equal([0L, 1L, 2L], events.Select(e => e.Data.RawI64));
        Assert.Equal([1L, 2L, 3L], weights);
        Assert.Equal("connector failed", reason);
        Assert.Empty(_settlements.Acked);
        Assert.Equal(0, delivery.Unsettled);
    }

    [Fact]
    public void An_event_the_codec_refuses_is_failed_back_alone_with_its_weight_and_never_staged()
    {
        var delivery = Collect(maxEvents: 1, codec: "graphite");
        var good = new ValueRecord();
        good.Append("metric", "a.b");
        good.Append("value", 1);
        good.Append("timestamp", 2);
        var bad = new Event { Id = new EventId(1, 0, 9, 9), IngestNs = 1, Data = Value.From("not a metric") };

        Assert.True(delivery.Stage([bad, new Event { Id = new EventId(1, 0, 1, 1), IngestNs = 1, Data = Value.From(good) }], [4, 5], "a"));

        var (e, weight, reason) = Assert.Single(_settlements.EncodeFailures);
        Assert.Same(bad, e);
        Assert.Equal(4, weight);
        Assert.Contains("graphite", reason, StringComparison.Ordinal);
        Assert.Equal(1, delivery.Unsettled);
    }

    private sealed class Settlements : IPayloadSettlements
    {
        public List<(Event Event, long Weight)> Acked { get; } = [];

        public List<(Event[] Events, long[] Weights, string Reason)> Failed { get; } = [];

        public List<(Event Event, long Weight, string Reason)> EncodeFailures { get; } = [];

        void IPayloadSettlements.Acked(Event[] events, long[] weights) => Acked.AddRange(events.Zip(weights));

        void IPayloadSettlements.Failed(Event[] events, long[] weights, string reason) => Failed.Add((events, weights, reason));

        void IPayloadSettlements.EncodeFailed(Event e, long weight, string reason) => EncodeFailures.Add((e, weight, reason));
    }
}
