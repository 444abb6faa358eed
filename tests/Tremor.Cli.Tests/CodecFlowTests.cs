using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>The text codecs through the whole runtime: file source, codec, query, json sink.</summary>
public sealed class CodecFlowTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-codecs-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Syslog_lines_from_a_file_reach_a_query_in_tremors_shape_and_a_bad_line_goes_to_err_with_its_byte()
    {
        var input = Path.Combine(_temp.FullName, "messages.log");
        await File.WriteAllTextAsync(input, string.Join('\n',
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event",
            "<999>1 - - - - - - not a priority",
            "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar") + "\n");
        var errors = Path.Combine(_temp.FullName, "errors.json");
        var file = Path.Combine(_temp.FullName, "syslog.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor.flows.syslog {
              connectors {
                in { type = file, codec = syslog, preprocessors = ["separate"], config { path = "{{input}}" } }
                out { type = stdio, codec = { name = json, config { mode = sorted } }, postprocessors = ["separate"] }
                errors { type = file, codec = json, postprocessors = ["separate"], config { path = "{{errors}}", mode = truncate } }
              }
              pipelines {
                main { query = "select { \"host\": event.hostname, \"severity\": event.severity, \"facility\": event.facility, \"app\": event.appname, \"protocol\": event.protocol, \"msg\": event.msg } from in into out;" }
              }
              links = ["in -> main", "main -> out", "in/err -> errors"]
            }
            """);
        var result = await TremorProcess.RunAsync("run", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            [
                """{"app":"evntslog","facility":"local4","host":"mymachine.example.com","msg":"An application event","protocol":"RFC5424","severity":"notice"}""",
                """{"app":"root","facility":"user","host":"74794bfb6795","msg":"i am foobar","protocol":"RFC3164","severity":"notice"}""",
            ],
            result.StdoutLines);
        var error = JsonDocument.Parse(Assert.Single(File.ReadAllLines(errors))).RootElement;
        Assert.Contains("invalid syslog at byte 1: PRI must be a number from 0 to 191", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Syslog_from_util_linux_logger_over_tcp_with_octet_counting_and_over_udp_decodes_in_tremors_shape()
    {
        var tcpPort = FreePort(SocketType.Stream, ProtocolType.Tcp);
        var udpPort = FreePort(SocketType.Dgram, ProtocolType.Udp);
        var file = Path.Combine(_temp.FullName, "logger.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor.flows.logger {
              connectors {
                tcp { type = tcp_server, codec = syslog, preprocessors = ["textual-length-prefixed"], config { url = "127.0.0.1:{{tcpPort}}" } }
                udp { type = udp_server, codec = syslog, config { url = "127.0.0.1:{{udpPort}}" } }
                out { type = stdio, codec = { name = json, config { mode = sorted } }, postprocessors = ["separate"] }
                stop { type = exit }
              }
              pipelines {
                main { type = passthrough }
                last { query = "select event from in where event.msg == \"last\" into out;" }
              }
              links = ["tcp -> main", "udp -> main", "main -> out", "tcp -> last", "last -> stop"]
            }
            """);
        await using var tremor = TremorProcess.Start(["run", file]);

        // RFC 3164 over UDP, sent until the flow prints it: a datagram sent before the socket is bound is simply lost.
        var deadline = DateTime.UtcNow + TremorProcess.DefaultTimeout;
        do
        {
            await LoggerAsync("--udp", "--rfc3164", "--port", udpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-p", "user.err", "-t", "app", "udp hello");
        }
        while (await Task.WhenAny(tremor.FirstLine, Task.Delay(500)) != tremor.FirstLine && DateTime.UtcNow < deadline);
        await WaitUntilListeningAsync(tcpPort);
        // RFC 5424 with structured data over TCP, framed by octet counting (RFC 6587) as rsyslog forwards it; its
        // message "last" stops the flow through the exit connector.
        await LoggerAsync("--tcp", "--octet-count", "--rfc5424", "--port", tcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--msgid", "ID47", "--sd-id", "exampleSDID@32473", "--sd-param", "iut=\"3\"", "-p", "local4.notice", "-t", "evntslog", "last");
        var result = await tremor.WaitAsync(TremorProcess.DefaultTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        var events = result.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var tcp = Assert.Single(events, e => e.GetProperty("protocol").GetString() == "RFC5424");
        Assert.Equal("notice", tcp.GetProperty("severity").GetString());
        Assert.Equal("local4", tcp.GetProperty("facility").GetString());
        Assert.Equal("evntslog", tcp.GetProperty("appname").GetString());
        Assert.Equal("ID47", tcp.GetProperty("msgid").GetString());
        Assert.Equal("3", tcp.GetProperty("structured_data").GetProperty("exampleSDID@32473")[0].GetProperty("iut").GetString());
        Assert.Equal("last", tcp.GetProperty("msg").GetString());
        Assert.False(string.IsNullOrEmpty(tcp.GetProperty("hostname").GetString()));
        var udp = events.First(e => e.GetProperty("protocol").GetString() == "RFC3164");
        Assert.Equal("err", udp.GetProperty("severity").GetString());
        Assert.Equal("user", udp.GetProperty("facility").GetString());
        Assert.Equal("app", udp.GetProperty("appname").GetString());
        Assert.Equal("udp hello", udp.GetProperty("msg").GetString());
        Assert.True(udp.GetProperty("timestamp").GetInt64() > 0);
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Waits until the flow accepts connections (polling with a deadline: the CLI starts in seconds).</summary>
    private static async Task WaitUntilListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + TremorProcess.DefaultTimeout;
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Runs util-linux <c>logger</c> against 127.0.0.1 and fails the test if it does not send.</summary>
    private static async Task LoggerAsync(params string[] args)
    {
        var start = new ProcessStartInfo("logger") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("--server");
        start.ArgumentList.Add("127.0.0.1");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var logger = Process.Start(start)!;
        var stderr = await logger.StandardError.ReadToEndAsync();
        await logger.WaitForExitAsync();
        Assert.True(logger.ExitCode == 0, $"logger {string.Join(' ', args)} exited {logger.ExitCode}: {stderr}");
    }
}
