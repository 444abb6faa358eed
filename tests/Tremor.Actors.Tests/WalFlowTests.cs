using System.Collections.Concurrent;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// The wal plugin as built (loaded from the build's plugin folder, in its own load context) in flows: what happens
/// upstream when it is at its size bound or cannot write.
/// </summary>
public sealed class WalFlowTests : TremorTestKit
{
    private const int Pad = 8000;

    /// <summary>
    /// Loads the wal plugin through a discovery that is gone once this returns, then collects: the catalog alone must
    /// keep the plugin's load context alive, or FASTER (loaded on the connector's first use) fails to load.
    /// </summary>
    private void LoadWalPlugin()
    {
        LoadWalPluginThroughATemporaryDiscovery();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void LoadWalPluginThroughATemporaryDiscovery()
    {
        var path = Path.Combine(PluginDiscovery.SearchDirectories([])[^1], "Tremor.Connectors.Wal", "Tremor.Connectors.Wal.dll");
        Assert.True(File.Exists(path), $"{path} is not built: dotnet build connectors/Tremor.Connectors.Wal");
        var record = new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false)).LoadOne(path);
        Assert.True(record.Status == PluginStatus.Loaded, record.Reason);
    }

    private static TestSourceFactory PaddedSource(int total) =>
        new() { Total = total, Transactional = true, Payload = n => $$"""{"n":{{n}},"pad":"{{new string('x', Pad)}}"}""" };

    [Fact]
    public async Task At_max_bytes_the_wal_holds_the_source_back_fails_nothing_and_takes_again_once_downstream_acks()
    {
        LoadWalPlugin();
        const int total = 300; // about 2.4 MB: the 1 MiB wal fills more than twice
        var source = PaddedSource(total);
        var sink = new LateAckSinkFactory();
        Register(source);
        Register(sink);
        Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              buffer { type = wal, config { max-bytes = "1MiB", fsync = every-batch } }
              snk { type = late-ack-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> buffer", "buffer -> snk"]
            """));

        // Downstream holds its acks: nothing is truncated, the wal fills, answers full, and the breaker travels
        // through the pipeline to the source.
        await AwaitAssertAsync(async () => Assert.True((await ConnectorStatus("f.src")).CircuitBreakerOpen), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        Assert.Contains("the wal is full", (await ConnectorStatus("f.buffer")).LastError);
        Assert.Empty(source.Failed);
        // The wal's own source kept emitting what it holds; all of it is still in the wal (none acknowledged), so
        // what the sink holds is what the wal holds: never more than max-bytes.
        Assert.InRange(sink.Held * Pad, 1, 1 << 20);
        Assert.True(sink.Received.Count < total, "the source was held back before it emitted everything");

        sink.Release();
        AwaitCondition(() => sink.Received.Count == total && source.Acked.Count == total, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        Assert.All(sink.Received.Values, c => Assert.Equal(1, c));
        Assert.Equal(Enumerable.Range(0, total).Select(n => (long)n), sink.Received.Keys.Order());
        Assert.Empty(source.Failed);
        await AwaitAssertAsync(async () => Assert.False((await ConnectorStatus("f.src")).CircuitBreakerOpen), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public void Events_through_the_wal_equal_what_went_in_in_order_handed_over_in_memory()
    {
        LoadWalPlugin();
        const int total = 200;
        var source = new TestSourceFactory
        {
            Total = total,
            Transactional = true,
            Payload = n => $$"""{"n":{{n}},"nested":{"list":[1,2.5,"x",null,{"deep":true}]},"text":"{{new string('y', (int)(n % 97))}}"}""",
        };
        var direct = new TestSinkFactory("direct-sink") { KeepEvents = true };
        var after = new TestSinkFactory("after-wal-sink") { KeepEvents = true };
        Register(source);
        Register(direct);
        Register(after);
        Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              buffer { type = wal }
              direct { type = direct-sink }
              after { type = after-wal-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> buffer", "main -> direct", "buffer -> after"]
            """));

        AwaitCondition(() => after.Events.Count == total && source.Acked.Count == total, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        var expected = direct.Events.ToArray();
        var through = after.Events.ToArray();
        Assert.Equal(Enumerable.Range(0, total).Select(n => (long)n), through.Select(e => e.Data["n"].RawI64));
        for (var i = 0; i < total; i++)
        {
            Assert.Equal(expected[i].Data, through[i].Data);
            Assert.Equal(expected[i].Meta, through[i].Meta);
            // The wal's codec is msgpack (its default) without processors: its source side emitted the very values
            // its sink side was given, not a decode of the log's bytes.
            Assert.Same(expected[i].Data.AsRecord(), through[i].Data.AsRecord());
        }
        Assert.Empty(source.Failed);
    }
}

/// <summary>A sink that acknowledges nothing until told to (a downstream that acks late): events are received, acks held.</summary>
public sealed class LateAckSinkFactory : IConnectorFactory
{
    private readonly Lock _lock = new();
    private readonly List<EventId> _held = [];
    private IPluginHost? _host;
    private bool _ackAtOnce;

    public string Type => "late-ack-sink";
    public string Description => "test sink that holds its acks";
    public ConnectorKinds Kinds => ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    public readonly ConcurrentDictionary<long, int> Received = new();

    /// <summary>Events received and not acknowledged yet.</summary>
    public int Held
    {
        get { lock (_lock) return _held.Count; }
    }

    /// <summary>Acknowledges what it holds, and from now on everything at once.</summary>
    public void Release()
    {
        List<EventId> held;
        lock (_lock)
        {
            _ackAtOnce = true;
            held = [.. _held];
            _held.Clear();
        }
        _host?.Ack(held);
    }

    public IConnector Create(ConnectorContext context)
    {
        _host = context.Host;
        return new Sink(this);
    }

    private sealed class Sink(LateAckSinkFactory f) : ConnectorBase, ISink
    {
        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            foreach (var e in batch.Events)
            {
                e.Event.Data["n"].TryGetI64(out var n);
                f.Received.AddOrUpdate(n, 1, (_, c) => c + 1);
            }
            lock (f._lock)
            {
                if (f._ackAtOnce) return ValueTask.FromResult(SinkReply.Acked);
                f._held.AddRange(batch.Events.Select(e => e.Id));
            }
            return ValueTask.FromResult(SinkReply.Pending);
        }

        public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
