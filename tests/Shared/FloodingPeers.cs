using System.Net.Sockets;
using System.Text;

namespace Tremor.Tests;

/// <summary>
/// TCP peers that send numbered JSON lines (<c>{"peer":P,"line":N}</c>, P their index) as fast as TCP takes them until
/// stopped, each from a thread of its own with blocking writes: a peer that TCP holds back waits in the kernel. (An
/// async send loop whose writes complete at once never yields; three of them held the thread pool that the code under
/// test and the test's own deadlines share, and a loaded test run went on for minutes.)
/// </summary>
internal sealed class FloodingPeers : IDisposable
{
    private readonly IReadOnlyList<TcpClient> _clients;
    private readonly List<Thread> _threads;
    private bool _stopped;

    /// <summary>Starts sending on every client at once; peer i is <paramref name="clients"/>[i].</summary>
    public FloodingPeers(IReadOnlyList<TcpClient> clients)
    {
        _clients = clients;
        _threads = clients.Select((client, peer) => new Thread(() => SendUntilClosed(client, peer)) { IsBackground = true, Name = $"peer {peer}" }).ToList();
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>Closes every peer, which ends its write; the names of the peers whose thread did not end within <paramref name="timeout"/>.</summary>
    public List<string> Stop(TimeSpan timeout)
    {
        if (_stopped) return [];
        _stopped = true;
        foreach (var client in _clients)
        {
            try
            {
                client.Client?.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed or reset by the other side.
            }
            client.Dispose();
        }
        return _threads.Where(thread => !thread.Join(timeout)).Select(thread => thread.Name!).ToList();
    }

    public void Dispose() => Stop(TimeSpan.FromSeconds(20));

    private static void SendUntilClosed(TcpClient client, int peer)
    {
        try
        {
            var stream = client.GetStream();
            for (var line = 0; ; line++) stream.Write(Encoding.UTF8.GetBytes($"{{\"peer\":{peer},\"line\":{line}}}\n"));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or SocketException)
        {
            // Closed by the test, or cut off by the server.
        }
    }
}
