using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Actors.Flows;
using Tremor.Connectors.Net;

namespace Tremor.Actors.Tests;

/// <summary>tcp_server's reads through the runtime's decoder (separate + json): how reads are cut into pulls never shows in the events.</summary>
public sealed class TcpIngestTests : TremorTestKit
{
    private const int Connections = 4;
    private const int LinesPerConnection = 3000;

    [Theory]
    // Tiny reads: nearly every line is split across reads, and a pull takes many reads of all connections.
    [InlineData(7)]
    // Reads larger than what one pull takes: a read's lines go out over several pulls.
    [InlineData(256 * 1024)]
    public async Task Lines_split_across_reads_pulls_and_connections_arrive_whole_and_in_order_per_connection(int bufferSize)
    {
        var port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        Catalog.RegisterConnector("net", new TcpServerFactory());
        var sink = new TestSinkFactory { KeepEvents = true };
        Register(sink);
        Deploy(Flow("f", $$"""
            connectors {
              src { type = tcp_server, codec = json, preprocessors = ["separate"], config { url = "127.0.0.1:{{port}}", buffer-size = {{bufferSize}} } }
              out { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> out"]
            """));

        // Each connection writes its lines at once, in writes of 1000 bytes that end mid-line.
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async c =>
        {
            using var client = await ConnectAsync(port);
            var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, LinesPerConnection).Select(n => $"{{\"c\":{c},\"n\":{n},\"pad\":\"{new string('x', n % 50)}\"}}\n")));
            for (var offset = 0; offset < bytes.Length; offset += 1000)
            {
                await client.GetStream().WriteAsync(bytes.AsMemory(offset, Math.Min(1000, bytes.Length - offset)));
            }
        }));

        AwaitCondition(() => sink.Events.Count >= Connections * LinesPerConnection, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        var events = sink.Events.ToArray();
        Assert.Equal(Connections * LinesPerConnection, events.Length);
        for (var c = 0; c < Connections; c++)
        {
            var lines = events.Select(e => (C: Number(e, "c"), N: Number(e, "n"), Pad: e.Data["pad"].AsString())).Where(l => l.C == c).ToArray();
            Assert.Equal(Enumerable.Range(0, LinesPerConnection).Select(n => (long)n), lines.Select(l => l.N));
            Assert.All(lines, l => Assert.Equal(new string('x', (int)(l.N % 50)), l.Pad));
        }
    }

    [Fact]
    public async Task A_connection_that_closes_mid_line_ends_with_that_line_on_err_and_the_other_connection_is_untouched()
    {
        var port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        Catalog.RegisterConnector("net", new TcpServerFactory());
        var sink = new TestSinkFactory { KeepEvents = true };
        var errors = new TestSinkFactory("err-sink") { KeepEvents = true };
        Register(sink);
        Register(errors);
        Deploy(Flow("f", $$"""
            connectors {
              src { type = tcp_server, codec = json, preprocessors = ["separate"], config { url = "127.0.0.1:{{port}}" } }
              out { type = test-sink }
              errs { type = err-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> out", "src/err -> errs"]
            """));
        const int Lines = 2000;
        var whole = string.Concat(Enumerable.Range(0, Lines).Select(n => $"{{\"n\":{n},\"pad\":\"{new string('x', n % 50)}\"}}\n"));

        // One peer closes after half a line; the other keeps its connection open and sends on afterwards.
        using var open = await ConnectAsync(port);
        await open.GetStream().WriteAsync(Encoding.UTF8.GetBytes(whole[..(whole.Length / 2)]));
        using (var closing = await ConnectAsync(port))
        {
            await closing.GetStream().WriteAsync(Encoding.UTF8.GetBytes(whole + "{\"n\":" + Lines + ",\"pad\":\"cut he"));
        }
        await open.GetStream().WriteAsync(Encoding.UTF8.GetBytes(whole[(whole.Length / 2)..]));

        AwaitCondition(() => sink.Events.Count >= 2 * Lines && !errors.Events.IsEmpty, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        var events = sink.Events.ToArray();
        Assert.Equal(2 * Lines, events.Length);
        foreach (var stream in events.Select(e => e.Id.StreamId).Distinct())
        {
            Assert.Equal(Enumerable.Range(0, Lines).Select(n => (long)n), events.Where(e => e.Id.StreamId == stream).Select(e => Number(e, "n")));
        }
        var error = Assert.Single(errors.Events).Data;
        Assert.StartsWith("codec: ", error["error"].AsString());
        Assert.Equal("{\"n\":" + Lines + ",\"pad\":\"cut he", Encoding.UTF8.GetString(error["raw"].AsBytes()!));
        Assert.Equal(Lines, error["frame"].RawI64);
    }

    private static long Number(Pdk.Event e, string key) => e.Data[key].TryGetI64(out var n) ? n : -1;

    /// <summary>Connects once the server listens (the deploy starts it).</summary>
    private async Task<TcpClient> ConnectAsync(int port)
    {
        TcpClient? connected = null;
        await AwaitConditionAsync(async () =>
        {
            var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                connected = client;
                return true;
            }
            catch (SocketException)
            {
                client.Dispose();
                return false;
            }
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        return connected!;
    }
}
