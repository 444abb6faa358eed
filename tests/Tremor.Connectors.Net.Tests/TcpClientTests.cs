using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

public sealed class TcpClientTests
{
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return Fixtures.Port(probe.LocalEndpoint);
    }

    private static async Task<string> ReadExactlyAsync(Stream stream, int length)
    {
        var buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Fixtures.Timeout);
        return Encoding.UTF8.GetString(buffer);
    }

    [Fact]
    public async Task Connects_writes_batches_and_yields_what_the_server_sends_back()
    {
        var host = new TestHost();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = Fixtures.Port(listener.LocalEndpoint);
        await using var runner = new Runner(new TcpClientFactory().Create(Fixtures.Context(host, ("url", $"tcp://127.0.0.1:{port}"))));

        Assert.True(await runner.ConnectAsync(1));
        using var peer = await listener.AcceptTcpClientAsync().WaitAsync(Fixtures.Timeout);
        var reply = await runner.DeliverAsync(Fixtures.SinkBatch(("{\"a\":1}\n", Value.Null), ("{\"a\":2}\n", Value.Null)));
        Assert.Equal(SinkStatus.Ack, reply.Status);
        Assert.Equal("{\"a\":1}\n{\"a\":2}\n", await ReadExactlyAsync(peer.GetStream(), 16));

        await peer.GetStream().WriteAsync("pong\n"u8.ToArray());
        await Fixtures.Eventually(() => runner.Text == "pong\n", "the server's reply");
        var chunk = runner.Chunks[0];
        Assert.Equal(1UL, chunk.StreamId);
        Assert.Equal("127.0.0.1", chunk.Meta["tcp_client"]["peer"]["host"].AsString());
        Assert.Equal(port, chunk.Meta["tcp_client"]["peer"]["port"].RawI64);
        Assert.Empty(host.ConnectionsLost);
    }

    [Fact]
    public async Task A_batch_written_after_the_peer_left_is_failed_back_not_acked_even_before_the_reader_noticed()
    {
        var host = new TestHost();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = Fixtures.Port(listener.LocalEndpoint);
        // Nobody pulls and reads are tiny: the client's reader soon waits for room and does not see the peer's end.
        var connector = new TcpClientFactory().Create(Fixtures.Context(host, ("url", $"tcp://127.0.0.1:{port}"), ("buffer-size", 16)));
        await using var runner = new Runner(connector, pull: false);
        Assert.True(await runner.ConnectAsync(1));
        using (var peer = await listener.AcceptTcpClientAsync().WaitAsync(Fixtures.Timeout))
        {
            await peer.GetStream().WriteAsync(new byte[InboundQueue.MaxCapacity * 16 * 4]);
        }

        // The peer is gone (its FIN arrived); the kernel would still take the bytes of a write.
        var reply = await runner.DeliverAsync(Fixtures.SinkBatch(("{\"a\":1}\n", Value.Null)));
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("the batch was not written", reply.Error, StringComparison.Ordinal);
        Assert.Single(host.ConnectionsLost);
    }

    [Fact]
    public async Task A_refused_connect_returns_false_so_the_runtime_retries()
    {
        var host = new TestHost();
        var port = FreePort();
        await using var connector = new TcpClientFactory().Create(Fixtures.Context(host, ("host", "127.0.0.1"), ("port", port)));

        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));
        Assert.True(host.Logged("failed (attempt 1)"));
        Assert.Empty(host.ConnectionsLost);
    }

    [Fact]
    public async Task When_the_server_goes_away_the_connection_loss_is_reported_once_the_batch_fails_and_a_reconnect_resumes()
    {
        var host = new TestHost();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = Fixtures.Port(listener.LocalEndpoint);
        await using var runner = new Runner(new TcpClientFactory().Create(Fixtures.Context(host, ("url", $"127.0.0.1:{port}"))));
        Assert.True(await runner.ConnectAsync(1));
        var peer = await listener.AcceptTcpClientAsync().WaitAsync(Fixtures.Timeout);
        Assert.Equal(SinkStatus.Ack, (await runner.DeliverAsync(Fixtures.SinkBatch(("before\n", Value.Null)))).Status);
        Assert.Equal("before\n", await ReadExactlyAsync(peer.GetStream(), 7));

        // The server goes away.
        peer.Dispose();
        listener.Stop();
        await Fixtures.Eventually(() => host.ConnectionsLost.Count == 1, "ConnectionLost");
        Assert.Contains("closed the connection", host.ConnectionsLost[0]);
        await Fixtures.Eventually(() => runner.Ended.Contains(1UL), "the first connection's stream end");

        var failed = await runner.DeliverAsync(Fixtures.SinkBatch(("in flight\n", Value.Null)));
        Assert.Equal(SinkStatus.Fail, failed.Status);
        Assert.Contains($"127.0.0.1:{port}", failed.Error);
        Assert.Single(host.ConnectionsLost);

        // While the server is down, connects fail; once it is back, the runtime's reconnect succeeds.
        Assert.False(await runner.ConnectAsync(2));
        listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            Assert.True(await runner.ConnectAsync(3));
            using var again = await listener.AcceptTcpClientAsync().WaitAsync(Fixtures.Timeout);
            Assert.Equal(SinkStatus.Ack, (await runner.DeliverAsync(Fixtures.SinkBatch(("in flight\n", Value.Null)))).Status);
            Assert.Equal("in flight\n", await ReadExactlyAsync(again.GetStream(), 10));
            await again.GetStream().WriteAsync("back\n"u8.ToArray());
            await Fixtures.Eventually(() => runner.Chunks.Any(c => c.StreamId == 2UL), "data on the new connection's stream");
            Assert.Equal("back\n", Fixtures.Text(runner.Chunks.Where(c => c.StreamId == 2UL).Select(c => c.Data)));
            Assert.Single(host.ConnectionsLost);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task A_reset_connection_is_reported_once_and_fails_the_next_batch()
    {
        var host = new TestHost();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = Fixtures.Port(listener.LocalEndpoint);
        // Whichever notices the reset first (the reader or the write), the loss is reported once.
        await using var runner = new Runner(new TcpClientFactory().Create(Fixtures.Context(host, ("url", $"127.0.0.1:{port}"))), pull: false);
        Assert.True(await runner.ConnectAsync(1));
        var peer = await listener.AcceptTcpClientAsync().WaitAsync(Fixtures.Timeout);
        peer.Client.LingerState = new LingerOption(true, 0);
        peer.Dispose();

        SinkReply reply = default;
        await Fixtures.Eventually(() =>
        {
            reply = runner.DeliverAsync(Fixtures.SinkBatch(("x\n", Value.Null))).GetAwaiter().GetResult();
            return reply.Status == SinkStatus.Fail;
        }, "a write to fail after the reset");
        Assert.Single(host.ConnectionsLost);
        Assert.Contains("127.0.0.1", reply.Error);
    }
}
