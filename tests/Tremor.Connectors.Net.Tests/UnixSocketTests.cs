using System.Net.Sockets;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnixSocketTests
{
    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(Fixtures.Timeout);
        return socket;
    }

    [Fact]
    public async Task Server_gives_each_connection_its_stream_replies_on_it_sets_permissions_and_removes_its_file_at_stop()
    {
        using var dir = new TempDir();
        var path = dir.File("in.sock");
        var host = new TestHost();
        var connector = new UnixSocketServerFactory().Create(Fixtures.Context(host, ("path", path), ("permissions", "0600")));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var runner = new Runner(connector);
        using (var a = await ConnectAsync(path))
        using (var b = await ConnectAsync(path))
        {
            await a.SendAsync("from a\n"u8.ToArray());
            await b.SendAsync("from b\n"u8.ToArray());
            await Fixtures.Eventually(() => runner.Chunks.Select(c => c.StreamId).Distinct().Count() == 2, "both peers' chunks");
            var byText = runner.Chunks.ToDictionary(c => Encoding.UTF8.GetString(c.Data));
            Assert.NotEqual(byText["from a\n"].StreamId, byText["from b\n"].StreamId);
            Assert.Equal(path, byText["from a\n"].Meta["unix_socket_server"]["path"].AsString());
            Assert.True(byText["from a\n"].Meta["unix_socket_server"]["stream"].TryGetU64(out var named));
            Assert.Equal(byText["from a\n"].StreamId, named);

            var reply = await runner.DeliverAsync(Fixtures.SinkBatch(("to b\n", byText["from b\n"].Meta), ("to a\n", byText["from a\n"].Meta)));
            Assert.Equal(SinkStatus.Ack, reply.Status);
            Assert.Equal("to a", await new StreamReader(new NetworkStream(a)).ReadLineAsync().WaitAsync(Fixtures.Timeout));
            Assert.Equal("to b", await new StreamReader(new NetworkStream(b)).ReadLineAsync().WaitAsync(Fixtures.Timeout));
        }
        await Fixtures.Eventually(() => runner.Ended.Count == 2, "both stream ends");

        await runner.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_but_a_live_one_is_not_taken_over()
    {
        using var dir = new TempDir();
        var path = dir.File("stale.sock");
        // A server that died leaves its socket file; .NET removes the file it bound on dispose, so bind elsewhere
        // and move the file into place before the socket goes away.
        using (var crashed = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            crashed.Bind(new UnixDomainSocketEndPoint(dir.File("bound.sock")));
            crashed.Listen();
            File.Move(dir.File("bound.sock"), path);
        }
        Assert.True(File.Exists(path), "the dead server's socket file stays behind");

        var host = new TestHost();
        await using (var runner = new Runner(new UnixSocketServerFactory().Create(Fixtures.Context(host, ("path", path)))))
        {
            Assert.True(await runner.ConnectAsync(1));
            Assert.True(host.Logged("removed the stale socket file"));
            using var peer = await ConnectAsync(path);
            await peer.SendAsync("alive\n"u8.ToArray());
            await Fixtures.Eventually(() => runner.Text == "alive\n", "data through the new socket");

            // A second server on the same path while the first is alive refuses to start.
            var second = new UnixSocketServerFactory().Create(Fixtures.Context(new TestHost(), ("path", path)));
            var error = await Assert.ThrowsAsync<IOException>(async () => await second.ConnectAsync(1, CancellationToken.None));
            Assert.Contains("another process is listening", error.Message);
            await second.DisposeAsync();
            Assert.True(File.Exists(path));
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_regular_file_a_directory_or_a_link_at_the_path_is_left_alone_and_the_error_names_it()
    {
        using var dir = new TempDir();
        var file = dir.File("important.log");
        File.WriteAllText(file, "keep me\n");
        var folder = dir.File("a-directory");
        Directory.CreateDirectory(folder);
        var link = dir.File("link.sock");
        File.CreateSymbolicLink(link, file);

        foreach (var (path, what) in new[] { (file, "a regular file"), (folder, "a directory"), (link, "a symbolic link") })
        {
            var host = new TestHost();
            var server = new UnixSocketServerFactory().Create(Fixtures.Context(host, ("path", path)));
            var error = await Assert.ThrowsAsync<IOException>(async () => await server.ConnectAsync(1, CancellationToken.None));
            Assert.Contains($"'{path}', which is {what}, not a socket; it was left alone", error.Message);
            Assert.Contains("'path'", error.Message);
            await server.DisposeAsync();
            Assert.False(host.Logged("removed"));
        }
        Assert.Equal("keep me\n", File.ReadAllText(file));
        Assert.True(Directory.Exists(folder));
        Assert.Equal(file, new FileInfo(link).LinkTarget);
    }

    [Fact]
    public async Task A_stopping_server_leaves_the_socket_file_of_its_successor_alone()
    {
        using var dir = new TempDir();
        var path = dir.File("restart.sock");
        var old = new UnixSocketServerFactory().Create(Fixtures.Context(new TestHost(), ("path", path)));
        Assert.True(await old.ConnectAsync(1, CancellationToken.None));
        await old.OnDrainAsync(CancellationToken.None);

        await using var successor = new Runner(new UnixSocketServerFactory().Create(Fixtures.Context(new TestHost(), ("path", path))));
        Assert.True(await successor.ConnectAsync(1));
        await old.OnStopAsync(CancellationToken.None);
        await old.DisposeAsync();

        Assert.True(File.Exists(path));
        using var peer = await ConnectAsync(path);
        await peer.SendAsync("still here\n"u8.ToArray());
        await Fixtures.Eventually(() => successor.Text == "still here\n", "data through the successor's socket");
    }

    [Fact]
    public async Task Client_and_server_talk_both_ways_and_the_client_reports_the_server_leaving()
    {
        using var dir = new TempDir();
        var path = dir.File("both.sock");
        var serverHost = new TestHost();
        var clientHost = new TestHost();
        var server = new Runner(new UnixSocketServerFactory().Create(Fixtures.Context(serverHost, ("path", path))));
        await using var client = new Runner(new UnixSocketClientFactory().Create(Fixtures.Context(clientHost, ("path", path))));

        Assert.False(await client.ConnectAsync(1), "nothing listens yet");
        Assert.True(await server.ConnectAsync(1));
        Assert.True(await client.ConnectAsync(2));

        Assert.Equal(SinkStatus.Ack, (await client.DeliverAsync(Fixtures.SinkBatch(("ping\n", Value.Null)))).Status);
        await Fixtures.Eventually(() => server.Text == "ping\n", "the client's event at the server");
        var meta = server.Chunks[0].Meta;
        Assert.Equal(SinkStatus.Ack, (await server.DeliverAsync(Fixtures.SinkBatch(("pong\n", meta)))).Status);
        await Fixtures.Eventually(() => client.Text == "pong\n", "the server's reply at the client");
        Assert.Equal(path, client.Chunks[0].Meta["unix_socket_client"]["path"].AsString());

        await server.DisposeAsync();
        await Fixtures.Eventually(() => clientHost.ConnectionsLost.Count == 1, "ConnectionLost at the client");
        Assert.Equal(SinkStatus.Fail, (await client.DeliverAsync(Fixtures.SinkBatch(("lost\n", Value.Null)))).Status);
        Assert.False(await client.ConnectAsync(3));
    }
}
