using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Pdk;
using Tremor.Tests;

namespace Tremor.Connectors.Net.Tests;

public sealed class TcpServerTests
{
    private static async Task<(Runner Runner, StreamServer Server, int Port)> StartAsync(TestHost host, params (string, Value)[] extra)
    {
        var config = new List<(string, Value)> { ("url", "127.0.0.1:0") };
        config.AddRange(extra);
        var connector = new TcpServerFactory().Create(Fixtures.Context(host, [.. config]));
        var server = Assert.IsType<StreamServer>(connector);
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        return (new Runner(connector), server, Fixtures.Port(server.LocalEndPoint));
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Fixtures.Timeout);
        return client;
    }

    private static string Expected(int peer, int lines) =>
        string.Concat(Enumerable.Range(0, lines).Select(i => $"{{\"peer\":{peer},\"line\":{i}}}\n"));

    [Fact]
    public async Task Concurrent_peers_each_get_their_own_stream_with_exactly_their_bytes_peer_meta_and_an_end()
    {
        const int peers = 24;
        const int lines = 60;
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        await using var _ = runner;

        var expectedByPort = new Dictionary<int, string>();
        var sends = new List<Task>();
        var clients = new List<TcpClient>();
        for (var p = 0; p < peers; p++)
        {
            var client = await ConnectAsync(port);
            clients.Add(client);
            var text = Expected(p, lines);
            expectedByPort[Fixtures.Port(client.Client.LocalEndPoint)] = text;
            sends.Add(SendInSmallWritesAsync(client, Encoding.UTF8.GetBytes(text), p));
        }
        await Task.WhenAll(sends).WaitAsync(Fixtures.Timeout);
        foreach (var client in clients) client.Dispose();
        await Fixtures.Eventually(() => runner.Ended.Count == peers, $"{peers} stream ends");

        var records = runner.Records;
        var byStream = records.GroupBy(r => r.StreamId).ToList();
        Assert.Equal(peers, byStream.Count);
        var seenPorts = new HashSet<int>();
        foreach (var stream in byStream)
        {
            var chunks = stream.Where(r => !r.IsEnd).ToList();
            Assert.True(stream.Last().IsEnd, $"stream {stream.Key} has data after its end");
            Assert.Single(stream, r => r.IsEnd);
            var meta = chunks[0].Meta["tcp_server"];
            Assert.Equal("127.0.0.1", meta["peer"]["host"].AsString());
            Assert.True(meta["peer"]["port"].TryGetI64(out var peerPort));
            Assert.False(meta["tls"].AsBool());
            Assert.All(chunks, c =>
            {
                Assert.True(c.Meta["tcp_server"]["stream"].TryGetU64(out var named));
                Assert.Equal(stream.Key, named);
                Assert.Equal(peerPort, c.Meta["tcp_server"]["peer"]["port"].RawI64);
            });
            Assert.True(seenPorts.Add((int)peerPort));
            Assert.Equal(expectedByPort[(int)peerPort], Fixtures.Text(chunks.Select(c => c.Data)));
        }
    }

    private static async Task SendInSmallWritesAsync(TcpClient client, byte[] bytes, int seed)
    {
        var random = new Random(seed);
        var stream = client.GetStream();
        for (var offset = 0; offset < bytes.Length;)
        {
            var n = Math.Min(random.Next(1, 8), bytes.Length - offset);
            await stream.WriteAsync(bytes.AsMemory(offset, n));
            offset += n;
            if (offset % 3 == 0) await Task.Yield();
        }
    }

    [Fact]
    public async Task Replies_go_back_on_the_connection_named_in_the_meta()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        await using var _ = runner;
        var clients = new List<TcpClient>();
        for (var i = 0; i < 5; i++)
        {
            var client = await ConnectAsync(port);
            clients.Add(client);
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"hello from {i}\n"));
        }
        await Fixtures.Eventually(() => runner.Chunks.Select(c => c.StreamId).Distinct().Count() == 5, "a chunk from each of 5 peers");

        // Reply to each stream with the text it sent, upper-cased, in reverse order of arrival.
        var firsts = runner.Chunks.GroupBy(c => c.StreamId).Select(g => g.First()).Reverse().ToList();
        var batch = Fixtures.SinkBatch(firsts.Select(c => (Encoding.UTF8.GetString(c.Data).ToUpperInvariant(), c.Meta)).ToArray());
        var reply = await runner.DeliverAsync(batch);
        Assert.Equal(SinkStatus.Ack, reply.Status);

        for (var i = 0; i < clients.Count; i++)
        {
            var line = await new StreamReader(clients[i].GetStream()).ReadLineAsync().WaitAsync(Fixtures.Timeout);
            Assert.Equal($"HELLO FROM {i}", line);
        }
        foreach (var client in clients) client.Dispose();
    }

    [Fact]
    public async Task A_peer_that_only_closed_its_sending_side_gets_its_stream_end_and_still_its_reply()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        await using var _ = runner;
        using var client = await ConnectAsync(port);
        var stream = client.GetStream();
        await stream.WriteAsync("{\"q\":1}\n"u8.ToArray());
        client.Client.Shutdown(SocketShutdown.Send);
        await Fixtures.Eventually(() => runner.Ended.Count == 1, "the stream end");

        var reply = await runner.DeliverAsync(Fixtures.SinkBatch(("{\"a\":1}\n", runner.Chunks[0].Meta)));

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Assert.Equal("{\"a\":1}", await new StreamReader(stream).ReadLineAsync().WaitAsync(Fixtures.Timeout));
    }

    [Fact]
    public async Task A_peer_that_does_not_read_is_closed_after_write_timeout_and_the_others_still_get_their_replies()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host, ("write-timeout", "300ms"));
        await using var _ = runner;
        using var stuck = await ConnectAsync(port);
        stuck.ReceiveBufferSize = 4096;
        using var reader = await ConnectAsync(port);
        await stuck.GetStream().WriteAsync("stuck\n"u8.ToArray());
        await reader.GetStream().WriteAsync("reader\n"u8.ToArray());
        await Fixtures.Eventually(() => runner.Chunks.Select(c => c.StreamId).Distinct().Count() == 2, "both peers' chunks");
        var metaOf = runner.Chunks.ToDictionary(c => Encoding.UTF8.GetString(c.Data), c => c.Meta);

        // Far more than the socket buffers hold: the write to the peer that never reads cannot finish.
        var flood = new byte[64 * 1024 * 1024];
        var reply = await runner.DeliverAsync(Fixtures.SinkBatch((flood, metaOf["stuck\n"]), ("for you\n"u8.ToArray(), metaOf["reader\n"])));

        Assert.Equal(SinkStatus.Pending, reply.Status);
        var failure = Assert.Single(host.Failed);
        Assert.Equal(0UL, failure.Id.PullId);
        Assert.Contains("write-timeout", failure.Reason);
        Assert.Equal([1UL], host.Acked.Select(id => id.PullId));
        Assert.Equal("for you", await new StreamReader(reader.GetStream()).ReadLineAsync().WaitAsync(Fixtures.Timeout));
    }

    [Fact]
    public async Task Events_without_a_connection_in_their_meta_fail_with_the_reason_and_the_others_are_still_sent()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        await using var _ = runner;
        using var client = await ConnectAsync(port);
        await client.GetStream().WriteAsync("x\n"u8.ToArray());
        await Fixtures.Eventually(() => runner.Chunks.Count > 0, "the peer's chunk");
        var meta = runner.Chunks[0].Meta;

        var none = await runner.DeliverAsync(Fixtures.SinkBatch(("lost\n", Value.Null)));
        Assert.Equal(SinkStatus.Fail, none.Status);
        Assert.Contains("$tcp_server.stream", none.Error);

        var gone = Fixtures.Record(("tcp_server", Fixtures.Record(("stream", 999))));
        var mixed = await runner.DeliverAsync(Fixtures.SinkBatch(("one\n", meta), ("lost\n", Value.Null), ("two\n", gone)));
        Assert.Equal(SinkStatus.Pending, mixed.Status);
        Assert.Equal([0UL], host.Acked.Select(id => id.PullId));
        Assert.Equal([1UL, 2UL], host.Failed.Select(f => f.Id.PullId).Order());
        Assert.Contains(host.Failed, f => f.Reason.Contains("connection 999 is closed", StringComparison.Ordinal));
        var line = await new StreamReader(client.GetStream()).ReadLineAsync().WaitAsync(Fixtures.Timeout);
        Assert.Equal("one", line);
    }

    [Fact]
    public async Task Short_connections_beyond_max_connections_wait_for_a_slot_and_every_line_arrives()
    {
        const int limit = 4;
        const int shortOnes = 200;
        var host = new TestHost();
        var (runner, server, port) = await StartAsync(host, ("max-connections", limit), ("backlog", 512));
        await using var _ = runner;

        // Every slot taken by a peer that stays: the short connections can only wait in the listen backlog.
        var holders = new List<TcpClient>();
        for (var i = 0; i < limit; i++)
        {
            var holder = await ConnectAsync(port);
            await holder.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"holder {i}\n"));
            holders.Add(holder);
        }
        await Fixtures.Eventually(() => runner.Chunks.Select(c => c.StreamId).Distinct().Count() == limit, "the holders' lines");

        // Short one-line connections, as `printf ... | nc -q0` sends them: connect, send, close.
        var sends = Enumerable.Range(0, shortOnes).Select(async i =>
        {
            using var client = await ConnectAsync(port);
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"short {i}\n"));
        }).ToList();
        await Task.WhenAll(sends).WaitAsync(Fixtures.Timeout);
        await Fixtures.Eventually(() => server.LimitReachedCount > 0, "the limit to hold an accept back");
        Assert.True(host.Logged($"max-connections ({limit}) open"));

        // Closing one holder frees one slot: the short connections go through it one after another, each freeing
        // its slot as soon as its line was handed on.
        holders[0].Dispose();
        await Fixtures.Eventually(() => runner.Ended.Count == shortOnes + 1, "every short connection's stream end");
        var lines = runner.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        for (var i = 0; i < shortOnes; i++) Assert.Contains($"short {i}", lines);
        foreach (var holder in holders) holder.Dispose();
    }

    /// <summary>Connects and reads: true when the server closes (or resets) the connection without sending anything.</summary>
    private static async Task<bool> IsClosedByServerAsync(int port)
    {
        TcpClient client;
        try
        {
            client = await ConnectAsync(port);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Accepted and reset before the connect call returned.
            return true;
        }
        using (client) return await ReadToEndOrResetAsync(client) == 0;
    }

    /// <summary>Reads until the server closes: 0 for a clean close or a reset; the number of bytes otherwise.</summary>
    private static async Task<int> ReadToEndOrResetAsync(TcpClient client)
    {
        var buffer = new byte[64];
        var total = 0;
        try
        {
            int n;
            while ((n = await client.GetStream().ReadAsync(buffer).AsTask().WaitAsync(Fixtures.Timeout)) > 0) total += n;
        }
        catch (IOException)
        {
            // Reset by the server (it closes refused connections with linger 0).
        }
        return total;
    }

    [Fact]
    public async Task Idle_connections_are_closed_and_their_stream_ends()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host, ("idle-timeout", "200ms"));
        await using var _ = runner;
        using var client = await ConnectAsync(port);
        await client.GetStream().WriteAsync("before idle\n"u8.ToArray());

        Assert.Equal(0, await ReadToEndOrResetAsync(client));
        await Fixtures.Eventually(() => runner.Ended.Count == 1, "the idle connection's stream end");
        Assert.Equal("before idle\n", runner.Text);
        Assert.True(host.Logged("idle for"));
    }

    [Fact]
    public async Task A_pull_waits_for_data_without_a_timer_and_returns_empty_when_cancelled()
    {
        var host = new TestHost();
        await using var connector = new TcpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0")));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var batch = new SourceBatch(8);
        Assert.Equal(PullStatus.Empty, await connector.Source!.PullAsync(batch, cancelled.Token).AsTask().WaitAsync(Fixtures.Timeout));

        // With nothing to read the pull keeps waiting (an idle server does not wake up) until data comes...
        var pull = connector.Source!.PullAsync(batch, CancellationToken.None).AsTask();
        using var client = await ConnectAsync(Fixtures.Port(((StreamServer)connector).LocalEndPoint));
        Assert.False(pull.IsCompleted);
        await client.GetStream().WriteAsync("late\n"u8.ToArray());
        Assert.Equal(PullStatus.Data, await pull.WaitAsync(Fixtures.Timeout));
        Assert.Equal("late\n", Encoding.UTF8.GetString(batch[0].Data.Span));

        // ...or the runtime cuts it short because the instance has other work.
        batch.Clear();
        using var cut = new CancellationTokenSource();
        var waiting = connector.Source!.PullAsync(batch, cut.Token).AsTask();
        await cut.CancelAsync();
        Assert.Equal(PullStatus.Empty, await waiting.WaitAsync(Fixtures.Timeout));
        Assert.Equal(0, batch.Count);
    }

    [Theory]
    [InlineData(4096)]
    // Reads larger than a pull: each is handed on a slice per pull.
    [InlineData(256 * 1024)]
    public async Task A_pull_takes_at_most_pull_bytes_of_a_full_queue_and_the_rest_follows_in_order(int bufferSize)
    {
        var host = new TestHost();
        await using var connector = new TcpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0"), ("buffer-size", bufferSize)));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var server = (StreamServer)connector;
        using var client = await ConnectAsync(Fixtures.Port(server.LocalEndPoint));
        var payload = new byte[1024 * 1024];
        for (var i = 0; i < payload.Length; i++) payload[i] = (byte)('a' + i % 26);
        await client.GetStream().WriteAsync(payload);
        client.Client.Shutdown(SocketShutdown.Send);

        // Nobody pulled yet: the queue holds far more than one pull takes.
        await Fixtures.Eventually(() => server.QueuedChunks * (long)bufferSize >= 4 * InboundQueue.PullBytes, "the server's queue to fill");
        var received = new List<byte>();
        var batch = new SourceBatch(128);
        var ended = false;
        while (!ended)
        {
            batch.Clear();
            await connector.Source!.PullAsync(batch, CancellationToken.None).AsTask().WaitAsync(Fixtures.Timeout);
            var bytes = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                ended |= batch[i].IsStreamEnd;
                bytes += batch[i].Data.Length;
                received.AddRange(batch[i].Data.ToArray());
            }
            // A pull stops at PullBytes, cutting the read that would go past it.
            Assert.InRange(bytes, 0, InboundQueue.PullBytes);
        }
        Assert.True(payload.AsSpan().SequenceEqual(received.ToArray()));
    }

    [Fact]
    public async Task When_nobody_pulls_the_server_stops_reading_and_the_peer_is_held_back_then_everything_arrives()
    {
        var host = new TestHost();
        var connector = new TcpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0"), ("buffer-size", 1024)));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var port = Fixtures.Port(((StreamServer)connector).LocalEndPoint);
        using var client = await ConnectAsync(port);
        client.SendBufferSize = 64 * 1024;

        // Far more than the server's queue (256 chunks of 1 KiB) and the kernel's socket buffers can hold.
        var payload = new byte[64 * 1024 * 1024];
        for (var i = 0; i < payload.Length; i++) payload[i] = (byte)('a' + i % 26);
        var send = client.GetStream().WriteAsync(payload).AsTask();
        await Fixtures.Eventually(() => ((StreamServer)connector).QueuedChunks == ((StreamServer)connector).QueueCapacity, "the server's queue to fill");
        Assert.False(send.IsCompleted, "the peer could write everything although nobody pulled");

        await using var runner = new Runner(connector);
        await send.WaitAsync(Fixtures.Timeout);
        client.Client.Shutdown(SocketShutdown.Send);
        await Fixtures.Eventually(() => runner.Ended.Count == 1, "the stream end");
        Assert.Equal(payload.Length, runner.Chunks.Sum(c => c.Data.Length));
        Assert.True(payload.AsSpan().SequenceEqual(runner.Chunks.SelectMany(c => c.Data).ToArray()));
    }

    [Fact]
    public async Task Drain_stops_accepting_and_stop_closes_the_open_connections()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        using var open = await ConnectAsync(port);
        await open.GetStream().WriteAsync("x\n"u8.ToArray());
        await Fixtures.Eventually(() => runner.Chunks.Count > 0, "the chunk");

        await runner.DrainAsync();
        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var late = new TcpClient();
            await late.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Fixtures.Timeout);
        });

        await runner.DisposeAsync();
        Assert.Equal(0, await ReadToEndOrResetAsync(open));
    }

    [Fact]
    public async Task A_drain_while_peers_keep_sending_stops_reading_hands_over_what_was_read_and_finishes()
    {
        var host = new TestHost();
        var (runner, _, port) = await StartAsync(host);
        await using var _ = runner;
        var clients = new List<TcpClient>();
        for (var peer = 0; peer < 3; peer++) clients.Add(await ConnectAsync(port));
        var peers = new FloodingPeers(clients);
        try
        {
            await Fixtures.Eventually(() => runner.StreamCount == 3, "lines from all three peers");

            // The peers go on sending; the drain must still end: no more reads, what was read is pulled, then Finished.
            await runner.DrainAsync();
            await runner.Pumped.WaitAsync(Fixtures.Timeout);
            Assert.True(runner.Finished, "the source did not finish after the drain");
            Assert.Equal(3, runner.Ended.Count);

            // What was handed on is, per peer, exactly the start of what it sent (nothing lost in between, nothing mixed).
            foreach (var stream in runner.Chunks.GroupBy(c => c.StreamId))
            {
                var text = Fixtures.Text(stream.Select(c => c.Data));
                var peer = text[8] - '0';
                var whole = text[..(text.LastIndexOf('\n') + 1)];
                var lines = whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(Enumerable.Range(0, lines.Length).Select(i => $"{{\"peer\":{peer},\"line\":{i}}}"), lines);
            }
        }
        finally
        {
            Assert.Empty(peers.Stop(Fixtures.Timeout));
        }
    }
}
