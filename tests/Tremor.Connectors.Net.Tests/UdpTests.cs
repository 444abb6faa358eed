using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

public sealed class UdpTests
{
    [Fact]
    public async Task Each_datagram_is_one_chunk_on_a_stream_of_its_own_with_the_sender_in_the_meta()
    {
        var host = new TestHost();
        var connector = new UdpServerFactory().Create(Fixtures.Context(host, ("url", "udp://127.0.0.1:0")));
        Assert.Null(connector.Sink);
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var port = Fixtures.Port(((UdpServerConnector)connector).LocalEndPoint);
        await using var runner = new Runner(connector);

        using var a = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, port);
        await a.SendAsync("{\"from\":\"a\",\"n\":1}"u8.ToArray(), target);
        await b.SendAsync("{\"from\":\"b\",\"n\":1}"u8.ToArray(), target);
        await a.SendAsync("{\"from\":\"a\",\"n\":2}"u8.ToArray(), target);
        await Fixtures.Eventually(() => runner.Ended.Count == 3, "three datagrams");

        var chunks = runner.Chunks;
        Assert.Equal(3, chunks.Count);
        Assert.Equal(3, chunks.Select(c => c.StreamId).Distinct().Count());
        foreach (var chunk in chunks)
        {
            var text = Encoding.UTF8.GetString(chunk.Data);
            var sender = text.Contains("\"a\"", StringComparison.Ordinal) ? a : b;
            Assert.Equal("127.0.0.1", chunk.Meta["udp_server"]["peer"]["host"].AsString());
            Assert.Equal(Fixtures.Port(sender.Client.LocalEndPoint), chunk.Meta["udp_server"]["peer"]["port"].RawI64);
            // Each datagram's stream ends right after it.
            var records = runner.Records;
            var at = records.FindIndex(r => !r.IsEnd && r.StreamId == chunk.StreamId);
            Assert.True(records[at + 1].IsEnd && records[at + 1].StreamId == chunk.StreamId);
        }
    }

    [Fact]
    public async Task With_stream_mode_shared_every_datagram_is_on_one_stream_that_does_not_end()
    {
        var connector = new UdpServerFactory().Create(Fixtures.Context(new TestHost(), ("url", "127.0.0.1:0"), ("stream-mode", "shared")));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        await using var runner = new Runner(connector);
        using var a = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, Fixtures.Port(((UdpServerConnector)connector).LocalEndPoint));
        await a.SendAsync("one"u8.ToArray(), target);
        await b.SendAsync("two"u8.ToArray(), target);
        await Fixtures.Eventually(() => runner.Chunks.Count == 2, "two datagrams");

        // One stream, so a preprocessor (gelf-chunking) joins datagrams; each still names its sender.
        Assert.Single(runner.Chunks.Select(c => c.StreamId).Distinct());
        Assert.Empty(runner.Ended);
        Assert.Equal(2, runner.Chunks.Select(c => c.Meta["udp_server"]["peer"]["port"].RawI64).Distinct().Count());
    }

    [Fact]
    public async Task Datagrams_larger_than_max_datagram_size_are_dropped_and_logged()
    {
        var host = new TestHost();
        var connector = new UdpServerFactory().Create(Fixtures.Context(host, ("host", "127.0.0.1"), ("port", 0), ("max-datagram-size", 8)));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var target = new IPEndPoint(IPAddress.Loopback, Fixtures.Port(((UdpServerConnector)connector).LocalEndPoint));
        await using var runner = new Runner(connector);
        using var sender = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        await sender.SendAsync("too long for eight"u8.ToArray(), target);
        await sender.SendAsync("12345678"u8.ToArray(), target);
        await Fixtures.Eventually(() => runner.Ended.Count == 1, "the datagram that fits");

        Assert.Equal("12345678", runner.Text);
        Assert.True(host.Logged("larger than max-datagram-size (8 bytes"));
    }

    [Fact]
    public async Task Datagrams_the_kernel_dropped_while_the_flow_did_not_pull_are_counted_and_logged()
    {
        var host = new TestHost();
        var connector = new UdpServerFactory().Create(Fixtures.Context(host, ("url", "udp://127.0.0.1:0")));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var server = (UdpServerConnector)connector;
        var target = new IPEndPoint(IPAddress.Loopback, Fixtures.Port(server.LocalEndPoint));
        using var sender = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        // Nobody pulls: the server's queue fills, the socket is not read, its receive buffer overflows (twice what
        // the default buffer could hold, whatever this machine's default is).
        var buffer = long.Parse(File.ReadAllText("/proc/sys/net/core/rmem_default").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var datagram = new byte[1024];
        var count = Math.Max(20_000, buffer / datagram.Length * 2);
        for (var i = 0; i < count; i++) await sender.SendAsync(datagram, target);
        await using (var runner = new Runner(connector))
        {
            // How many the server read before its queue filled depends on how fast its receive loop ran while the
            // sender sent; what matters is that the flow pulls again, then the drops are read at stop.
            await Fixtures.Eventually(() => runner.Ended.Count >= 1, "a queued datagram handed on");
        }

        Assert.True(server.KernelDrops > 0, "no kernel drops were counted");
        Assert.True(host.Logged($"the kernel dropped {server.KernelDrops} datagram(s) so far because the socket's receive buffer was full"));
    }

    [Fact]
    public async Task Receive_buffer_size_sets_the_sockets_receive_buffer_and_the_default_leaves_the_os_one()
    {
        const int Asked = 48 * 1024;
        var host = new TestHost();
        await using var sized = new UdpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0"), ("receive-buffer-size", Asked)));
        await using var plain = new UdpServerFactory().Create(Fixtures.Context(new TestHost(), ("url", "127.0.0.1:0")));
        Assert.True(await sized.ConnectAsync(1, CancellationToken.None));
        Assert.True(await plain.ConnectAsync(1, CancellationToken.None));
        using var fresh = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        // SO_RCVBUF read back from the bound socket: Linux reports twice what it was given (its bookkeeping).
        var reported = ((UdpServerConnector)sized).ReceiveBufferSize;
        Assert.Equal(OperatingSystem.IsLinux() ? 2 * Asked : Asked, reported);
        Assert.Equal(fresh.ReceiveBufferSize, ((UdpServerConnector)plain).ReceiveBufferSize);
        Assert.False(host.Logged("receive-buffer-size"));

        // And it still receives.
        await using var runner = new Runner(sized);
        using var sender = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await sender.SendAsync("sized"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, Fixtures.Port(((UdpServerConnector)sized).LocalEndPoint)));
        await Fixtures.Eventually(() => runner.Ended.Count == 1, "the datagram");
        Assert.Equal("sized", runner.Text);
    }

    [Fact]
    public async Task A_receive_buffer_size_the_kernel_caps_is_applied_as_far_as_it_goes_and_logged()
    {
        // Linux caps SO_RCVBUF at net.core.rmem_max; 1 GiB is far above any usual setting.
        var max = int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(max < NetDefaults.MaxReceiveBufferSize, $"this test needs net.core.rmem_max below 1 GiB, found {max}");
        var host = new TestHost();
        await using var connector = new UdpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0"), ("receive-buffer-size", NetDefaults.MaxReceiveBufferSize)));

        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));

        Assert.Equal(2 * max, ((UdpServerConnector)connector).ReceiveBufferSize);
        Assert.True(host.Logged($"receive-buffer-size {NetDefaults.MaxReceiveBufferSize} bytes asked, the kernel granted {max}; raise net.core.rmem_max"));
    }

    [Fact]
    public async Task Client_sends_each_event_as_one_datagram_and_fails_only_the_events_too_large_for_one()
    {
        var host = new TestHost();
        using var receiver = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = Fixtures.Port(receiver.Client.LocalEndPoint);
        await using var connector = new UdpClientFactory().Create(Fixtures.Context(host, ("url", $"127.0.0.1:{port}")));
        Assert.Null(connector.Source);
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));

        var all = await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch(("{\"a\":1}", Value.Null), ("{\"a\":2}", Value.Null)), CancellationToken.None);
        Assert.Equal(SinkStatus.Ack, all.Status);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString((await receiver.ReceiveAsync().WaitAsync(Fixtures.Timeout)).Buffer));
        Assert.Equal("{\"a\":2}", Encoding.UTF8.GetString((await receiver.ReceiveAsync().WaitAsync(Fixtures.Timeout)).Buffer));

        var huge = new byte[70_000];
        var mixed = await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch((huge, Value.Null), ("{\"a\":3}"u8.ToArray(), Value.Null)), CancellationToken.None);
        Assert.Equal(SinkStatus.Pending, mixed.Status);
        var failure = Assert.Single(host.Failed);
        Assert.Equal(0UL, failure.Id.PullId);
        Assert.Contains("70000 bytes does not fit in one datagram", failure.Reason);
        Assert.Equal([1UL], host.Acked.Select(id => id.PullId));
        Assert.Equal("{\"a\":3}", Encoding.UTF8.GetString((await receiver.ReceiveAsync().WaitAsync(Fixtures.Timeout)).Buffer));

        var only = await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch((huge, Value.Null)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, only.Status);
        Assert.Contains("does not fit in one datagram (max-datagram-size 65507)", only.Error);
    }

    [Fact]
    public async Task Udp_client_to_udp_server()
    {
        var serverHost = new TestHost();
        var server = new UdpServerFactory().Create(Fixtures.Context(serverHost, ("url", "127.0.0.1:0")));
        Assert.True(await server.ConnectAsync(1, CancellationToken.None));
        var port = Fixtures.Port(((UdpServerConnector)server).LocalEndPoint);
        await using var runner = new Runner(server);
        await using var client = new UdpClientFactory().Create(Fixtures.Context(new TestHost(), ("host", "127.0.0.1"), ("port", port), ("max-datagram-size", 1000)));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));

        var reply = await client.Sink!.OnBatchAsync(Fixtures.SinkBatch(("one\n", Value.Null), ("two\n", Value.Null)), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        await Fixtures.Eventually(() => runner.Ended.Count == 2, "both datagrams");
        Assert.Equal(["one\n", "two\n"], runner.Chunks.Select(c => Encoding.UTF8.GetString(c.Data)).Order(StringComparer.Ordinal));
    }
}
