using Tremor.Pdk;

namespace Tremor.Connectors.Nats.Tests;

/// <summary>The nats connector against a real nats-server with JetStream (one server for the class; each test has subjects of its own).</summary>
public sealed class NatsTests(NatsServer server) : IClassFixture<NatsServer>
{
    private static int _names;

    private IConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        new NatsFactory().Create(Fixtures.Context(host, [("url", server.Url), .. config]));

    private static string NewName(string prefix) => $"{prefix}{Interlocked.Increment(ref _names)}";

    private static Value S(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    [Fact]
    public async Task Core_messages_published_by_the_sink_reach_a_subscribed_source_with_subject_and_headers()
    {
        var subject = NewName("core");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", S(("subject", $"{subject}.>")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", S(("subject", $"{subject}.default")))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(
            ("{\"n\":1}", Value.Null),
            ("{\"n\":2}", Fixtures.Record(("nats", S(("subject", $"{subject}.b"), ("headers", S(("origin", "tremor")))))))));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        await source.WaitFor(p => p.Count == 2, "both messages");
        Assert.Equal($"{subject}.default", source.Pulled.Single(p => p.Text == "{\"n\":1}").Meta["nats"]["subject"].AsString());
        var second = source.Pulled.Single(p => p.Text == "{\"n\":2}");
        Assert.Equal($"{subject}.b", second.Meta["nats"]["subject"].AsString());
        Assert.Equal("tremor", second.Meta["nats"]["headers"]["origin"].AsString());
        Assert.False(source.Connector.Source!.IsTransactional);
    }

    [Fact]
    public async Task A_jetstream_message_failed_downstream_is_naked_and_redelivered_and_an_acked_one_is_not()
    {
        var stream = NewName("JS");
        await server.CreateStreamAsync(stream, $"{stream}.>");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", S(("stream", stream), ("consumer", "c")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", S(("subject", $"{stream}.x"), ("jetstream", true)))));
        Assert.True(await sink.ConnectAsync(1));
        Assert.True(source.Connector.Source!.IsTransactional);

        // The same stream sequence, delivered a second time.
        await Fixtures.FailedComesBackAndAckedDoesNot(source, sink, (bad, again) =>
        {
            Assert.Equal(stream, bad.Meta["nats"]["stream"].AsString());
            Assert.Equal(1L, bad.Meta["nats"]["delivered"].RawI64);
            Assert.Equal(2L, again.Meta["nats"]["delivered"].RawI64);
            Assert.Equal(bad.Meta["nats"]["sequence"].RawI64, again.Meta["nats"]["sequence"].RawI64);
        });
    }

    [Fact]
    public async Task A_jetstream_publish_no_stream_takes_fails_with_the_reason()
    {
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", S(("subject", NewName("nostream")), ("jetstream", true)))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(("x", Value.Null)));

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("no JetStream stream", reply.Error);
    }

    [Fact]
    public async Task A_consumer_on_a_missing_stream_is_one_error_naming_the_stream()
    {
        var host = new TestHost();
        await using var connector = Create(host, ("source", S(("stream", "MISSING"))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level == PluginLogLevel.Error);
        Assert.Contains("'MISSING'", line.Message);
    }

    [Fact]
    public async Task With_subjects_a_missing_stream_is_created_and_consumed()
    {
        var stream = NewName("MADE");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", S(("stream", stream), ("subjects", Value.From([Value.From($"{stream}.>")]))))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", S(("subject", $"{stream}.a"), ("jetstream", true)))));
        Assert.True(await sink.ConnectAsync(1));

        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("one", Value.Null)))).Status);

        await source.WaitFor(p => p.Exists(x => x.Text == "one"), "the message through the created stream");
    }

    [Fact]
    public async Task An_unreachable_server_is_one_warning_naming_the_url_and_the_runtime_retries()
    {
        var host = new TestHost();
        await using var connector = new NatsFactory().Create(Fixtures.Context(host, ("url", "nats://127.0.0.1:1"), ("connect-timeout", "1s"), ("sink", S(("subject", "x")))));

        await Fixtures.UnreachableWarning(connector, host, "nats://127.0.0.1:1");
    }
}

/// <summary>The server goes away mid-stream and comes back (its own server: the test stops it; JetStream keeps its store).</summary>
public sealed class NatsReconnectTests : IAsyncLifetime
{
    private readonly NatsServer _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task When_the_server_goes_away_the_loss_is_reported_publishes_fail_and_after_the_reconnect_nothing_acked_is_lost()
    {
        await _server.CreateStreamAsync("EVENTS", "events.>");
        var sinkHost = new TestHost();
        var sourceHost = new TestHost();
        await using var source = new BrokerRunner(new NatsFactory().Create(Fixtures.Context(sourceHost, ("url", _server.Url), ("source", Fixtures.Record(("stream", "EVENTS"), ("consumer", "durable"))))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(new NatsFactory().Create(Fixtures.Context(sinkHost, ("url", _server.Url), ("sink", Fixtures.Record(("subject", "events.x"), ("jetstream", true))))));
        Assert.True(await sink.ConnectAsync(1));
        for (var i = 0; i < 5; i++) Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status);
        await source.WaitFor(p => p.Count == 5, "the first five");
        foreach (var p in source.Pulled) await source.AckAsync(p);

        await _server.Server.StopAsync();
        await Fixtures.WaitUntil(() => sinkHost.ConnectionsLost.Count == 1, "ConnectionLost at the sink");
        var down = await sink.DeliverAsync(Fixtures.BrokerBatch(("e5", Value.Null)));
        Assert.Equal(SinkStatus.Fail, down.Status);
        Assert.Contains(_server.Url, down.Error);

        await _server.Server.StartAsync();
        await Fixtures.WaitUntil(async () => await sink.ConnectAsync(2), "the sink's reconnect");
        await Fixtures.WaitUntil(async () => await source.ConnectAsync(2), "the source's reconnect");
        // The runtime retries the failed batch after the reconnect.
        for (var i = 5; i < 10; i++) Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status);

        await source.WaitFor(p => Enumerable.Range(0, 10).All(i => p.Exists(x => x.Text == $"e{i}")), "every event the sink acked");
        Assert.Single(sinkHost.ConnectionsLost);
        Assert.Single(sourceHost.ConnectionsLost);
    }
}
