using System.Collections.Concurrent;
using Akka.Actor;
using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class CircuitBreakerTests : TremorTestKit
{
    private static string Flow(string reconnect) => $$"""
        connectors {
          src { type = test-source }
          snk { type = peer-sink, {{reconnect}} }
        }
        pipelines { main { type = passthrough } }
        links = ["src -> main", "main -> snk"]
        """;

    [Fact]
    public async Task A_sink_that_loses_its_peer_holds_the_source_back_reconnects_and_loses_nothing()
    {
        var source = new TestSourceFactory { Total = 3000, Transactional = true };
        var sink = new PeerSinkFactory { GoneAfter = 500 };
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", Flow("reconnect { interval = 20ms, max-interval = 100ms, jitter = 0 }")));

        // The breaker travels from the sink through the pipeline to the source, which stops pulling.
        await AwaitAssertAsync(async () => Assert.True((await ConnectorStatus("f.src")).CircuitBreakerOpen));
        Assert.Equal(ConnectorState.Connecting, (await ConnectorStatus("f.snk")).State);
        var pulls = Interlocked.Read(ref source.Pulls);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.InRange(Interlocked.Read(ref source.Pulls) - pulls, 0, 1); // at most the pull already under way
        Assert.True(Volatile.Read(ref sink.ConnectAttempts) > 1, "reconnect attempts were made while the peer was down");

        sink.PeerUp = true;
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        // Every event exactly once: the batch in flight when the peer went away was kept and delivered again.
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (long)i), sink.Received.Keys.Order());
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
        Assert.Empty(source.Failed);
        Assert.True(sink.Lost >= 1);
    }

    [Fact]
    public async Task Without_reconnect_a_lost_peer_fails_the_connector_and_the_source_hears_of_every_event()
    {
        var source = new TestSourceFactory { Total = 500, Transactional = true };
        var sink = new PeerSinkFactory { PeerUp = false };
        sink.UpForConnects = 1; // the first connect succeeds, then the peer is gone
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", Flow("")));
        // The breaker closes again once the sink failed for good, so the flow runs to its end instead of hanging;
        // the run ends 1: the connector failed and nothing was delivered. The transactional source heard of every
        // event, so none is counted lost: each was failed back.
        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("f::snk 500 failed back to their source", Services.Ledger.Summary?.Line);
        Assert.Empty(sink.Received);
        AwaitAssert(() => Assert.Equal(500, source.Failed.Distinct().Count()));
        var status = await ConnectorStatus("f.snk");
        Assert.Equal(ConnectorState.Failed, status.State);
        Assert.Contains("peer went away", status.LastError);
    }
}

/// <summary>A sink talking to a peer that can go away: it reports the loss through the host, as a network client does.</summary>
public sealed class PeerSinkFactory : IConnectorFactory
{
    public string Type => "peer-sink";
    public string Description => "test sink with a peer";
    public ConnectorKinds Kinds => ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    public volatile bool PeerUp = true;
    /// <summary>The peer goes away by itself once this many events arrived.</summary>
    public int GoneAfter = int.MaxValue;
    public int UpForConnects;
    public int ConnectAttempts;
    public int Lost;
    public readonly ConcurrentDictionary<long, int> Received = new();

    public IConnector Create(ConnectorContext context) => new Sink(this, context.Host);

    private sealed class Sink(PeerSinkFactory f, IPluginHost host) : ConnectorBase, ISink
    {
        public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref f.ConnectAttempts);
            return ValueTask.FromResult(f.PeerUp || n <= f.UpForConnects);
        }

        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            if (f.Received.Count >= f.GoneAfter && f.Lost == 0) f.PeerUp = false;
            if (!f.PeerUp)
            {
                Interlocked.Increment(ref f.Lost);
                host.ConnectionLost("peer went away");
                return ValueTask.FromResult(SinkReply.Failed("peer went away"));
            }
            foreach (var e in batch.Events)
            {
                e.Event.Data["n"].TryGetI64(out var n);
                f.Received.AddOrUpdate(n, 1, (_, c) => c + 1);
            }
            return ValueTask.FromResult(SinkReply.Acked);
        }

        public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
