using System.Net;
using System.Net.Sockets;
using System.Text.Json;

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
