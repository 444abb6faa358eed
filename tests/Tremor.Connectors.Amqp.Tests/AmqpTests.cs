using Tremor.Pdk;
using Xunit.Abstractions;

namespace Tremor.Connectors.Amqp.Tests;

/// <summary>
/// The amqp connector against a real RabbitMQ (one node for the class: it takes seconds to boot; each test has queues
/// and exchanges of its own). The last test stops and starts the node; it leaves it running.
/// </summary>
public sealed class AmqpTests(RabbitMq broker, ITestOutputHelper output) : IClassFixture<RabbitMq>
{
    private IConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        new AmqpFactory().Create(Fixtures.Context(host, [("url", broker.Url), .. config]));

    private static Value Section(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    private static Value AmqpMeta(params (string Key, Value Value)[] fields) => Fixtures.Record(("amqp", Fixtures.Record(fields)));

    private static Value Keys(params string[] keys) => Value.From(keys.Select(Value.From).ToList());

    [Fact]
    public async Task Events_published_by_the_sink_arrive_at_the_source_with_routing_key_properties_and_headers_in_the_meta()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("source", Section(("queue", "rt"), ("exchange", "rt-events"), ("binding-keys", Keys("rt.#"))))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("exchange", "rt-events"), ("exchange-type", "topic"), ("routing-key", "rt.default")))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(
            ("{\"n\":1}", Value.Null),
            ("{\"n\":2}", AmqpMeta(
                ("routing_key", "rt.b"), ("correlation_id", "c-7"), ("message_id", "m-2"), ("content_type", "application/json"),
                ("headers", Fixtures.Record(("origin", "tremor"), ("hops", 3)))))));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        await source.WaitFor(p => p.Count == 2, "both messages at the source");
        var first = source.Pulled.Single(p => p.Text == "{\"n\":1}");
        Assert.Equal("rt.default", first.Meta["amqp"]["routing_key"].AsString());
        Assert.Equal("rt-events", first.Meta["amqp"]["exchange"].AsString());
        Assert.Equal("rt", first.Meta["amqp"]["queue"].AsString());
        Assert.False(first.Meta["amqp"]["redelivered"].AsBool());
        Assert.True(first.Meta["amqp"]["persistent"].AsBool());
        var second = source.Pulled.Single(p => p.Text == "{\"n\":2}");
        var meta = second.Meta["amqp"];
        Assert.Equal(("rt.b", "c-7", "m-2", "application/json"), (meta["routing_key"].AsString(), meta["correlation_id"].AsString(), meta["message_id"].AsString(), meta["content_type"].AsString()));
        Assert.Equal("tremor", meta["headers"]["origin"].AsString());
        Assert.Equal(3L, meta["headers"]["hops"].RawI64);
        Assert.True(meta["delivery_tag"].TryGetI64(out _));

        foreach (var p in source.Pulled) await source.AckAsync(p);
        await Fixtures.WaitUntil(() => ((AmqpConnector)source.Connector).Unacknowledged == 0, "every message acked");
        Assert.True(source.Connector.Source!.IsTransactional);
    }

    [Fact]
    public async Task An_event_failed_downstream_is_redelivered_by_the_broker_and_an_acked_one_is_not()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("source", Section(("queue", "redeliver")))));
        await source.StartAsync();
        // The default exchange routes by queue name.
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("routing-key", "redeliver")))));
        Assert.True(await sink.ConnectAsync(1));

        // It comes back marked as a redelivery.
        await Fixtures.FailedComesBackAndAckedDoesNot(source, sink, (_, again) => Assert.True(again.Meta["amqp"]["redelivered"].AsBool()));
        Assert.True(host.Logged("failed downstream; nacked with requeue"));
    }

    [Fact]
    public async Task An_undecodable_message_is_dead_lettered_once_with_its_delivery_tag_logged_and_not_redelivered()
    {
        var host = new TestHost();
        await using var dead = new BrokerRunner(Create(new TestHost(), ("source", Section(("queue", "undecodable-dead"), ("exchange", "undecodable-dlx"), ("exchange-type", "fanout")))));
        await dead.StartAsync();
        await using var source = new BrokerRunner(Create(host, ("source", Section(("queue", "undecodable"), ("dead-letter-exchange", "undecodable-dlx")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("routing-key", "undecodable")))));
        Assert.True(await sink.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("{not json", Value.Null)))).Status);
        await source.WaitFor(p => p.Count == 1, "the message");
        var bad = source.Pulled[0];

        // What the runtime does when the codec refused the bytes (they went to err with the same meta).
        await source.RejectAsync(bad, "codec: expected a value at 1");

        await dead.WaitFor(p => p.Exists(x => x.Text == "{not json"), "the message in the dead-letter queue");
        Assert.Equal("undecodable", dead.Pulled.Single().Meta["amqp"]["routing_key"].AsString());
        var tag = bad.Meta["amqp"]["delivery_tag"].RawI64;
        Assert.True(host.Logged($"message {tag} from queue 'undecodable' could not be decoded (codec: expected a value at 1); rejected without requeue: dead-lettered to 'undecodable-dlx'"));
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("{\"after\":1}", Value.Null)))).Status);
        await source.WaitFor(p => p.Exists(x => x.Text == "{\"after\":1}"), "a later message");
        Assert.Single(source.Pulled, p => p.Text == "{not json");
    }

    [Fact]
    public async Task With_undecodable_ack_a_message_the_codec_refused_is_acked_and_not_redelivered()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("source", Section(("queue", "undecodable-ack"), ("undecodable", "ack")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("routing-key", "undecodable-ack")))));
        Assert.True(await sink.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("{not json", Value.Null)))).Status);
        await source.WaitFor(p => p.Count == 1, "the message");

        await source.RejectAsync(source.Pulled[0], "codec: bad");
        await source.FailAsync(source.Pulled[0]);

        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("after", Value.Null)))).Status);
        await source.WaitFor(p => p.Exists(x => x.Text == "after"), "a later message");
        Assert.Single(source.Pulled, p => p.Text == "{not json");
        Assert.True(host.Logged("acked (undecodable = ack)"));
    }

    [Fact]
    public async Task A_mandatory_message_no_queue_takes_fails_its_event_with_the_reason_and_the_rest_of_the_batch_is_acked()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("queue", "routable"), ("exchange", "mandatory-ex"), ("binding-keys", Keys("known"))))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(host, ("sink", Section(("exchange", "mandatory-ex"), ("routing-key", "known")))));
        Assert.True(await sink.ConnectAsync(1));

        var batch = Fixtures.BrokerBatch(("routed", Value.Null), ("lost", AmqpMeta(("routing_key", "nobody"))));
        var reply = await sink.DeliverAsync(batch);

        // Settled per event: the routed one acked, the returned one failed with why.
        Assert.Equal(SinkStatus.Pending, reply.Status);
        Assert.Equal([batch.Events[0].Id], host.Acked);
        var (id, reason) = Assert.Single(host.Failed);
        Assert.Equal(batch.Events[1].Id, id);
        Assert.Contains("no queue is bound to exchange 'mandatory-ex' with routing key 'nobody'", reason);
        await source.WaitFor(p => p.Exists(x => x.Text == "routed"), "the routed message");
        Assert.Empty(host.ConnectionsLost);
    }

    [Fact]
    public async Task A_queue_that_must_exist_and_does_not_is_one_error_naming_it_and_what_to_do()
    {
        var host = new TestHost();
        await using var connector = Create(host, ("source", Section(("queue", "nowhere"), ("declare", false))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Equal(PluginLogLevel.Error, line.Level);
        Assert.Contains("'nowhere'", line.Message);
        Assert.Contains("set source.declare = true", line.Message);
    }

    [Fact]
    public async Task Wrong_credentials_say_to_check_username_and_password()
    {
        var host = new TestHost();
        await using var connector = Create(host, ("username", "guest"), ("password", "wrong"), ("sink", Section()));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Equal(PluginLogLevel.Error, line.Level);
        Assert.Contains("refused the credentials of user 'guest'", line.Message);
        Assert.Contains("check username and password", line.Message);
    }

    [Fact]
    public async Task An_unreachable_broker_is_one_warning_naming_the_url_and_the_runtime_retries()
    {
        var host = new TestHost();
        await using var connector = new AmqpFactory().Create(Fixtures.Context(host, ("url", "amqp://127.0.0.1:1"), ("connect-timeout", "2s"), ("sink", Section())));

        var warning = await Fixtures.UnreachableWarning(connector, host, "amqp://127.0.0.1:1");
        Assert.Contains("is the broker running", warning);
    }

    [Fact]
    public async Task When_the_broker_stops_mid_stream_and_comes_back_no_event_the_sink_confirmed_is_lost()
    {
        var sinkHost = new TestHost();
        var sourceHost = new TestHost();
        await using var source = new BrokerRunner(Create(sourceHost, ("source", Section(("queue", "restart"), ("prefetch", 8)))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(sinkHost, ("sink", Section(("routing-key", "restart")))));
        Assert.True(await sink.ConnectAsync(1));
        var confirmed = new HashSet<string>();
        var acked = 0;

        // Plays the runtime downstream of the source: acks what was pulled (an ack to a dead channel is dropped, and
        // the broker redelivers that message).
        async Task AckPulled()
        {
            var pulled = source.Pulled;
            for (; acked < pulled.Count; acked++) await source.AckAsync(pulled[acked]);
        }

        // Plays the runtime upstream of the sink: a failed batch is retried after the sink reconnected.
        async Task Publish(int from, int count)
        {
            var batch = Enumerable.Range(from, count).Select(i => ($"{{\"id\":{i}}}", Value.Null)).ToArray();
            for (var attempt = 1; ; attempt++)
            {
                var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(batch));
                if (reply.Status == SinkStatus.Ack)
                {
                    foreach (var (payload, _) in batch) confirmed.Add(payload);
                    return;
                }
                Assert.Equal(SinkStatus.Fail, reply.Status);
                await Fixtures.WaitUntil(async () => await sink.ConnectAsync(attempt), "the sink reconnected");
            }
        }

        try
        {
            await RestartMidStream();
        }
        finally
        {
            // The other tests of the class share this node.
            if (!broker.Server.IsRunning) await broker.Server.StartAsync();
        }

        async Task RestartMidStream()
        {
            for (var b = 0; b < 5; b++) await Publish(b * 10, 10);
            await Fixtures.WaitUntil(
                async () =>
                {
                    await AckPulled();
                    return source.Pulled.Count >= 20;
                },
                "the stream under way");

            // Stopped while messages are in flight: pulled and not acked, and published but not consumed yet.
            await broker.Server.StopAsync();
            await Fixtures.WaitUntil(() => sourceHost.ConnectionsLost.Count == 1, "ConnectionLost at the source");
            await AckPulled();
            var down = await sink.DeliverAsync(Fixtures.BrokerBatch(("{\"id\":-1}", Value.Null)));
            Assert.Equal(SinkStatus.Fail, down.Status);
            Assert.Contains(broker.Url, down.Error);
            Assert.Single(sinkHost.ConnectionsLost);

            await broker.Server.StartAsync();
            await Fixtures.WaitUntil(async () => await source.ConnectAsync(2), "the source reconnected");
            for (var b = 5; b < 10; b++) await Publish(b * 10, 10);
            await Fixtures.WaitUntil(
                async () =>
                {
                    await AckPulled();
                    var seen = source.Texts.ToHashSet();
                    return confirmed.All(seen.Contains);
                },
                "every event the sink had confirmed at the source");

            var texts = source.Texts;
            var lost = confirmed.Where(c => !texts.Contains(c)).ToList();
            var duplicates = texts.Count - texts.Distinct().Count();
            output.WriteLine($"amqp broker restart: {confirmed.Count} confirmed, {texts.Distinct().Count()} distinct received, lost {lost.Count}, duplicates {duplicates}");
            Assert.Empty(lost);
            Assert.Equal(100, confirmed.Count);
        }
    }
}
