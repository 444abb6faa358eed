using StackExchange.Redis;
using Tremor.Pdk;

namespace Tremor.Connectors.Redis.Tests;

/// <summary>The redis connector against a real redis-server (one server for the class; each test has keys of its own).</summary>
public sealed class RedisTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static int _keys;

    private IConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        new RedisFactory().Create(Fixtures.Context(host, [("url", server.Url), .. config]));

    private static string NewKey(string prefix) => $"{prefix}-{Interlocked.Increment(ref _keys)}";

    private static Value Section(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    private async Task<long> PendingAsync(string stream, string group)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Server.Port}");
        return (await redis.GetDatabase().StreamPendingAsync(stream, group)).PendingMessageCount;
    }

    [Fact]
    public async Task Stream_entries_written_by_the_sink_are_read_through_the_group_and_xacked_only_when_acked()
    {
        var stream = NewKey("s");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("stream", stream), ("group", "g"), ("start", "0")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("stream", stream)))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.BrokerBatch(
            ("{\"n\":1}", Value.Null),
            ("{\"n\":2}", Fixtures.Record(("redis", Fixtures.Record(("fields", Fixtures.Record(("origin", "tremor")))))))));
        Assert.Equal(SinkStatus.Ack, reply.Status);

        await source.WaitFor(p => p.Count == 2, "both entries");
        var second = source.Pulled.Single(p => p.Text == "{\"n\":2}");
        Assert.Equal(stream, second.Meta["redis"]["stream"].AsString());
        Assert.Matches("^[0-9]+-[0-9]+$", second.Meta["redis"]["id"].AsString());
        Assert.Equal("tremor", second.Meta["redis"]["fields"]["origin"].AsString());
        Assert.True(source.Connector.Source!.IsTransactional);
        Assert.Equal(2, await PendingAsync(stream, "g"));

        foreach (var p in source.Pulled) await source.AckAsync(p);
        await Fixtures.WaitUntil(async () => await PendingAsync(stream, "g") == 0, "both entries XACKed");
    }

    [Fact]
    public async Task A_stream_entry_failed_downstream_is_read_again_and_an_acked_one_is_not()
    {
        var stream = NewKey("f");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("stream", stream), ("start", "0")))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("stream", stream)))));
        Assert.True(await sink.ConnectAsync(1));

        // The same entry, read again from the group's pending list.
        await Fixtures.FailedComesBackAndAckedDoesNot(source, sink, (bad, again) => Assert.Equal(bad.Meta["redis"]["id"].AsString(), again.Meta["redis"]["id"].AsString()));
    }

    [Fact]
    public async Task An_entry_read_but_not_acked_is_delivered_again_to_the_next_run_of_the_same_consumer()
    {
        var stream = NewKey("r");
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("stream", stream)))));
        Assert.True(await sink.ConnectAsync(1));
        var config = ("source", Section(("stream", stream), ("consumer", "c1"), ("start", "0")));

        await using (var first = new BrokerRunner(Create(new TestHost(), config)))
        {
            await first.StartAsync();
            Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("acked", Value.Null), ("in flight", Value.Null)))).Status);
            await first.WaitFor(p => p.Count == 2, "both entries");
            await first.AckAsync(first.Pulled.Single(p => p.Text == "acked"));
            await Fixtures.WaitUntil(async () => await PendingAsync(stream, "tremor") == 1, "one XACK");
        }

        await using var second = new BrokerRunner(Create(new TestHost(), config));
        await second.StartAsync();
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("new", Value.Null)))).Status);
        await second.WaitFor(p => p.Exists(x => x.Text == "new") && p.Exists(x => x.Text == "in flight"), "the unacked entry and a new one");
        Assert.DoesNotContain(second.Pulled, p => p.Text == "acked");
    }

    [Fact]
    public async Task A_list_is_pushed_by_the_sink_and_popped_in_order_by_the_source()
    {
        var list = NewKey("l");
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("list", list)))));
        Assert.True(await sink.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("a", Value.Null), ("b", Value.Null), ("c", Value.Null)))).Status);

        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("list", list)))));
        await source.StartAsync();

        await source.WaitFor(p => p.Count == 3, "three items");
        Assert.Equal(["a", "b", "c"], source.Texts);
        Assert.Equal(list, source.Pulled[0].Meta["redis"]["list"].AsString());
        Assert.False(source.Connector.Source!.IsTransactional);
    }

    [Fact]
    public async Task Pub_sub_messages_reach_a_subscribed_source_with_their_channel()
    {
        var channel = NewKey("c");
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("channels", Value.From([Value.From(channel)]))))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("channel", channel)))));
        Assert.True(await sink.ConnectAsync(1));

        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(("hello", Value.Null)))).Status);

        await source.WaitFor(p => p.Count == 1, "the message");
        Assert.Equal("hello", source.Texts[0]);
        Assert.Equal(channel, source.Pulled[0].Meta["redis"]["channel"].AsString());
    }

    [Fact]
    public async Task An_unreachable_server_is_one_warning_naming_the_url_and_the_runtime_retries()
    {
        var host = new TestHost();
        await using var connector = new RedisFactory().Create(Fixtures.Context(host, ("url", "redis://127.0.0.1:1"), ("connect-timeout", "1s"), ("sink", Section(("list", "x")))));

        await Fixtures.UnreachableWarning(connector, host, "redis://127.0.0.1:1");
    }
}

/// <summary>The server goes away mid-stream and comes back (its own server: the test stops it).</summary>
public sealed class RedisReconnectTests : IAsyncLifetime
{
    private readonly RedisServer _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task When_the_server_goes_away_the_loss_is_reported_writes_fail_and_after_the_reconnect_the_stream_flows_again()
    {
        var sinkHost = new TestHost();
        var section = Fixtures.Record(("stream", "events"), ("start", "0"));
        await using var source = new BrokerRunner(new RedisFactory().Create(Fixtures.Context(new TestHost(), ("url", _server.Url), ("source", section))));
        await source.StartAsync();
        await using var sink = new BrokerRunner(new RedisFactory().Create(Fixtures.Context(sinkHost, ("url", _server.Url), ("sink", Fixtures.Record(("stream", "events"))))));
        Assert.True(await sink.ConnectAsync(1));
        for (var i = 0; i < 5; i++) Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status);
        await source.WaitFor(p => p.Count == 5, "the first five");
        foreach (var p in source.Pulled) await source.AckAsync(p);

        await _server.Server.StopAsync();
        await Fixtures.WaitUntil(() => sinkHost.ConnectionsLost.Count == 1, "ConnectionLost at the sink");
        var down = await sink.DeliverAsync(Fixtures.BrokerBatch(("e5", Value.Null)));
        Assert.Equal(SinkStatus.Fail, down.Status);
        Assert.Contains(_server.Url, down.Error);
        Assert.False(await sink.ConnectAsync(2));

        await _server.Server.StartAsync();
        Assert.True(await sink.ConnectAsync(3));
        Assert.True(await source.ConnectAsync(2));
        // The runtime retries the failed batch after the reconnect.
        for (var i = 5; i < 10; i++) Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.BrokerBatch(($"e{i}", Value.Null)))).Status);

        await source.WaitFor(p => Enumerable.Range(0, 10).All(i => p.Exists(x => x.Text == $"e{i}")), "every event the sink acked");
        Assert.Single(sinkHost.ConnectionsLost);
    }
}

/// <summary>A server that wants a password: wrong credentials say so.</summary>
public sealed class RedisCredentialTests : IAsyncLifetime
{
    private readonly RedisServer _server = new(["--requirepass", "secret"]);

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task A_wrong_password_is_one_error_saying_to_check_username_and_password()
    {
        var host = new TestHost();
        await using var connector = new RedisFactory().Create(Fixtures.Context(host, ("url", _server.Url), ("password", "wrong"), ("sink", Fixtures.Record(("list", "x")))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Contains("check username and password", line.Message);
    }

    [Fact]
    public async Task The_right_password_connects()
    {
        var host = new TestHost();
        await using var runner = new BrokerRunner(new RedisFactory().Create(Fixtures.Context(host, ("url", _server.Url), ("password", "secret"), ("sink", Fixtures.Record(("list", "x"))))));

        Assert.True(await runner.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await runner.DeliverAsync(Fixtures.BrokerBatch(("a", Value.Null)))).Status);
    }
}
