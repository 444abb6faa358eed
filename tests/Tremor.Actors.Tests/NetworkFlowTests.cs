using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Connectors.Net;

namespace Tremor.Actors.Tests;

/// <summary>Flows through the runtime against real sockets: a tcp_client whose server goes away and comes back.</summary>
public sealed class NetworkFlowTests : TremorTestKit
{
    [Fact]
    public async Task A_tcp_client_whose_server_goes_away_holds_the_source_back_reconnects_and_loses_nothing()
    {
        // Events bigger than the sockets' buffers hold, and a server that goes away by itself after 1000 lines, so the
        // client is cut off mid-stream.
        const int total = 20_000;
        var padding = new string('x', 200);
        using var server = new LineServer { StopAfter = 1000 };
        server.Start();
        var source = new TestSourceFactory { Total = total, Transactional = true, ReplayFailed = true, ChunksPerPull = 10, Payload = n => $"{{\"n\":{n},\"pad\":\"{padding}\"}}" };
        Register(source);
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var (_, exit) = Deploy(Flow("f", $$"""
            connectors {
              src { type = test-source }
              out {
                type = tcp_client
                codec = json
                postprocessors = ["separate"]
                config { url = "127.0.0.1:{{server.Port}}" }
                reconnect { interval = 50ms, max-interval = 200ms, jitter = 0 }
              }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> out"]
            """));

        // The server shuts down gracefully: it closes its side, reads what the client still sent, and stops listening.
        await server.Stopped.WaitAsync(TimeSpan.FromSeconds(30));
        await AwaitAssertAsync(async () => Assert.True((await ConnectorStatus("f.src")).CircuitBreakerOpen), TimeSpan.FromSeconds(30));
        Assert.Equal(ConnectorState.Connecting, (await ConnectorStatus("f.out")).State);
        var pulls = Interlocked.Read(ref source.Pulls);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.InRange(Interlocked.Read(ref source.Pulls) - pulls, 0, 1);

        server.Start();
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        // Every event arrived: the set of distinct ids, not a count. The batch in flight when the peer went away was
        // kept and delivered again; events a partly written batch failed went back to the source, which replayed them
        // (a transactional source). A batch the kernel took while the peer was leaving is failed back too, since it
        // may not have arrived; when the peer did read it, it arrives twice (at least once, never lost): only that
        // batch, so duplicates stay within the batches in flight at the disconnect (batch size 10, credits 2).
        var received = server.Lines.Select(l => System.Text.Json.JsonDocument.Parse(l.Line).RootElement.GetProperty("n").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), received.Distinct().Order());
        var twice = received.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count <= 20, $"{twice.Count} events arrived more than once ({string.Join(", ", twice.Take(40))}): more than the batches in flight at the disconnect");
        Assert.Contains(server.Lines, l => l.Connection == 2);
    }

    /// <summary>A line-reading TCP server on a fixed loopback port that can stop gracefully and start again.</summary>
    private sealed class LineServer : IDisposable
    {
        private readonly int _port;
        private TcpListener? _listener;
        private readonly List<(TcpClient Client, Task Reader)> _clients = [];
        private int _connections;

        public LineServer() => _port = Tremor.Tests.StablePort.Pick();

        public int Port => _port;

        public int Connections => Volatile.Read(ref _connections);

        public ConcurrentQueue<(int Connection, string Line)> Lines { get; } = new();

        /// <summary>After this many lines the server stops by itself (gracefully), once.</summary>
        public int StopAfter { get; init; } = int.MaxValue;

        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Stopped => _stopped.Task;

        public void Start()
        {
            _listener = new TcpListener(IPAddress.Loopback, _port);
            _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Start();
            var listener = _listener;
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient client;
                    try
                    {
                        client = await listener.AcceptTcpClientAsync();
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        return;
                    }
                    var connection = Interlocked.Increment(ref _connections);
                    lock (_clients) _clients.Add((client, Task.Run(() => ReadAsync(client, connection))));
                }
            });
        }

        private async Task ReadAsync(TcpClient client, int connection)
        {
            using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
            try
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    Lines.Enqueue((connection, line));
                    if (Lines.Count == StopAfter) _ = Task.Run(async () => { await StopAsync(); _stopped.TrySetResult(); });
                }
            }
            catch (IOException)
            {
            }
        }

        public async Task StopAsync()
        {
            _listener?.Stop();
            List<(TcpClient Client, Task Reader)> clients;
            lock (_clients)
            {
                clients = [.. _clients];
                _clients.Clear();
            }
            foreach (var (client, _) in clients) client.Client.Shutdown(SocketShutdown.Send);
            // Whatever the client wrote before it saw the close is still read: a graceful shutdown loses nothing.
            await Task.WhenAll(clients.Select(c => c.Reader)).WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var (client, _) in clients) client.Dispose();
        }

        public void Dispose()
        {
            _listener?.Stop();
            lock (_clients)
            {
                foreach (var (client, _) in _clients) client.Dispose();
            }
        }
    }
}
