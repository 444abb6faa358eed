using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;
using Tremor.Connectors.File;
using Tremor.Connectors.Net;

namespace Tremor.Actors.Tests;

/// <summary>
/// Postprocessors whose payloads are not one per event, through the runtime: events held by <c>collect</c> are settled
/// with the payload that carried them, GELF chunks cross real UDP sockets, a compressed stream gets its trailer at the
/// end of the flow.
/// </summary>
public sealed class PayloadFlowTests : TremorTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Events_collect_holds_are_acked_only_once_the_payload_carrying_them_was_delivered_and_fail_with_it()
    {
        var source = new TestSourceFactory { Total = 4, Transactional = true, ReplayFailed = true };
        using var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { FailOn = [1], KeepPayloads = true, Gate = gate };
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = test-sink, postprocessors = [{ name = collect, config { max-events = 3, max-wait = 100ms, separator = "\n" } }] }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """));

        // Events 0-2 make one payload, now in the sink; event 3 waits in collect. Nothing is settled yet.
        AwaitCondition(() => Volatile.Read(ref sink.Calls) == 1, Patience, TimeSpan.FromMilliseconds(20));
        Assert.Empty(source.Acked);
        Assert.Empty(source.Failed);
        gate.Release();
        // The sink fails that payload: the three events it carried fail back; event 3, still held, is not acked.
        AwaitCondition(() => source.Failed.Count == 3, Patience, TimeSpan.FromMilliseconds(20));
        Assert.Empty(source.Acked);
        gate.Release(100);

        Assert.Equal(0, await exit.WaitAsync(Patience));
        var calls = sink.Payloads.GroupBy(p => p.Call).ToDictionary(g => g.Key, g => g.Select(p => p.Payload).ToList());
        Assert.Equal("{\"n\":0}\n{\"n\":1}\n{\"n\":2}", Assert.Single(calls[1]));
        // The source replayed what failed; every event was delivered once after that, in payloads of up to three.
        var delivered = calls.Where(c => c.Key > 1).SelectMany(c => c.Value).ToList();
        Assert.All(delivered, p => Assert.InRange(p.Split('\n').Length, 1, 3));
        Assert.Equal([0L, 1, 2, 3], delivered.SelectMany(p => p.Split('\n')).Select(N).Order());
        Assert.Equal(4, source.Acked.Count);
    }

    [Fact]
    public async Task Http_requests_whose_events_collect_joined_are_all_answered_500_when_the_payload_fails()
    {
        var path = Path.Combine(PluginDiscovery.SearchDirectories([])[^1], "Tremor.Connectors.Http", "Tremor.Connectors.Http.dll");
        Assert.True(File.Exists(path), $"{path} is not built: dotnet build connectors/Tremor.Connectors.Http");
        var record = new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false)).LoadOne(path);
        Assert.True(record.Status == PluginStatus.Loaded, record.Reason);
        var sink = new TestSinkFactory { FailOn = [1], KeepPayloads = true };
        Register(sink);
        var port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        Deploy(Flow("f", $$"""
            connectors {
              web { type = http_server, config { url = "http://127.0.0.1:{{port}}" } }
              snk { type = test-sink, postprocessors = [{ name = collect, config { max-events = 3, separator = "\n" } }] }
            }
            pipelines { main { type = passthrough } }
            links = ["web -> main", "main -> snk"]
            """));

        await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus("f.web")).State), Patience, TimeSpan.FromMilliseconds(50));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        // Three requests, three events: collect joins them into one payload, which the sink fails.
        var posts = Enumerable.Range(0, 3).Select(i => client.PostAsync("/", new StringContent($"{{\"n\":{i}}}"))).ToList();
        var responses = await Task.WhenAll(posts).WaitAsync(Patience);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Contains("failed in the flow", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(1, sink.Calls);
        Assert.Equal(3, Assert.Single(sink.Payloads).Payload.Split('\n').Length);
    }

    [Fact]
    public async Task Gelf_chunks_from_a_udp_client_are_put_back_together_by_a_udp_server_and_the_file_matches()
    {
        using var dir = new TempDir();
        var input = dir.File("in.json");
        var output = dir.File("out.json");
        var lines = Enumerable.Range(0, 50).Select(i => $"{{\"n\":{i},\"text\":\"{new string((char)('a' + (i % 26)), 40 + (i * 7))}\"}}").ToList();
        await File.WriteAllLinesAsync(input, lines);
        Register(new FileFactory());
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var port = FreePort(SocketType.Dgram, ProtocolType.Udp);
        // The receiving flow first, and the sending one once its socket is bound: a datagram sent to a port nobody
        // has bound yet is gone (UDP), and on a loaded machine the file source's first events outran the bind.
        var (world, _) = Deploy(Flow("r", $$"""
            connectors {
              gelf-in { type = udp_server, preprocessors = ["gelf-chunking"], config { url = "127.0.0.1:{{port}}", stream-mode = shared } }
              dst { type = file, postprocessors = ["separate"], config { path = "{{output}}", mode = truncate } }
            }
            pipelines { receive { type = passthrough } }
            links = ["gelf-in -> receive", "receive -> dst"]
            """));
        await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus("r.gelf-in")).State), Patience, TimeSpan.FromMilliseconds(50));
        world.Tell(new World.DeployFlow(Flow("s", $$"""
            connectors {
              src { type = file, preprocessors = ["separate"], config { path = "{{input}}" } }
              gelf-out {
                type = udp_client
                postprocessors = [{ name = gelf-chunking, config { chunk-size = 100 } }]
                config { url = "127.0.0.1:{{port}}" }
              }
            }
            pipelines { send { type = passthrough } }
            links = ["src -> send", "send -> gelf-out"]
            """)), TestActor);
        ExpectMsg<World.FlowDeployed>();

        // Events of up to 400 bytes in chunks of 100: most cross as several datagrams.
        await AwaitAssertAsync(
            async () => Assert.Equal(lines.Count, (await ReadLinesShared(output)).Count),
            Patience,
            TimeSpan.FromMilliseconds(100));
        Assert.Equal(lines.Order(StringComparer.Ordinal), (await ReadLinesShared(output)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_streaming_compressed_file_gets_its_trailer_when_the_flow_ends_and_gunzip_reads_it()
    {
        using var dir = new TempDir();
        var input = dir.File("in.json");
        var output = dir.File("out.json.gz");
        var lines = Enumerable.Range(0, 300).Select(i => $"{{\"n\":{i},\"host\":\"web-{i % 5}\"}}").ToList();
        await File.WriteAllLinesAsync(input, lines);
        Register(new FileFactory());
        var (_, exit) = Deploy(Flow("f", $$"""
            connectors {
              src { type = file, preprocessors = ["separate"], config { path = "{{input}}" } }
              dst {
                type = file
                postprocessors = ["separate", { name = streaming-compress, config { algorithm = gzip } }]
                config { path = "{{output}}", mode = truncate }
              }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> dst"]
            """));

        Assert.Equal(0, await exit.WaitAsync(Patience));
        await using var gunzip = new GZipStream(File.OpenRead(output), CompressionMode.Decompress);
        using var reader = new StreamReader(gunzip);
        Assert.Equal(string.Join("\n", lines) + "\n", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task Collect_on_a_tcp_server_joins_each_connections_replies_apart_and_a_connection_whose_peer_finished_sending_gets_its_replies_at_once()
    {
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        Deploy(Flow("f", $$"""
            connectors {
              echo {
                type = tcp_server, codec = string, preprocessors = ["separate"]
                postprocessors = [{ name = collect, config { max-events = 2, separator = "\n" } }, "separate"]
                config { url = "127.0.0.1:{{port}}" }
              }
            }
            pipelines { main { type = passthrough } }
            links = ["echo -> main", "main -> echo"]
            """));
        await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus("f.echo")).State), Patience, TimeSpan.FromMilliseconds(50));

        using var a = new TcpClient();
        using var b = new TcpClient();
        await a.ConnectAsync(IPAddress.Loopback, port);
        await b.ConnectAsync(IPAddress.Loopback, port);
        // Lines of the two connections reach collect interleaved, one after the other: a1 b1 a2 b2. One collect for
        // the whole sink would join a1 with b1 and send both to b.
        var sent = 0;
        foreach (var (client, line) in new[] { (a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"), (a, "a3") })
        {
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
            sent++;
            await AwaitAssertAsync(async () => Assert.Equal(sent, (await ConnectorStatus("f.echo")).EventsOut), Patience, TimeSpan.FromMilliseconds(20));
        }
        Assert.Equal("a1\na2\n", await ReadExactly(a.GetStream(), 6));
        Assert.Equal("b1\nb2\n", await ReadExactly(b.GetStream(), 6));

        // a3 waits in a's collect for a second event; a finishing its side of the connection ends that stream, so
        // collect lets a3 go to a at once instead of holding it until the flow ends.
        var fromA = a.GetStream();
        a.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal("a3\n", await ReadExactly(fromA, 3));

        // b sends its last line and finishes at once: the reply comes after the end of b's stream and goes out alone
        // too, rather than waiting in a collect of its own for a second event that cannot come.
        var fromB = b.GetStream();
        await fromB.WriteAsync(Encoding.UTF8.GetBytes("b3\n"));
        b.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal("b3\n", await ReadExactly(fromB, 3));
    }

    private static async Task<string> ReadExactly(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);
        return Encoding.UTF8.GetString(buffer);
    }

    private static long N(string json) => JsonDocument.Parse(json).RootElement.GetProperty("n").GetInt64();

    private static async Task<List<string>> ReadLinesShared(string path)
    {
        if (!File.Exists(path)) return [];
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private sealed class TempDir : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("tremor-payloads-").FullName;

        public string File(string name) => Path.Combine(_path, name);

        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
