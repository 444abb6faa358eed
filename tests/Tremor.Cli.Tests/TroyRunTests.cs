using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tremor.Cli.Tests;

/// <summary>
/// Tremor deployments (<c>.troy</c>) run by <c>tremor run</c> end to end, written with Tremor's keys, comparing the
/// files they write with the expected ones; and <c>tremor convert</c>, whose HOCON runs to the same output.
/// </summary>
public sealed class TroyRunTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-troy-");

    public void Dispose() => _temp.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var file = Path.Combine(_temp.FullName, name);
        File.WriteAllText(file, text);
        return file;
    }

    private static int FreePort(ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, protocol == ProtocolType.Udp ? SocketType.Dgram : SocketType.Stream, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task The_file_example_writes_the_expected_file_and_its_converted_HOCON_writes_the_same()
    {
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "troy", "examples", "file-transform.troy"));
        var input = Path.Combine(Repo.Root, "troy", "examples", "levels.json");
        var troyOut = Path.Combine(_temp.FullName, "troy-out.json");
        var troy = Write("transform.troy", example.Replace(
            "deploy flow transform;",
            $"deploy flow transform with input = \"{input}\", output = \"{troyOut}\" end;",
            StringComparison.Ordinal));

        var run = await TremorProcess.RunAsync("run", troy);
        Assert.True(run.ExitCode == 0, run.ToString());
        const string Expected = "{\"level\":3,\"msg\":\"DISK FULL\"}\n{\"level\":2,\"msg\":\"RETRYING\"}\n";
        Assert.Equal(Expected, await File.ReadAllTextAsync(troyOut));

        var converted = await TremorProcess.RunAsync("convert", troy);
        Assert.True(converted.ExitCode == 0, converted.ToString());
        var hoconOut = Path.Combine(_temp.FullName, "hocon-out.json");
        var hocon = Write("transform.conf", converted.Stdout.Replace(troyOut, hoconOut, StringComparison.Ordinal));
        var rerun = await TremorProcess.RunAsync("run", hocon);
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Equal(Expected, await File.ReadAllTextAsync(hoconOut));
    }

    [Fact]
    public async Task A_metronome_from_the_standard_modules_ticks_into_a_file_in_order()
    {
        var output = Path.Combine(_temp.FullName, "ticks.json");
        var troy = Write("ticks.troy", $$"""
            use std::time::nanos;
            define flow ticks
            flow
              define connector tick from metronome
              with config = {"interval": nanos::from_millis(1), "iterations": 3} end;
              define connector out from file
              with codec = "json", postprocessors = ["lines"], config = {"path": "{{output}}", "mode": "write"} end;
              define pipeline ids pipeline select {"id": event.id} from in into out; end;
              create connector tick;
              create connector out;
              create pipeline ids;
              connect /connector/tick to /pipeline/ids;
              connect /pipeline/ids to /connector/out;
            end;
            deploy flow ticks;
            """);

        var run = await TremorProcess.RunAsync("run", troy);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("{\"id\":0}\n{\"id\":1}\n{\"id\":2}\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Tcp_server_lines_reach_the_file_and_are_echoed_back()
    {
        var port = FreePort(ProtocolType.Tcp);
        var output = Path.Combine(_temp.FullName, "tcp.json");
        var troy = Write("tcp.troy", $$"""
            define flow tcp
            flow
              define connector server from tcp_server
              with
                codec = "json", preprocessors = ["separate"], postprocessors = ["separate"],
                config = {"url": "127.0.0.1:{{port}}", "buf_size": 4096}
              end;
              define connector out from file
              with codec = "json", postprocessors = ["separate"], config = {"path": "{{output}}", "mode": "truncate"} end;
              define pipeline echo pipeline select {"echo": event} from in into out; end;
              create connector server;
              create connector out;
              create pipeline echo;
              connect /connector/server to /pipeline/echo;
              connect /pipeline/echo to /connector/server;
              connect /pipeline/echo to /connector/out;
            end;
            deploy flow tcp;
            """);
        await using var tremor = TremorProcess.Start(["run", troy]);
        await tremor.StderrShows("tcp_server: listening on");
        using var peer = new TcpClient();
        await peer.ConnectAsync(IPAddress.Loopback, port);
        var stream = peer.GetStream();
        await stream.WriteAsync("{\"a\":1}\n{\"a\":2}\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("{\"echo\":{\"a\":1}}", await reader.ReadLineAsync().WaitAsync(TremorProcess.DefaultTimeout));
        Assert.Equal("{\"echo\":{\"a\":2}}", await reader.ReadLineAsync().WaitAsync(TremorProcess.DefaultTimeout));
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("{\"echo\":{\"a\":1}}\n{\"echo\":{\"a\":2}}\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Udp_datagrams_sent_by_one_troy_flow_are_written_by_another()
    {
        var port = FreePort(ProtocolType.Udp);
        var output = Path.Combine(_temp.FullName, "udp.json");
        var input = Write("udp-in.json", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
        var server = Write("udp-server.troy", $$"""
            define flow receive
            flow
              define connector udp from udp_server with codec = "json", config = {"url": "127.0.0.1:{{port}}", "buf_size": 1500} end;
              define connector out from file with codec = "json", postprocessors = ["separate"], config = {"path": "{{output}}", "mode": "truncate"} end;
              define pipeline p pipeline select event from in into out; end;
              create connector udp;
              create connector out;
              create pipeline p;
              connect /connector/udp to /pipeline/p;
              connect /pipeline/p to /connector/out;
            end;
            deploy flow receive;
            """);
        var client = Write("udp-client.troy", $$"""
            use tremor::pipelines;
            define flow send
            flow
              define connector lines from file with codec = "json", preprocessors = ["separate"], config = {"path": "{{input}}", "mode": "read"} end;
              define connector udp from udp_client with codec = "json", config = {"url": "127.0.0.1:{{port}}"} end;
              create connector lines;
              create connector udp;
              create pipeline pass from pipelines::passthrough;
              connect /connector/lines to /pipeline/pass;
              connect /pipeline/pass to /connector/udp;
            end;
            deploy flow send;
            """);
        await using var receiving = TremorProcess.Start(["run", server]);
        await receiving.StderrShows("udp_server: listening on");
        var sent = await TremorProcess.RunAsync("run", client);
        Assert.True(sent.ExitCode == 0, sent.ToString());
        await WaitForLines(output, 3);
        receiving.Terminate();
        var result = await receiving.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task A_bad_troy_file_is_one_error_at_its_line_with_a_caret_and_nothing_runs()
    {
        var output = Path.Combine(_temp.FullName, "never.json");
        var troy = Write("bad.troy", $$"""
            define flow bad
            flow
              define connector out from file
              with config = {"path": "{{output}}", "mode": "write", "socket_options": 1} end;
              define pipeline p pipeline select event from in into out; end;
              create connector out;
              create pipeline p;
              connect /pipeline/p to /connector/out;
              connect /connector/out to /pipeline/p;
            end;
            deploy flow bad;
            """);
        foreach (var command in new[] { "run", "convert" })
        {
            var result = await TremorProcess.RunAsync(command, troy);
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith($"error: {troy}:4:", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("a file connector has no config key `socket_options`", result.Stderr);
            Assert.Matches(@"\n +\^\n", result.Stderr);
            Assert.Contains("hint: its keys: path, mode, chunk_size", result.Stderr);
            Assert.Empty(result.Stdout);
        }
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Errors_found_when_the_flow_is_checked_point_at_the_troy_line_too()
    {
        const string Flow = """
            define flow checked
            flow
              define connector tick from metronome with config = {"interval": 1000000, "iterations": 1} end;
              define connector out from stdio with codec = "json" end;
              define pipeline p pipeline select event from in into out; end;
              create connector tick;
              create connector out;
              create pipeline p;
              connect /connector/tick to /pipeline/p;
              connect /pipeline/p to /connector/out;
            end;
            deploy flow checked;
            """;
        var codec = Write("codec.troy", Flow.Replace("codec = \"json\"", "codec = \"jsn\"", StringComparison.Ordinal));
        var badCodec = await TremorProcess.RunAsync("run", codec);
        Assert.Equal(2, badCodec.ExitCode);
        Assert.StartsWith($"error: {codec}:4:40: unknown codec 'jsn'", badCodec.Stderr, StringComparison.Ordinal);
        Assert.Contains("(did you mean 'json'?)", badCodec.Stderr);
        Assert.Contains("define connector out from stdio with codec = \"jsn\" end;", badCodec.Stderr);

        var port = Write("port.troy", Flow.Replace("connect /pipeline/p to", "connect /pipeline/p/outt to", StringComparison.Ordinal));
        var badPort = await TremorProcess.RunAsync("run", port);
        Assert.Equal(2, badPort.ExitCode);
        Assert.StartsWith($"error: {port}:10:3: 'p/outt -> out/in': pipeline 'p' has no output port 'outt'", badPort.Stderr, StringComparison.Ordinal);

        var config = Write("config.troy", Flow.Replace("\"iterations\": 1", "\"iterations\": 0", StringComparison.Ordinal));
        var badConfig = await TremorProcess.RunAsync("run", config);
        Assert.Equal(2, badConfig.ExitCode);
        Assert.StartsWith($"error: {config}:3:76: ", badConfig.Stderr, StringComparison.Ordinal);
        Assert.Contains("must be at least 1", badConfig.Stderr);
    }

    private static async Task WaitForLines(string file, int count)
    {
        using var timeout = new CancellationTokenSource(TremorProcess.DefaultTimeout);
        using var changed = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!, Path.GetFileName(file)) { EnableRaisingEvents = true };
        watcher.Changed += (_, _) => changed.Release();
        watcher.Created += (_, _) => changed.Release();
        while (!File.Exists(file) || (await File.ReadAllLinesAsync(file, timeout.Token)).Length < count)
        {
            await changed.WaitAsync(TimeSpan.FromSeconds(1), timeout.Token);
        }
    }
}
