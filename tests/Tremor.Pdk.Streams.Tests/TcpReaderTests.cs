using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Connectors.Streams;
using Tremor.Pdk;
using Tremor.Tests;

namespace Tremor.Pdk.Streams.Tests;

/// <summary><c>tcp_reader</c> against a real TCP server that goes away and comes back.</summary>
public sealed class TcpReaderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Lines_from_a_server_that_closes_and_is_reached_again_arrive_each_connection_as_its_own_stream()
    {
        var port = StablePort.Pick();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            var host = new TestHost();
            await using var reader = new TcpReaderFactory().Create(Fixtures.Context(host, ("port", Value.From((long)port)), ("min-backoff", Value.From("50ms")), ("max-backoff", Value.From("200ms"))));
            Assert.True(await reader.ConnectAsync(1, CancellationToken.None));
            var source = reader.Source!;

            // First connection: two lines, the second without its newline, then the server hangs up.
            using (var first = await listener.AcceptTcpClientAsync().WaitAsync(Patience))
            {
                await first.GetStream().WriteAsync("one\ntwo"u8.ToArray());
            }
            // The reader connects again by itself (backoff), and this connection's line is a stream of its own.
            using (var second = await listener.AcceptTcpClientAsync().WaitAsync(Patience))
            {
                await second.GetStream().WriteAsync("three\n"u8.ToArray());
                var chunks = await PullAsync(source, c => !c.IsStreamEnd && Encoding.UTF8.GetString(c.Data.Span) == "three");

                var lines = chunks.Where(c => !c.IsStreamEnd).Select(c => (Encoding.UTF8.GetString(c.Data.Span), c.StreamId)).ToList();
                Assert.Equal([("one", 1UL), ("two", 1UL), ("three", 2UL)], lines);
                Assert.Contains(chunks, c => c.IsStreamEnd && c.StreamId == 1);
            }
            Assert.Contains(host.Logs, l => l.Message == $"connected to 127.0.0.1:{port}");
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public void A_missing_port_is_refused_naming_the_key() =>
        Fixtures.AssertRefusedNaming(new TcpReaderFactory(), [("host", Value.From("127.0.0.1"))], "port");

    [Fact]
    public void A_max_backoff_below_the_min_backoff_is_refused_naming_the_key() =>
        Fixtures.AssertRefusedNaming(new TcpReaderFactory(), [("port", Value.From(9L)), ("min-backoff", Value.From("2s")), ("max-backoff", Value.From("1s"))], "max-backoff");

    /// <summary>Pulls (each copied, batches are reused) until a chunk matches <paramref name="last"/>.</summary>
    private static async Task<List<SourceChunk>> PullAsync(ISource source, Func<SourceChunk, bool> last)
    {
        var chunks = new List<SourceChunk>();
        var batch = new SourceBatch(16);
        using var timeout = new CancellationTokenSource(Patience);
        while (!chunks.Any(last))
        {
            timeout.Token.ThrowIfCancellationRequested();
            batch.Clear();
            await source.PullAsync(batch, timeout.Token);
            for (var i = 0; i < batch.Count; i++) chunks.Add(batch[i] with { Data = batch[i].Data.ToArray() });
        }
        return chunks;
    }
}
