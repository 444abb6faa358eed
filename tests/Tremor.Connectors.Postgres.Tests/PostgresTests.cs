using Tremor.Pdk;
using Xunit.Abstractions;

namespace Tremor.Connectors.Postgres.Tests;

/// <summary>
/// The postgres connector against a real PostgreSQL 15 (one cluster for the class; each test has tables and channels
/// of its own). The restart test stops and starts the server and leaves it running.
/// </summary>
public sealed class PostgresTests(PostgresServer server, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    private IConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        new PostgresFactory().Create(Fixtures.Context(host, [("url", server.Url), ("username", PostgresServer.User), ("password", PostgresServer.Password), .. config]));

    private static Value Section(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    private static Value Strings(params string[] items) => Value.From(items.Select(Value.From).ToList());

    [Fact]
    public async Task Rows_written_by_binary_copy_are_in_the_table_once_the_batch_is_acked_and_unnamed_columns_keep_their_defaults()
    {
        await server.ExecuteAsync("CREATE TABLE copy_rows (id serial PRIMARY KEY, name text NOT NULL, n int, ok bool, payload jsonb, at timestamptz, added timestamptz DEFAULT now())");
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("table", "copy_rows")))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.DataBatch(
            Fixtures.Record(("name", "a"), ("n", 1), ("ok", true), ("payload", Fixtures.Record(("deep", Strings("x", "y")))), ("at", 1_700_000_000_000_000_000L)),
            Fixtures.Record(("name", "b"), ("n", 2), ("ignored", "not a column")),
            Fixtures.Record(("name", "c"), ("at", "2024-05-01T12:00:00Z"))));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        var rows = await server.QueryAsync("SELECT id, name, n, ok, payload::text, extract(epoch from at)::bigint, added IS NOT NULL FROM copy_rows ORDER BY id");
        Assert.Equal(3, rows.Count);
        Assert.Equal([1, "a", 1, true, "{\"deep\": [\"x\", \"y\"]}", 1_700_000_000L, true], rows[0]);
        Assert.Equal([2, "b", 2, null, null, null, true], rows[1]);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), rows[2][5]);
    }

    [Fact]
    public async Task Mapped_columns_take_nested_fields_and_an_event_whose_value_does_not_fit_fails_alone_with_the_reason()
    {
        await server.ExecuteAsync("CREATE TABLE mapped_rows (host text, cpu int)");
        var host = new TestHost();
        await using var sink = new BrokerRunner(Create(host, ("sink", Section(("table", "mapped_rows"), ("columns", Section(("host", "source.host"), ("cpu", "metrics.cpu")))))));
        Assert.True(await sink.ConnectAsync(1));
        var batch = Fixtures.DataBatch(
            Fixtures.Record(("source", Section(("host", "web-1"))), ("metrics", Section(("cpu", 42)))),
            Fixtures.Record(("source", Section(("host", "web-2"))), ("metrics", Section(("cpu", "lots")))));

        var reply = await sink.DeliverAsync(batch);

        Assert.Equal(SinkStatus.Pending, reply.Status);
        Assert.Equal([batch.Events[0].Id], host.Acked);
        var (id, reason) = Assert.Single(host.Failed);
        Assert.Equal(batch.Events[1].Id, id);
        Assert.Contains("the field 'metrics.cpu' for column 'cpu': the string 'lots' does not fit a integer column", reason);
        Assert.Equal([["web-1", 42]], await server.QueryAsync("SELECT host, cpu FROM mapped_rows"));
    }

    [Fact]
    public async Task With_on_conflict_a_batch_upserts_and_the_last_event_of_a_key_wins()
    {
        await server.ExecuteAsync("CREATE TABLE upserted (id int PRIMARY KEY, state text, seen int DEFAULT 0)");
        await server.ExecuteAsync("INSERT INTO upserted VALUES (1, 'old', 7)");
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("table", "upserted"), ("on-conflict", Strings("id"))))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.DataBatch(
            Fixtures.Record(("id", 1), ("state", "first")),
            Fixtures.Record(("id", 2), ("state", "new")),
            Fixtures.Record(("id", 1), ("state", "last"))));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        // Only the columns the events carry are updated: seen keeps its value.
        Assert.Equal([[1, "last", 7], [2, "new", 0]], await server.QueryAsync("SELECT id, state, seen FROM upserted ORDER BY id"));
    }

    [Fact]
    public async Task A_batch_the_table_refuses_fails_whole_with_the_reason_and_nothing_of_it_is_committed()
    {
        await server.ExecuteAsync("CREATE TABLE unique_rows (id int PRIMARY KEY)");
        await server.ExecuteAsync("INSERT INTO unique_rows VALUES (2)");
        await using var sink = new BrokerRunner(Create(new TestHost(), ("sink", Section(("table", "unique_rows")))));
        Assert.True(await sink.ConnectAsync(1));

        var reply = await sink.DeliverAsync(Fixtures.DataBatch(Fixtures.Record(("id", 1)), Fixtures.Record(("id", 2))));

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("refused the batch for 'unique_rows'", reply.Error);
        Assert.Contains("23505", reply.Error);
        Assert.Equal([[2]], await server.QueryAsync("SELECT id FROM unique_rows"));
        // The connection is still good: the next batch goes in.
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(Fixtures.DataBatch(Fixtures.Record(("id", 3))))).Status);
    }

    [Fact]
    public async Task The_polled_query_moves_its_cursor_only_over_acked_rows_and_a_failed_row_is_read_again()
    {
        await server.ExecuteAsync("CREATE TABLE polled (id serial PRIMARY KEY, body text); INSERT INTO polled (body) SELECT 'row ' || g FROM generate_series(1, 5) g");
        var host = new TestHost();
        await using var source = new BrokerRunner(Create(host, ("source", Section(
            ("query", "SELECT id, body FROM polled WHERE id > $1 ORDER BY id LIMIT 3"), ("cursor", "id"), ("interval", "50ms")))));
        await source.StartAsync();
        var connector = (PostgresConnector)source.Connector;

        await source.WaitFor(p => p.Count == 5, "the five rows");
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), source.Pulled.Select(p => p.Structured["id"].RawI64));
        Assert.Equal("row 3", source.Pulled[2].Structured["body"].AsString());
        Assert.Equal(3L, source.Pulled[2].Meta["postgres"]["cursor"].RawI64);

        // Acked out of order: the cursor waits for row 2 before it moves past 1.
        await source.AckAsync(source.Pulled[0]);
        await source.AckAsync(source.Pulled[2]);
        Assert.Equal(1L, connector.Committed.RawI64);
        await source.AckAsync(source.Pulled[1]);
        Assert.Equal(3L, connector.Committed.RawI64);

        // Row 4 fails: the next poll reads after 3 again, so 4 and 5 come back.
        await source.FailAsync(source.Pulled[3]);
        await source.WaitFor(p => p.Count == 7, "rows 4 and 5 read again");
        Assert.Equal([4L, 5L], source.Pulled.Skip(5).Select(p => p.Structured["id"].RawI64));
        foreach (var p in source.Pulled.Skip(5)) await source.AckAsync(p);
        Assert.Equal(5L, connector.Committed.RawI64);

        await server.ExecuteAsync("INSERT INTO polled (body) VALUES ('row 6')");
        await source.WaitFor(p => p.Count == 8, "a row added later");
        Assert.Equal("row 6", source.Pulled[7].Structured["body"].AsString());
        Assert.True(host.Logged("a row failed downstream; the next poll reads again after id = 3"));
    }

    [Fact]
    public async Task The_cursor_is_kept_in_the_state_directory_so_the_next_run_starts_after_the_last_acked_row()
    {
        await server.ExecuteAsync("CREATE TABLE resumed (id serial PRIMARY KEY, at timestamptz); INSERT INTO resumed (at) SELECT timestamptz '2024-01-01 00:00:00Z' + g * interval '1 minute' FROM generate_series(1, 4) g");
        using var state = new TempDir();
        (string, Value) config = ("source", Section(("query", "SELECT id, at FROM resumed WHERE at > $1 ORDER BY at"), ("cursor", "at"), ("start", "2000-01-01T00:00:00Z"), ("interval", "50ms")));

        await using (var first = new BrokerRunner(Create(new TestHost { StateDir = state.Path }, config)))
        {
            await first.StartAsync();
            await first.WaitFor(p => p.Count == 4, "the four rows");
            // Rows 1 and 2 acked, 3 and 4 still in flight when the run stops.
            await first.AckAsync(first.Pulled[0]);
            await first.AckAsync(first.Pulled[1]);
        }

        var host = new TestHost { StateDir = state.Path };
        await using var second = new BrokerRunner(Create(host, config));
        await second.StartAsync();
        await second.WaitFor(p => p.Count == 2, "the rows not acked by the last run");
        Assert.Equal([3L, 4L], second.Pulled.Select(p => p.Structured["id"].RawI64));
        Assert.True(host.Logged("resuming after at = 2024-01-01T00:02:00.0000000Z"));
    }

    [Fact]
    public async Task A_notify_payload_arrives_with_its_channel_in_the_meta()
    {
        await using var source = new BrokerRunner(Create(new TestHost(), ("source", Section(("channels", Strings("tremor_events", "Other Channel"))))));
        await source.StartAsync();
        Assert.False(source.Connector.Source!.IsTransactional);

        await server.ExecuteAsync("NOTIFY tremor_events, '{\"a\":1}'; NOTIFY \"Other Channel\", 'plain'");

        await source.WaitFor(p => p.Count == 2, "both notifications");
        Assert.Equal("{\"a\":1}", source.Pulled[0].Text);
        Assert.Equal("tremor_events", source.Pulled[0].Meta["postgres"]["channel"].AsString());
        Assert.Equal("Other Channel", source.Pulled[1].Meta["postgres"]["channel"].AsString());
    }

    [Fact]
    public async Task A_missing_table_is_one_error_naming_it_and_what_to_do()
    {
        var host = new TestHost();
        await using var connector = Create(host, ("sink", Section(("table", "nowhere"))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Equal(PluginLogLevel.Error, line.Level);
        Assert.Contains("the table 'nowhere' does not exist", line.Message);
        Assert.Contains("fix sink.table", line.Message);
    }

    [Fact]
    public async Task A_wrong_password_says_to_check_username_and_password()
    {
        var host = new TestHost();
        await using var connector = new PostgresFactory().Create(Fixtures.Context(host, ("url", server.Url), ("username", PostgresServer.User), ("password", "wrong"), ("sink", Section(("table", "t")))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Equal(PluginLogLevel.Error, line.Level);
        Assert.Contains("28P01", line.Message);
        Assert.Contains("check username and password (user 'tremor')", line.Message);
    }

    [Fact]
    public async Task An_unknown_database_says_it_does_not_exist()
    {
        var host = new TestHost();
        await using var connector = new PostgresFactory().Create(Fixtures.Context(host,
            ("url", $"postgres://127.0.0.1:{server.Server.Port}/missing_db"), ("username", PostgresServer.User), ("password", PostgresServer.Password), ("sink", Section(("table", "t")))));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));

        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Contains("the database 'missing_db' does not exist", line.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_one_warning_naming_the_url_and_the_runtime_retries()
    {
        var host = new TestHost();
        await using var connector = new PostgresFactory().Create(Fixtures.Context(host, ("url", "postgres://127.0.0.1:1/db"), ("connect-timeout", "2s"), ("sink", Section(("table", "t")))));

        await Fixtures.UnreachableWarning(connector, host, "postgres://127.0.0.1:1/db");
    }

    [Fact]
    public async Task When_the_server_restarts_mid_stream_no_acked_row_is_lost_on_either_side()
    {
        await server.ExecuteAsync("CREATE TABLE restart_rows (id int, body text)");
        var sinkHost = new TestHost();
        var sourceHost = new TestHost();
        await using var sink = new BrokerRunner(Create(sinkHost, ("sink", Section(("table", "restart_rows")))));
        Assert.True(await sink.ConnectAsync(1));
        await using var source = new BrokerRunner(Create(sourceHost, ("source", Section(
            ("query", "SELECT id, body FROM restart_rows WHERE id > $1 ORDER BY id LIMIT 10"), ("cursor", "id"), ("start", -1), ("interval", "50ms")))));
        await source.StartAsync();
        var acked = 0;

        async Task AckPulled()
        {
            var pulled = source.Pulled;
            for (; acked < pulled.Count; acked++) await source.AckAsync(pulled[acked]);
        }

        // Plays the runtime upstream of the sink: a failed batch is retried after the reconnect.
        async Task Write(int from, int count)
        {
            var batch = Fixtures.DataBatch(Enumerable.Range(from, count).Select(i => Fixtures.Record(("id", i), ("body", $"event {i}"))).ToArray());
            for (var attempt = 1; ; attempt++)
            {
                var reply = await sink.DeliverAsync(batch);
                if (reply.Status == SinkStatus.Ack) return;
                Assert.Equal(SinkStatus.Fail, reply.Status);
                await Fixtures.WaitUntil(async () => await sink.ConnectAsync(attempt), "the sink reconnected");
            }
        }

        try
        {
            for (var b = 0; b < 5; b++) await Write(b * 10, 10);
            await Fixtures.WaitUntil(
                async () =>
                {
                    await AckPulled();
                    return source.Pulled.Count >= 20;
                },
                "the source under way");

            await server.Server.StopAsync();
            var down = await sink.DeliverAsync(Fixtures.DataBatch(Fixtures.Record(("id", 50), ("body", "event 50"))));
            Assert.Equal(SinkStatus.Fail, down.Status);
            Assert.Contains(server.Url, down.Error);
            await Fixtures.WaitUntil(() => sourceHost.ConnectionsLost.Count == 1, "ConnectionLost at the source");
            await AckPulled();

            await server.Server.StartAsync();
            await Fixtures.WaitUntil(async () => await source.ConnectAsync(2), "the source reconnected");
            for (var b = 5; b < 10; b++) await Write(b * 10, 10);
            await Fixtures.WaitUntil(
                async () =>
                {
                    await AckPulled();
                    return source.Pulled.Select(p => p.Structured["id"].RawI64).Distinct().Count() == 100;
                },
                "every row at the source");
        }
        finally
        {
            // The other tests of the class share this server.
            if (!server.Server.IsRunning) await server.Server.StartAsync();
        }

        var written = (await server.QueryAsync("SELECT id FROM restart_rows")).Select(r => (int)r[0]!).ToList();
        var read = source.Pulled.Select(p => p.Structured["id"].RawI64).ToList();
        output.WriteLine($"postgres restart: table {written.Distinct().Count()} distinct of 100 ({written.Count - written.Distinct().Count()} duplicates); " +
                         $"source {read.Distinct().Count()} distinct ({read.Count - read.Distinct().Count()} duplicates)");
        Assert.Equal(Enumerable.Range(0, 100), written.Distinct().Order());
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), read.Distinct().Order());
        Assert.Single(sinkHost.ConnectionsLost);
    }
}
