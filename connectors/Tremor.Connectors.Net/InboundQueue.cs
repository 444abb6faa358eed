using System.Buffers;
using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>What a socket reader hands the source side: bytes of one stream (a pooled buffer), or the stream's end.</summary>
internal readonly record struct Inbound(ulong StreamId, byte[]? Buffer, int Length, Value Meta, ulong IngestNs)
{
    public bool IsEnd => Buffer is null;

    public static Inbound End(ulong streamId) => new(streamId, null, 0, default, 0);
}

/// <summary>
/// The bounded queue between the socket readers (one task per connection) and the runtime's pulls. When the runtime
/// does not pull, the queue fills, the readers wait on it and stop reading their sockets, and the kernel's receive
/// window pushes back on the peers: memory stays bounded by capacity times the read buffer size.
/// Buffers handed to a pull stay untouched until the next pull and then go back to the pool.
/// </summary>
internal sealed class InboundQueue
{
    private readonly Channel<Inbound> _channel;
    private readonly List<byte[]> _lent = [];

    public InboundQueue(int capacity)
    {
        _channel = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Items waiting for a pull.</summary>
    public int Count => _channel.Reader.Count;

    /// <summary>Waits for room, then queues (a reader awaits this before it reads its socket again).</summary>
    public ValueTask WriteAsync(Inbound item, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(item, cancellationToken);

    /// <summary>No more items will come (drained or stopping): once the queue is empty, pulls answer Finished.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Fills the batch from the queue, waiting for the first item as long as it takes: the runtime cancels a waiting
    /// pull when the instance has something else to do (a sink batch, a hook), so an idle source costs nothing
    /// (no wake-ups on a timer).
    /// </summary>
    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        ReturnLent();
        var reader = _channel.Reader;
        if (await PullWait.ForInputAsync(reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        while (!batch.IsFull && reader.TryRead(out var item))
        {
            if (item.IsEnd)
            {
                batch.EndStream(item.StreamId);
                continue;
            }
            _lent.Add(item.Buffer!);
            batch.Add(item.Buffer.AsMemory(0, item.Length), item.StreamId, item.IngestNs, item.Meta);
        }
        // Completed and emptied: this batch is the last.
        if (reader.Completion.IsCompleted) return PullStatus.Finished;
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    /// <summary>Returns the buffers of the previous pull, and everything still queued, to the pool.</summary>
    public void Release()
    {
        ReturnLent();
        while (_channel.Reader.TryRead(out var item))
        {
            if (item.Buffer is not null) ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }

    private void ReturnLent()
    {
        foreach (var buffer in _lent) ArrayPool<byte>.Shared.Return(buffer);
        _lent.Clear();
    }
}
