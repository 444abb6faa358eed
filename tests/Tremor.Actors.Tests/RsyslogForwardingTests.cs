using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Connectors.Net;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// The syslog codec behind a real relay: Debian's <c>rsyslogd</c>, started as a plain process with a config of its
/// own, takes messages from util-linux <c>logger</c> and forwards each twice to Tremor.NET with <c>omfwd</c>: RFC 5424
/// (rsyslog's <c>RSYSLOG_SyslogProtocol23Format</c>) over TCP and RFC 3164 (<c>RSYSLOG_TraditionalForwardFormat</c>)
/// over UDP.
/// </summary>
public sealed class RsyslogForwardingTests : TremorTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Messages_rsyslog_forwards_in_rfc5424_over_tcp_and_rfc3164_over_udp_arrive_as_tremor_syslog_events()
    {
        var rsyslogd = Find("rsyslogd", "/usr/sbin/rsyslogd");
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var sink = new TestSinkFactory { KeepEvents = true };
        Register(sink);
        var tcp = FreePort(SocketType.Stream, ProtocolType.Tcp);
        var udp = FreePort(SocketType.Dgram, ProtocolType.Udp);
        Deploy(Flow("f", $$"""
            connectors {
              tcp { type = tcp_server, codec = syslog, preprocessors = ["separate"], config { url = "127.0.0.1:{{tcp}}" } }
              udp { type = udp_server, codec = syslog, config { url = "127.0.0.1:{{udp}}" } }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["tcp -> main", "udp -> main", "main -> snk"]
            """));
        foreach (var alias in new[] { "f.tcp", "f.udp" })
        {
            await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus(alias)).State), Patience, TimeSpan.FromMilliseconds(50));
        }

        // rsyslog listens on TCP for logger (so the test can see when it is up) and relays through a ruleset of its
        // own: its startup messages stay in the default ruleset, which has no action.
        var dir = Directory.CreateTempSubdirectory("tremor-rsyslog-").FullName;
        var input = FreePort(SocketType.Stream, ProtocolType.Tcp);
        var config = Path.Combine(dir, "rsyslog.conf");
        await File.WriteAllTextAsync(config, $$"""
            global(workDirectory="{{dir}}")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="{{input}}" ruleset="forward")
            ruleset(name="forward") {
              action(type="omfwd" target="127.0.0.1" port="{{tcp}}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format")
              action(type="omfwd" target="127.0.0.1" port="{{udp}}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
            }
            """);
        var info = new ProcessStartInfo(rsyslogd) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-n", "-f", config, "-i", Path.Combine(dir, "rsyslogd.pid") }) info.ArgumentList.Add(a);
        using var relay = Process.Start(info) ?? throw new InvalidOperationException("rsyslogd did not start");
        var relayOutput = new StringBuilder();
        relay.ErrorDataReceived += (_, e) => { lock (relayOutput) relayOutput.AppendLine(e.Data); };
        relay.OutputDataReceived += (_, e) => { lock (relayOutput) relayOutput.AppendLine(e.Data); };
        relay.BeginErrorReadLine();
        relay.BeginOutputReadLine();
        try
        {
            await WaitUntilListening(relay, input, relayOutput);
            await Logger(input, "--rfc5424", "-t", "myapp", "-p", "local4.warning", "--sd-id", "exampleSDID@32473", "--sd-param", "iut=\"3\"", "relayed 5424");
            await Logger(input, "--rfc3164", "-t", "otherapp", "-p", "user.err", "relayed 3164");

            // Each message arrives twice: once per forwarding action.
            AwaitCondition(() => sink.Events.Count == 4, Patience, TimeSpan.FromMilliseconds(20));
        }
        finally
        {
            relay.Kill();
            await relay.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }

        var events = sink.Events.Select(e => e.Data).ToList();
        var rfc5424 = events.Where(e => e["protocol"].AsString() == "RFC5424").ToList();
        var rfc3164 = events.Where(e => e["protocol"].AsString() == "RFC3164").ToList();
        Assert.Equal(2, rfc5424.Count);
        Assert.Equal(2, rfc3164.Count);
        var host = Environment.MachineName.Split('.')[0];
        foreach (var e in events)
        {
            Assert.Equal(host, e["hostname"].AsString()?.Split('.')[0]);
            Assert.True(e["timestamp"].TryGetI64(out var ns) && ns > 0, e.ToString());
        }

        // Over TCP rsyslog writes RFC 5424 whatever it was given, with its own timeQuality element beside the sender's.
        var tcp5424 = Assert.Single(rfc5424, e => e["appname"].AsString() == "myapp");
        Assert.Equal("local4", tcp5424["facility"].AsString());
        Assert.Equal("warning", tcp5424["severity"].AsString());
        Assert.Equal("relayed 5424", tcp5424["msg"].AsString());
        Assert.Equal("3", tcp5424["structured_data"]["exampleSDID@32473"][0]["iut"].AsString());
        Assert.Equal("1", tcp5424["structured_data"]["timeQuality"][0]["tzKnown"].AsString());
        var tcp3164 = Assert.Single(rfc5424, e => e["appname"].AsString() == "otherapp");
        Assert.Equal("user", tcp3164["facility"].AsString());
        Assert.Equal("err", tcp3164["severity"].AsString());
        // rsyslog keeps the space after an RFC 3164 tag's colon as the start of the message.
        Assert.Equal("relayed 3164", tcp3164["msg"].AsString()?.TrimStart());

        // Over UDP, RFC 3164: priority, time, host, tag, message.
        var udp5424 = Assert.Single(rfc3164, e => e["msg"].AsString()?.EndsWith("relayed 5424", StringComparison.Ordinal) == true);
        Assert.Equal("local4", udp5424["facility"].AsString());
        Assert.Equal("warning", udp5424["severity"].AsString());
        var udp3164 = Assert.Single(rfc3164, e => e["appname"].AsString() == "otherapp");
        Assert.Equal("user", udp3164["facility"].AsString());
        Assert.Equal("err", udp3164["severity"].AsString());
        Assert.Equal("relayed 3164", udp3164["msg"].AsString());
    }

    /// <summary>rsyslogd is up once its TCP input accepts a connection; one that exits instead fails the test with what it printed.</summary>
    private static async Task WaitUntilListening(Process relay, int port, StringBuilder output)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (relay.HasExited)
            {
                await relay.WaitForExitAsync();
                lock (output) Assert.Fail($"rsyslogd exited with {relay.ExitCode}: {output}");
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet: wait for the process to change (exit) or try again shortly.
                await relay.WaitForExitAsync().WaitAsync(TimeSpan.FromMilliseconds(50)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static async Task Logger(int port, params string[] args)
    {
        var info = new ProcessStartInfo("logger") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--tcp", "--server", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("logger did not start (util-linux bsdutils)");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(process.ExitCode == 0, $"logger {string.Join(' ', args)}: {await stderr}");
    }

    private static string Find(string name, string path)
    {
        if (File.Exists(path)) return path;
        Assert.Fail($"'{name}' was not found at {path}: install the Debian package 'rsyslog' (apt-get install -y rsyslog; ./test.sh installs it when missing)");
        return "";
    }
}
