using System.Net.WebSockets;
using System.Text;
using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Http.Tests;

public sealed class WebSocketTests
{
    private static async Task<WsServerConnector> StartServerAsync(TestHost host, params (string Key, Value Value)[] config)
    {
        var all = config.Any(c => c.Key == "url") ? config : [("url", "ws://127.0.0.1:0"), .. config];
        var server = (WsServerConnector)new WsServerFactory().Create(Context(host, all));
        Assert.True(await server.ConnectAsync(1, CancellationToken.None));
        return server;
    }

    private static Uri WsUrl(WsServerConnector server, string path = "/") =>
        new UriBuilder(server.BoundUrl!) { Scheme = server.BoundUrl!.Scheme == "https" ? "wss" : "ws", Path = path }.Uri;

    private static async Task<(byte[] Data, WebSocketMessageType Type)> ReceiveAsync(ClientWebSocket socket)
    {
        using var patience = new CancellationTokenSource(Patience);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, patience.Token);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close) return (message.ToArray(), result.MessageType);
        }
    }

    private static async Task<List<Chunk>> PullChunksAsync(ISource source, int count)
    {
        var chunks = new List<Chunk>();
        while (chunks.Count(c => !c.IsStreamEnd) < count) chunks.AddRange(await PullDataAsync(source));
        return chunks;
    }

    [Fact]
    public async Task Ws_server_gives_each_connection_a_stream_each_message_a_chunk_and_sends_events_to_the_connection_their_meta_names()
    {
        var host = new TestHost();
        await using var server = await StartServerAsync(host);
        using var first = new ClientWebSocket();
        using var second = new ClientWebSocket();
        await Within(first.ConnectAsync(WsUrl(server, "/feed"), CancellationToken.None));
        await Within(second.ConnectAsync(WsUrl(server, "/feed"), CancellationToken.None));

        await first.SendAsync(Encoding.UTF8.GetBytes("""{"from":"first"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        var chunk1 = Assert.Single(await PullChunksAsync(server, 1));
        await second.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var chunk2 = Assert.Single(await PullChunksAsync(server, 1));

        Assert.Equal("""{"from":"first"}""", chunk1.Text);
        Assert.Equal(new byte[] { 1, 2, 3 }, chunk2.Data);
        Assert.NotEqual(chunk1.StreamId, chunk2.StreamId);
        Assert.Equal((long)chunk1.StreamId, chunk1.Meta["ws_server"]["stream"].RawI64);
        Assert.False(chunk1.Meta["ws_server"]["binary"].AsBool());
        Assert.True(chunk2.Meta["ws_server"]["binary"].AsBool());
        Assert.Equal("/feed", chunk1.Meta["ws_server"]["path"].AsString());
        Assert.Equal("127.0.0.1", chunk1.Meta["ws_server"]["peer"]["host"].AsString());

        // The meta of a received message routes the answer back to its connection; binary per meta, else text.
        var toSecond = Record(("ws_server", Record(("stream", chunk2.Meta["ws_server"]["stream"]), ("binary", true))));
        var toFirst = Record(("ws_server", Record(("stream", chunk1.Meta["ws_server"]["stream"]))));
        Assert.Equal(SinkStatus.Ack, (await server.OnBatchAsync(SinkBatch(("for-second", toSecond), ("for-first", toFirst)), CancellationToken.None)).Status);
        var atFirst = await ReceiveAsync(first);
        var atSecond = await ReceiveAsync(second);
        Assert.Equal(("for-first", WebSocketMessageType.Text), (Encoding.UTF8.GetString(atFirst.Data), atFirst.Type));
        Assert.Equal(("for-second", WebSocketMessageType.Binary), (Encoding.UTF8.GetString(atSecond.Data), atSecond.Type));

        // A closed connection ends its stream; events for it are dropped and counted.
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        using var patience = new CancellationTokenSource(Patience);
        var batch = new SourceBatch(8);
        while (!Enumerable.Range(0, batch.Count).Any(i => batch[i].IsStreamEnd && batch[i].StreamId == chunk1.StreamId))
        {
            batch.Clear();
            await server.PullAsync(batch, patience.Token);
            patience.Token.ThrowIfCancellationRequested();
        }
        await server.OnBatchAsync(SinkBatch(("late", toFirst)), CancellationToken.None);
        Assert.Equal(1, server.UnroutableCount);
    }

    [Fact]
    public async Task A_text_message_that_is_not_utf8_gets_close_1007_not_a_reset_and_the_log_says_why()
    {
        var host = new TestHost();
        await using var server = await StartServerAsync(host);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await Within(tcp.ConnectAsync(server.BoundUrl!.Host, server.BoundUrl!.Port));
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            var head = new StringBuilder();
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                var one = new byte[1];
                Assert.Equal(1, await Within(stream.ReadAsync(one).AsTask()));
                head.Append((char)one[0]);
            }
            Assert.StartsWith("HTTP/1.1 101", head.ToString(), StringComparison.Ordinal);

            // A text frame whose payload is not UTF-8, then more frames the server will never read (what used to turn
            // the close into a reset).
            var frames = new List<byte>();
            frames.AddRange(MaskedFrame(0x81, [0xC3, 0x28, 0xA0, 0xA1]));
            for (var i = 0; i < 50; i++) frames.AddRange(MaskedFrame(0x81, Encoding.UTF8.GetBytes($"after {i}")));
            await stream.WriteAsync(frames.ToArray());

            var close = new byte[4];
            await Within(stream.ReadExactlyAsync(close).AsTask());
            Assert.Equal(0x88, close[0]);
            Assert.Equal(1007, (close[2] << 8) | close[3]);
        }
        Assert.True(host.Logged("a text message that is not valid UTF-8"), string.Join("\n", host.Logs.Select(l => l.Message)));
    }

    private static byte[] MaskedFrame(byte first, byte[] payload)
    {
        byte[] mask = [1, 2, 3, 4];
        var frame = new byte[2 + 4 + payload.Length];
        frame[0] = first;
        frame[1] = (byte)(0x80 | payload.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++) frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        return frame;
    }

    [Fact]
    public async Task A_message_over_max_message_size_closes_its_connection_with_1009()
    {
        var host = new TestHost();
        await using var server = await StartServerAsync(host, ("max-message-size", 8));
        using var client = new ClientWebSocket();
        await Within(client.ConnectAsync(WsUrl(server), CancellationToken.None));
        await client.SendAsync(new byte[100], WebSocketMessageType.Binary, true, CancellationToken.None);
        var (_, type) = await ReceiveAsync(client);
        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
    }

    [Fact]
    public async Task Ws_client_sends_events_receives_messages_reports_a_lost_connection_and_reconnects()
    {
        var serverHost = new TestHost();
        var server = await StartServerAsync(serverHost);
        var port = server.BoundUrl!.Port;
        var host = new TestHost();
        await using var client = (WsClientConnector)new WsClientFactory().Create(Context(host, ("url", $"ws://127.0.0.1:{port}/"), ("mode", "binary")));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));

        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("""{"hello":1}""", default)), CancellationToken.None)).Status);
        var atServer = Assert.Single(await PullChunksAsync(server, 1));
        Assert.Equal("""{"hello":1}""", atServer.Text);
        Assert.True(atServer.Meta["ws_server"]["binary"].AsBool());

        await server.OnBatchAsync(SinkBatch(("reply", Record(("ws_server", Record(("stream", atServer.Meta["ws_server"]["stream"])))))), CancellationToken.None);
        var atClient = Assert.Single(await PullChunksAsync(client, 1));
        Assert.Equal("reply", atClient.Text);
        Assert.False(atClient.Meta["ws_client"]["binary"].AsBool());
        var firstStream = atClient.StreamId;

        // The server goes away: the client reports it, and sending fails until it reconnected.
        await server.OnStopAsync(CancellationToken.None);
        await server.DisposeAsync();
        await Within(host.FirstConnectionLost.Task);
        Assert.Equal(SinkStatus.Fail, (await client.OnBatchAsync(SinkBatch(("lost", default)), CancellationToken.None)).Status);
        Assert.False(await client.ConnectAsync(2, CancellationToken.None));

        await using var again = await StartServerAsync(serverHost, ("url", $"ws://127.0.0.1:{port}"));
        Assert.True(await client.ConnectAsync(3, CancellationToken.None));
        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("back", default)), CancellationToken.None)).Status);
        Assert.Equal("back", Assert.Single(await PullChunksAsync(again, 1)).Text);
        await again.OnBatchAsync(SinkBatch(("welcome", Record(("ws_server", Record(("stream", 1)))))), CancellationToken.None);
        var afterReconnect = (await PullChunksAsync(client, 1)).Single(c => !c.IsStreamEnd);
        Assert.NotEqual(firstStream, afterReconnect.StreamId);
    }

    [Fact]
    public async Task Ws_client_fails_back_a_batch_sent_after_the_server_left_even_before_its_receive_loop_noticed()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var host = new TestHost();
        // One queued message at most and nobody pulls: the receive loop soon waits and does not see the server leave.
        await using var client = (WsClientConnector)new WsClientFactory().Create(Context(host, ("url", $"ws://127.0.0.1:{port}/"), ("max-queued-messages", 1)));
        var connect = client.ConnectAsync(1, CancellationToken.None).AsTask();
        using (var server = await Within(listener.AcceptTcpClientAsync()))
        {
            var stream = server.GetStream();
            var request = new StringBuilder();
            while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                var one = new byte[1];
                Assert.Equal(1, await Within(stream.ReadAsync(one).AsTask()));
                request.Append((char)one[0]);
            }
            var key = request.ToString().Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
            var accept = Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            Assert.True(await Within(connect));
            for (var i = 0; i < 4; i++) await stream.WriteAsync(new byte[] { 0x82, 1, (byte)i });
        }

        // The server is gone (its FIN arrived, no close frame); the kernel would still take the bytes of a send.
        var reply = await client.OnBatchAsync(SinkBatch(("lost?", default)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.NotEmpty(host.ConnectionsLost);
    }

    [Fact]
    public async Task Wss_with_generated_certificates_works_both_ways()
    {
        using var certificates = new TestCertificates();
        var serverHost = new TestHost();
        await using var server = await StartServerAsync(serverHost, ("url", "wss://127.0.0.1:0"), ("tls", certificates.ServerTls));
        var host = new TestHost();
        await using var client = (WsClientConnector)new WsClientFactory().Create(Context(host,
            ("url", $"wss://localhost:{server.BoundUrl!.Port}/"), ("tls", certificates.ClientTls)));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));
        await client.OnBatchAsync(SinkBatch(("secure", default)), CancellationToken.None);
        var atServer = Assert.Single(await PullChunksAsync(server, 1));
        Assert.Equal("secure", atServer.Text);
        await server.OnBatchAsync(SinkBatch(("and back", Record(("ws_server", Record(("stream", atServer.Meta["ws_server"]["stream"])))))), CancellationToken.None);
        Assert.Equal("and back", Assert.Single(await PullChunksAsync(client, 1)).Text);

        // Without the CA the server's certificate is refused.
        await using var untrusting = (WsClientConnector)new WsClientFactory().Create(Context(host, ("url", $"wss://localhost:{server.BoundUrl!.Port}/")));
        Assert.False(await untrusting.ConnectAsync(1, CancellationToken.None));
    }

    [Fact]
    public async Task Drain_refuses_new_connections_and_keeps_open_ones_until_stop_closes_them_with_1001()
    {
        var host = new TestHost();
        await using var server = await StartServerAsync(host);
        using var open = new ClientWebSocket();
        await Within(open.ConnectAsync(WsUrl(server), CancellationToken.None));
        await open.SendAsync("1"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var chunk = Assert.Single(await PullChunksAsync(server, 1));

        await server.OnDrainAsync(CancellationToken.None);
        using var late = new ClientWebSocket();
        await Assert.ThrowsAsync<WebSocketException>(() => Within(late.ConnectAsync(WsUrl(server), CancellationToken.None)));

        await server.OnBatchAsync(SinkBatch(("still here", Record(("ws_server", Record(("stream", chunk.Meta["ws_server"]["stream"])))))), CancellationToken.None);
        Assert.Equal("still here", Encoding.UTF8.GetString((await ReceiveAsync(open)).Data));

        // Stop closes with 1001 and waits for the peer's answer.
        var stop = server.OnStopAsync(CancellationToken.None).AsTask();
        var (_, type) = await ReceiveAsync(open);
        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, open.CloseStatus);
        await open.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await Within(stop);
        Assert.Equal(WebSocketState.Closed, open.State);
    }
}
