using System.Net.Sockets;
using Tremor.Pdk;

namespace Tremor.Connectors;

/// <summary>
/// What the kernel already knows about a TCP peer leaving, without reading from the socket: a successful write only
/// means the kernel took the bytes, so a client sink asks this before and after writing rather than ack bytes a peer
/// that left will never read; and whether a server accepts connections at all, the connect of a client whose
/// requests open their own. Shared by the net, http and otel plugins as a linked source file.
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

    /// <summary>
    /// Whether the server of <paramref name="url"/> accepts a TCP connection within <paramref name="timeout"/>: the
    /// connect of a client whose requests make their own connections. When not, one warning naming
    /// <paramref name="where"/>, the attempt and why (the runtime retries with its backoff).
    /// </summary>
    public static async ValueTask<bool> AcceptsAsync(IPluginHost host, string where, Uri url, TimeSpan timeout, int attempt, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(url.DnsSafeHost, url.Port, timer.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var why = e is OperationCanceledException ? $"no connection within {timeout.TotalSeconds:0.###}s (timeout)" : e.Message;
            host.Log(PluginLogLevel.Warning, $"{where} is not reachable (attempt {attempt}): {why}");
            return false;
        }
    }
}
