using System.Net.Sockets;

namespace Tremor.Connectors;

/// <summary>
/// What the kernel already knows about a TCP peer leaving, without reading from the socket: a successful write only
/// means the kernel took the bytes, so a client sink asks this before and after writing rather than ack bytes a peer
/// that left will never read. Shared by the net and http plugins as a linked source file.
/// </summary>
internal static class TcpPeer
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const byte TcpEstablished = 1;

    /// <summary>
    /// Why the peer is known to be gone (a pending socket error such as a reset; on Linux a TCP state other than
    /// established, i.e. the peer's FIN arrived), or null when nothing is known.
    /// </summary>
    public static string? Left(Socket socket)
    {
        try
        {
            if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0)
            {
                return $"reset the connection ({new SocketException(error).Message})";
            }
            if (socket.ProtocolType == ProtocolType.Tcp && OperatingSystem.IsLinux())
            {
                // struct tcp_info starts with u8 tcpi_state.
                Span<byte> info = stackalloc byte[8];
                if (socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info) >= 1 && info[0] != TcpEstablished) return "closed the connection";
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return $"is gone ({e.Message})";
        }
        return null;
    }
}
