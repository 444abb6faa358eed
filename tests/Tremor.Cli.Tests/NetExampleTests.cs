using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tremor.Tests;

namespace Tremor.Cli.Tests;

/// <summary><c>hocon/examples/tcp-json-lines.conf</c> as the README tells a user to try it, on a free port.</summary>
public sealed class NetExampleTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-net-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Tcp_json_lines_prints_what_a_peer_sends_with_the_peer_and_drains_on_sigterm()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "hocon", "examples", "tcp-json-lines.conf"));
        Assert.Contains("\"127.0.0.1:4242\"", example);
        var file = Path.Combine(_temp.FullName, "tcp-json-lines.conf");
        await File.WriteAllTextAsync(file, example.Replace("\"127.0.0.1:4242\"", $"\"127.0.0.1:{port}\"", StringComparison.Ordinal));
        await using var tremor = TremorProcess.Start(["run", file]);

        using var peer = await ConnectWhenListeningAsync(port);
        await peer.GetStream().WriteAsync("{\"a\":1}\n"u8.ToArray());
        await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        using var line = JsonDocument.Parse(result.StdoutLines[0]);
        Assert.Equal(1, line.RootElement.GetProperty("event").GetProperty("a").GetInt32());
        Assert.Equal("127.0.0.1", line.RootElement.GetProperty("peer").GetProperty("host").GetString());
        Assert.Equal(((IPEndPoint)peer.Client.LocalEndPoint!).Port, line.RootElement.GetProperty("peer").GetProperty("port").GetInt32());
        Assert.DoesNotContain("ERROR", result.Stderr);
    }

    [Fact]
    public async Task Sigterm_while_peers_keep_sending_stops_reading_and_drains_delivering_every_line_the_source_took()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "hocon", "examples", "tcp-json-lines.conf"));
        var file = Path.Combine(_temp.FullName, "tcp-json-lines.conf");
        await File.WriteAllTextAsync(file, example.Replace("\"127.0.0.1:4242\"", $"\"127.0.0.1:{port}\"", StringComparison.Ordinal));
        await using var tremor = TremorProcess.Start(["run", file]);

        var clients = new List<TcpClient>();
        for (var peer = 0; peer < 3; peer++) clients.Add(await ConnectWhenListeningAsync(port));
        // Until the test stops them or the runtime closes the connections at stop: the runtime must not wait for them.
        var peers = new FloodingPeers(clients);
        CliResult result;
        try
        {
            await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);
            tremor.Terminate();
            result = await tremor.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            Assert.Empty(peers.Stop(TremorProcess.DefaultTimeout));
        }

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("stopping anyway", result.Stderr, StringComparison.Ordinal);
        // Per peer, what reached stdout is exactly the first lines it sent: nothing the source took was lost.
        var delivered = new Dictionary<int, List<int>>();
        foreach (var text in result.StdoutLines)
        {
            using var json = JsonDocument.Parse(text);
            if (!json.RootElement.TryGetProperty("event", out var e) || e.ValueKind != JsonValueKind.Object) continue;
            var peer = e.GetProperty("peer").GetInt32();
            if (!delivered.TryGetValue(peer, out var lines)) delivered[peer] = lines = [];
            lines.Add(e.GetProperty("line").GetInt32());
        }
        Assert.NotEmpty(delivered);
        foreach (var (peer, lines) in delivered)
        {
            Assert.True(Enumerable.Range(0, lines.Count).SequenceEqual(lines), $"peer {peer}: lines {string.Join(",", lines.Take(20))}... are not 0..{lines.Count - 1}\n{result}");
        }
    }

    /// <summary>Connects as soon as the flow listens (polling with a deadline: the CLI starts in seconds).</summary>
    private static async Task<TcpClient> ConnectWhenListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + TremorProcess.DefaultTimeout;
        while (true)
        {
            var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                await Task.Delay(50);
            }
        }
    }
}
