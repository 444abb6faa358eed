using System.Buffers;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>Drives a connector the way the runtime does: batches to its sink, pulls from its source, acks back.</summary>
internal static class Harness
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static ulong _sequence;

    public static Event NewEvent(Value data, Value meta = default) =>
        new() { Id = new EventId(9, 0, Interlocked.Increment(ref _sequence), _sequence), IngestNs = 42, Data = data, Meta = meta, Transactional = true };

    private static readonly MsgpackCodec Codec = new();

    /// <summary>A sink batch as the runtime makes it for the wal: each event with the payload its codec (msgpack) made.</summary>
    public static SinkBatch Batch(params Event[] events)
    {
        var bytes = new ArrayBufferWriter<byte>();
        var ends = new int[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            Codec.Encode(events[i].Data, bytes);
            ends[i] = bytes.WrittenCount;
        }
        var all = bytes.WrittenMemory;
        return new([.. events.Select((e, i) => new SinkEvent(e.Id, e.IngestNs, all[(i == 0 ? 0 : ends[i - 1])..ends[i]], e))], all);
    }

    /// <summary>The value of a pulled chunk, decoded as the runtime does (the connector's codec, msgpack) unless it came structured.</summary>
    public static Value Data(SourceChunk chunk)
    {
        if (chunk.IsStructured) return chunk.Structured;
        Assert.True(Codec.TryDecode(chunk.Data, out var value, out var error), error);
        return value;
    }

    public static async Task<IConnector> ConnectAsync(IConnectorFactory factory, TestHost host, params (string, Value)[] config)
    {
        var connector = factory.Create(Fixtures.Context(host, config));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None), string.Join("\n", host.Logs));
        return connector;
    }

    /// <summary>Pulls until <paramref name="count"/> chunks came (or fails after the timeout).</summary>
    public static async Task<List<SourceChunk>> PullAsync(ISource source, int count, SourceBatch? batch = null)
    {
        batch ??= new SourceBatch(256);
        var chunks = new List<SourceChunk>();
        using var deadline = new CancellationTokenSource(Timeout);
        while (chunks.Count < count)
        {
            batch.Clear();
            await source.PullAsync(batch, deadline.Token);
            Assert.False(deadline.IsCancellationRequested, $"pulled {chunks.Count} of {count} within {Timeout}");
            for (var i = 0; i < batch.Count; i++) chunks.Add(batch[i]);
        }
        return chunks;
    }

    /// <summary>Pulls once with a short deadline: what a source emits when it has nothing should be nothing.</summary>
    public static async Task<int> PullNothingAsync(ISource source)
    {
        var batch = new SourceBatch(256);
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await source.PullAsync(batch, soon.Token);
        return batch.Count;
    }

    public static async Task AwaitAsync(Func<bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(10, CancellationToken.None); // polling an outcome, not ordering the test
        }
    }
}
