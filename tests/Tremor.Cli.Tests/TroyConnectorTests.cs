using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>
/// Tremor-style troy deployments of the connectors both systems have (unix socket, http, ws, bench, stdio), written
/// with Tremor's keys, run by <c>tremor run</c> against real peers; and the examples, run as troy and as the HOCON
/// <c>tremor convert</c> prints, giving the same output.
/// </summary>
public sealed class TroyConnectorTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-troy-net-");

    public void Dispose() => _temp.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var file = Path.Combine(_temp.FullName, name);
        File.WriteAllText(file, text);
        return file;
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A troy flow answering each input event through <paramref name="query"/> back into the same connector.</summary>
    private static string Reply(string type, string with, string query) => $$"""
        define flow reply
        flow
          define connector server from {{type}}
          with
            {{with}}
          end;
          define pipeline answer pipeline {{query}} end;
          create connector server;
          create pipeline answer;
          connect /connector/server to /pipeline/answer;
          connect /pipeline/answer to /connector/server;
        end;
        deploy flow reply;
        """;

    [Fact]
    public async Task Unix_socket_server_lines_are_answered_on_their_connection()
    {
        var path = Path.Combine(_temp.FullName, "t.sock");
        var troy = Write("unix.troy", Reply("unix_socket_server",
            $$"""codec = "json", preprocessors = ["separate"], postprocessors = ["separate"], config = {"path": "{{path}}", "buf_size": 1024}""",
            """select {"n": event.n + 1} from in into out;"""));
        await using var tremor = TremorProcess.Start(["run", troy]);
        await tremor.StderrShows("unix_socket_server: listening on");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync("{\"n\":1}\n{\"n\":41}\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("{\"n\":2}", await reader.ReadLineAsync().WaitAsync(TremorProcess.DefaultTimeout));
        Assert.Equal("{\"n\":42}", await reader.ReadLineAsync().WaitAsync(TremorProcess.DefaultTimeout));
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Http_server_requests_are_answered_by_the_pipeline()
    {
        var port = FreeTcpPort();
        var troy = Write("http.troy", Reply("http_server",
            $$"""codec = "json", config = {"url": "http://127.0.0.1:{{port}}"}""",
            """select {"got": event, "path": $http_server.request.path} from in into out;"""));
        await using var tremor = TremorProcess.Start(["run", troy]);
        await tremor.StderrShows("http_server listening on");
        using var client = new HttpClient { Timeout = TremorProcess.DefaultTimeout };
        using var content = new StringContent("{\"id\":7}", Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await client.PostAsync(new Uri($"http://127.0.0.1:{port}/orders"), content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"got\":{\"id\":7},\"path\":\"/orders\"}", await response.Content.ReadAsStringAsync());
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Ws_server_messages_are_echoed_to_their_connection()
    {
        var port = FreeTcpPort();
        var troy = Write("ws.troy", Reply("ws_server",
            $$"""codec = "json", config = {"url": "ws://127.0.0.1:{{port}}"}""",
            """select {"echo": event} from in into out;"""));
        await using var tremor = TremorProcess.Start(["run", troy]);
        await tremor.StderrShows("ws_server listening on");
        using var ws = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TremorProcess.DefaultTimeout);
        await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), timeout.Token);
        await ws.SendAsync("{\"a\":1}"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[1024];
        var received = await ws.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal("{\"echo\":{\"a\":1}}", Encoding.UTF8.GetString(buffer, 0, received.Count));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Bench_replays_its_file_iters_times_and_reports()
    {
        var data = Write("data.json", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        var troy = Write("bench.troy", $$"""
            use tremor::pipelines;
            define flow bench
            flow
              define connector bench from bench
              with codec = "json", config = {"path": "{{data}}", "iters": 2, "interval": 0} end;
              create connector bench;
              create pipeline pass from pipelines::passthrough;
              connect /connector/bench to /pipeline/pass;
              connect /pipeline/pass to /connector/bench;
            end;
            deploy flow bench;
            """);
        var result = await TremorProcess.RunAsync("run", troy);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.StdoutLines.Single(l => l.StartsWith("BENCH ", StringComparison.Ordinal))["BENCH ".Length..]);
        Assert.Equal(6, report.RootElement.GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task The_standard_console_writes_string_lines_to_stdout()
    {
        var troy = Write("console.troy", """
            use tremor::connectors;
            use std::time::nanos;
            define flow ticks
            flow
              define connector tick from metronome with config = {"interval": nanos::from_millis(1), "iterations": 3} end;
              define pipeline say pipeline select "tick #{event.id}" from in into out; end;
              create connector tick;
              create connector console from connectors::console;
              create pipeline say;
              connect /connector/tick to /pipeline/say;
              connect /pipeline/say to /connector/console/stdout;
            end;
            deploy flow ticks;
            """);
        var result = await TremorProcess.RunAsync("run", troy);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["tick 0", "tick 1", "tick 2"], result.StdoutLines);
    }

    [Fact]
    public async Task The_hello_example_prints_the_same_ticks_run_as_troy_and_as_its_converted_HOCON()
    {
        var troy = Path.Combine(Repo.Root, "troy", "examples", "hello.troy");
        var converted = await TremorProcess.RunAsync("convert", troy);
        Assert.True(converted.ExitCode == 0, converted.ToString());
        var hocon = Write("hello.conf", converted.Stdout);
        var fromTroy = await TremorProcess.RunAsync("run", troy);
        var fromHocon = await TremorProcess.RunAsync("run", hocon);
        Assert.True(fromTroy.ExitCode == 0, fromTroy.ToString());
        Assert.True(fromHocon.ExitCode == 0, fromHocon.ToString());
        // The ticks carry the time they were made; the rest is the same.
        Assert.Equal(Ids(fromTroy), Ids(fromHocon));
        Assert.Equal([0L, 1, 2, 3, 4], Ids(fromTroy));

        static List<long> Ids(CliResult r) => r.StdoutLines.Select(l =>
        {
            using var tick = JsonDocument.Parse(l);
            return tick.RootElement.GetProperty("id").GetInt64();
        }).ToList();
    }

    [Fact]
    public async Task The_tcp_echo_example_echoes_the_same_run_as_troy_and_as_its_converted_HOCON()
    {
        var port = FreeTcpPort();
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "troy", "examples", "tcp-echo.troy"));
        Assert.Contains("\"127.0.0.1:4243\"", example);
        var troy = Write("tcp-echo.troy", example.Replace("\"127.0.0.1:4243\"", $"\"127.0.0.1:{port}\"", StringComparison.Ordinal));
        var converted = await TremorProcess.RunAsync("convert", troy);
        Assert.True(converted.ExitCode == 0, converted.ToString());
        var hocon = Write("tcp-echo.conf", converted.Stdout);
        Assert.Equal(await Echo(troy, port), await Echo(hocon, port));

        static async Task<string?> Echo(string file, int port)
        {
            await using var tremor = TremorProcess.Start(["run", file]);
            await tremor.StderrShows("tcp_server: listening on");
            using var peer = new TcpClient();
            await peer.ConnectAsync(IPAddress.Loopback, port);
            await peer.GetStream().WriteAsync("{\"a\":1}\n"u8.ToArray());
            using var reader = new StreamReader(peer.GetStream(), Encoding.UTF8);
            var line = await reader.ReadLineAsync().WaitAsync(TremorProcess.DefaultTimeout);
            tremor.Terminate();
            var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.ExitCode == 0, result.ToString());
            return line;
        }
    }
}
