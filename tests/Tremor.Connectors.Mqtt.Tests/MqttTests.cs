using Tremor.Pdk;

namespace Tremor.Connectors.Mqtt.Tests;

/// <summary>The mqtt connector against a real mosquitto (one broker for the class; each test has topics of its own).</summary>
public sealed class MqttTests(Mosquitto broker) : IClassFixture<Mosquitto>
{
    private static int _clients;

    private IConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        new MqttFactory().Create(Fixtures.Context(host, [("url", broker.Url), .. config]));

    private static string ClientId() => $"test-{Environment.ProcessId}-{Interlocked.Increment(ref _clients)}";

    private static Value MqttMeta(params (string Key, Value Value)[] fields) => Fixtures.Record(("mqtt", Fixtures.Record(fields)));

    [Fact]
    public async Task Events_published_by_the_sink_arrive_at_the_source_with_topic_qos_and_properties_in_the_meta()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("client-id", ClientId()), ("topics", Value.From([Value.From("rt/#")]))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("client-id", ClientId()), ("topic", "rt/default")));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(
            ("{\"n\":1}", Value.Null),
            ("{\"n\":2}", MqttMeta(("topic", "rt/b"), ("properties", Fixtures.Record(("origin", "tremor")))))));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        await source.WaitFor(p => p.Count == 2, "both messages at the source");
        var first = source.Pulled.Single(p => p.Text == "{\"n\":1}");
        Assert.Equal("rt/default", first.Meta["mqtt"]["topic"].AsString());
        Assert.Equal(1L, first.Meta["mqtt"]["qos"].RawI64);
        var second = source.Pulled.Single(p => p.Text == "{\"n\":2}");
        Assert.Equal("rt/b", second.Meta["mqtt"]["topic"].AsString());
        Assert.Equal("tremor", second.Meta["mqtt"]["properties"]["origin"].AsString());
        Assert.True(source.Connector.Source!.IsTransactional);
    }

    [Fact]
    public async Task An_event_failed_downstream_is_redelivered_by_the_broker_and_an_acked_one_is_not()
    {
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("client-id", ClientId()), ("topics", Value.From([Value.From("fail/#")]))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("client-id", ClientId()), ("topic", "fail/x")));
        Assert.True(await sink.ConnectAsync(1));

        // It comes back marked as a redelivery.
        await Fixtures.FailedComesBackAndAckedDoesNot(source, sink, (_, again) => Assert.True(again.Meta["mqtt"]["dup"].AsBool()));
        Assert.True(host.Logged("failed downstream"));
    }

    [Fact]
    public async Task A_message_pulled_but_not_acked_is_redelivered_to_the_next_run_with_the_same_client_id()
    {
        var clientId = ClientId();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("client-id", ClientId()), ("topic", "session/x")));
        Assert.True(await sink.ConnectAsync(1));

        await using (var first = new BrokerRunner(Create(new TestHost(), ("client-id", clientId), ("topics", Value.From([Value.From("session/#")])))))
        {
            await first.StartAsync();
            Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("acked", Value.Null), ("in flight", Value.Null)))).Status);
            await first.WaitFor(p => p.Count == 2, "both messages");
            await first.AckAsync(first.Pulled.Single(p => p.Text == "acked"));
            await Fixtures.WaitUntil(() => ((MqttConnector)first.Connector).Unacknowledged == 1, "one PUBACK sent");
        }

        // The runtime stopped before the event was acked: no PUBACK went out, so the broker hands it to the next run.
        await using var second = new BrokerRunner(Create(new TestHost(), ("client-id", clientId), ("topics", Value.From([Value.From("session/#")]))));
        await second.StartAsync();
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("new", Value.Null)))).Status);
        await second.WaitFor(p => p.Exists(x => x.Text == "new") && p.Exists(x => x.Text == "in flight"), "the unacked message and a new one");
        Assert.DoesNotContain(second.Pulled, p => p.Text == "acked");
    }

    [Fact]
    public async Task An_event_without_a_topic_fails_with_the_reason_and_the_others_are_published()
    {
        await using var sink = new BrokerRunner(Create(new TestHost(), ("client-id", ClientId())));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(("x", Value.Null)));

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("$mqtt.topic", reply.Error);
    }

    [Fact]
    public async Task An_unreachable_broker_is_one_warning_naming_the_url_and_the_runtime_retries()
    {
        var host = new TestHost();
        await using var connector = new MqttFactory().Create(Fixtures.Context(host, ("url", "mqtt://127.0.0.1:1"), ("connect-timeout", "2s")));

        await Fixtures.UnreachableWarning(connector, host, "mqtt://127.0.0.1:1");
    }
}

/// <summary>A broker that refuses anonymous clients: the connector says the credentials are wrong.</summary>
public sealed class MqttCredentialTests : IAsyncLifetime
{
    private readonly Mosquitto _broker = new(anonymous: false);

    public Task InitializeAsync() => _broker.InitializeAsync();

    public Task DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task Refused_credentials_say_to_check_username_and_password()
    {
        var host = new TestHost();
        await using var connector = new MqttFactory().Create(Fixtures.Context(host, ("url", _broker.Url), ("username", "nobody"), ("password", "wrong")));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level == PluginLogLevel.Error);
        Assert.Contains("refused the connection", line.Message);
        Assert.Contains("check username and password", line.Message);
    }
}

/// <summary>The broker goes away mid-stream and comes back (its own broker: the test stops it).</summary>
public sealed class MqttReconnectTests : IAsyncLifetime
{
    private readonly Mosquitto _broker = new();

    public Task InitializeAsync() => _broker.InitializeAsync();

    public Task DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task When_the_broker_goes_away_the_loss_is_reported_publishes_fail_and_after_the_reconnect_nothing_acked_is_lost()
    {
        var sinkHost = new TestHost();
        var sourceHost = new TestHost();
        await using var source = new BrokerRunner(new MqttFactory().Create(Fixtures.Context(sourceHost, ("url", _broker.Url), ("client-id", "reconnect-source"), ("topics", Value.From([Value.From("re/#")])))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(new MqttFactory().Create(Fixtures.Context(sinkHost, ("url", _broker.Url), ("client-id", "reconnect-sink"), ("topic", "re/x"))));
        Assert.True(await sink.ConnectAsync(1));
        var acked = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            if ((await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status == SinkStatus.Ack) acked.Add($"e{i}");
        }
        await source.WaitFor(p => p.Count == 5, "the first five");
        foreach (var p in source.Pulled) await source.AckAsync(p);

        await _broker.Server.StopAsync();
        await Fixtures.WaitUntil(() => sinkHost.ConnectionsLost.Count == 1, "ConnectionLost at the sink");
        await Fixtures.WaitUntil(() => sourceHost.ConnectionsLost.Count == 1, "ConnectionLost at the source");
        var down = await sink.DeliverAsync(Fixtures.BrokerBatch(("e5", Value.Null)));
        Assert.Equal(SinkStatus.Fail, down.Status);
        Assert.Contains(_broker.Url, down.Error);
        Assert.False(await sink.ConnectAsync(2));

        await _broker.Server.StartAsync();
        Assert.True(await sink.ConnectAsync(3));
        Assert.True(await source.ConnectAsync(2));
        // The runtime retries the failed batch after the reconnect.
        for (var i = 5; i < 10; i++)
        {
            Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status);
            acked.Add($"e{i}");
        }

        await source.WaitFor(p => acked.All(a => p.Exists(x => x.Text == a)), "every event the sink acked");
        Assert.Single(sinkHost.ConnectionsLost);
    }
}
