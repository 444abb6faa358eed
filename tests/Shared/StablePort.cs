using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tremor.Tests;

/// <summary>
/// A free loopback port for a server a test stops and starts again on the same port. Taken below the kernel's
/// ephemeral range: there no other process's client socket (the whole suite runs in parallel) can be handed it while
/// the server is down, and a client reconnecting to it can never connect to itself (a loopback connect to a port in the
/// ephemeral range with no listener can pick that very port as its own source port). A port is handed out once per
/// process, so the ports of one test (several nodes, each with its own) never coincide.
/// </summary>
internal static class StablePort
{
    private static readonly HashSet<int> Given = [];

    public static int Pick()
    {
        var ephemeralLow = 32768;
        try
        {
            ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        var low = Math.Max(1024, ephemeralLow - 10_000);
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(low, ephemeralLow);
            lock (Given)
            {
                if (!Given.Add(port)) continue;
            }
            try
            {
                var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                probe.Stop();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
            }
        }
    }
}
