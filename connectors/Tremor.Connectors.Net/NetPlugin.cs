// Implementation choice: plain sockets (System.Net.Sockets.Socket, NetworkStream, SslStream) with one task per
// connection and a bounded channel between the sockets and the runtime's pulls, not Akka.Streams' Tcp. A plugin gets
// no ActorSystem through the PDK: Akka.Streams would make every connector instance start (and tear down) an
// ActorSystem of its own inside the plugin's load context, with its own dispatchers and config, for what the BCL does
// directly. The bounded channel gives the same back-pressure (a connection's reader stops reading when the runtime
// stops pulling, so the kernel's TCP window pushes back on the peer) and keeps the plugin free of package
// dependencies, so it loads and unloads like any other.
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>The network connectors: tcp, unix socket and udp servers and clients, with TLS for tcp.</summary>
public sealed class NetPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("net", "0.1.0", "Network connectors: tcp_server, tcp_client (TLS), unix_socket_server, unix_socket_client, udp_server, udp_client");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } =
    [
        new TcpServerFactory(),
        new TcpClientFactory(),
        new UnixSocketServerFactory(),
        new UnixSocketClientFactory(),
        new UdpServerFactory(),
        new UdpClientFactory(),
    ];
}
