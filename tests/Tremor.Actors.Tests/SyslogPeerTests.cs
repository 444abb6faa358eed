using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tremor.Actors.Connectors;
using Tremor.Connectors.Net;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>The syslog codec against a real sender: util-linux <c>logger</c>, RFC 5424 and RFC 3164, over UDP and TCP.</summary>
public sealed class SyslogPeerTests : TremorTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Logger_messages_over_udp_and_tcp_in_both_rfcs_arrive_as_tremor_syslog_events()
    {
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var sink = new TestSinkFactory { KeepEvents = true };
        Register(sink);
        var udp = FreePort(SocketType.Dgram, ProtocolType.Udp);
        var tcp = FreePort(SocketType.Stream, ProtocolType.Tcp);
        var counted = FreePort(SocketType.Stream, ProtocolType.Tcp);
        Deploy(Flow("f", $$"""
            connectors {
              udp { type = udp_server, codec = syslog, config { url = "127.0.0.1:{{udp}}" } }
              tcp { type = tcp_server, codec = syslog, preprocessors = ["separate"], config { url = "127.0.0.1:{{tcp}}" } }
              counted { type = tcp_server, codec = syslog, preprocessors = ["textual-length-prefixed"], config { url = "127.0.0.1:{{counted}}" } }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["udp -> main", "tcp -> main", "counted -> main", "main -> snk"]
            """));
        foreach (var alias in new[] { "f.udp", "f.tcp", "f.counted" })
        {
            await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus(alias)).State), Patience, TimeSpan.FromMilliseconds(50));
        }

        // UDP without framing; TCP newline-terminated (RFC 6587 non-transparent framing, logger's default) and
        // octet-counted (RFC 6587 / RFC 5425).
        await Logger(udp, "--udp", "--rfc5424", "--sd-id", "exampleSDID@32473", "--sd-param", "iut=\"3\"", "udp 5424");
        await Logger(udp, "--udp", "--rfc3164", "udp 3164");
        await Logger(tcp, "--tcp", "--rfc5424", "tcp 5424");
        await Logger(tcp, "--tcp", "--rfc3164", "tcp 3164");
        await Logger(counted, "--tcp", "--octet-count", "--rfc5424", "counted 5424");

        AwaitCondition(() => sink.Events.Count == 5, Patience, TimeSpan.FromMilliseconds(20));
        var byMessage = sink.Events.ToDictionary(e => e.Data["msg"].AsString() ?? "", e => e.Data);
        Assert.Equal(["counted 5424", "tcp 3164", "tcp 5424", "udp 3164", "udp 5424"], byMessage.Keys.Order(StringComparer.Ordinal));
        foreach (var (msg, data) in byMessage)
        {
            Assert.Equal("myapp", data["appname"].AsString());
            Assert.Equal("local4", data["facility"].AsString());
            Assert.Equal("warning", data["severity"].AsString());
            Assert.Equal(msg.EndsWith("5424", StringComparison.Ordinal) ? "RFC5424" : "RFC3164", data["protocol"].AsString());
            Assert.False(data["hostname"].IsNull, msg);
            Assert.True(data["timestamp"].TryGetI64(out var ns) && ns > 0, msg);
        }
        var sd = byMessage["udp 5424"]["structured_data"];
        Assert.Equal("3", sd["exampleSDID@32473"][0]["iut"].AsString());
    }

    private static async Task Logger(int port, params string[] args)
    {
        var info = new ProcessStartInfo("logger") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--server", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "myapp", "-p", "local4.warning" }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("logger did not start (util-linux bsdutils)");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(process.ExitCode == 0, $"logger {string.Join(' ', args)}: {await stderr}");
    }
}
