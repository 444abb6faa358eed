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
/// The read buffers of one connector instance, all of one size, kept for reuse. A socket reader fills one, the queue
/// lends it to a pull, and the next pull gives it back here: with the shared <see cref="ArrayPool{T}"/> the buffers
/// were rented on the readers' threads and returned on the plugin's, more than its per-thread caches hold, so a
/// steady stream of reads allocated a new buffer per read and the GC promoted the ones waiting in the queue.
/// </summary>
internal sealed class ReadBuffers(int size, int keep)
{
    private readonly Stack<byte[]> _free = new();
    private readonly Lock _lock = new();

    /// <summary>The size of every buffer.</summary>
    public int Size => size;

    public byte[] Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var buffer)) return buffer;
        }
        return GC.AllocateUninitializedArray<byte>(size);
    }

    /// <summary>Keeps the buffer for reuse, unless as many are kept as can be in use at once (then the GC takes it).</summary>
    public void Return(byte[] buffer)
    {
        if (buffer.Length != size) return;
        lock (_lock)
        {
            if (_free.Count < keep) _free.Push(buffer);
        }
    }
}

/// <summary>
/// The bounded queue between the socket readers (one task per connection) and the runtime's pulls. When the runtime
/// does not pull, the queue fills, the readers wait on it and stop reading their sockets, and the kernel's receive
/// window pushes back on the peers: memory stays bounded by capacity times the read buffer size.
/// Buffers handed to a pull stay untouched until the next pull and then go back to where they came from (the
/// instance's <see cref="ReadBuffers"/>, else the shared array pool).
/// </summary>
internal sealed class InboundQueue
{
    /// <summary>
    /// What one pull takes at most, in bytes (it takes at least one chunk). A pull is decoded at once and its events
    /// are alive together until they leave: a pull of a full queue of 8 KiB reads (1 MiB, ~1,600 JSON lines) cost
    /// more CPU per event in the garbage collector than 64 KiB pulls, and one of 64 KiB reads (8 MiB) twice as much
    /// CPU per event in all (BENCHMARKS.md, bench/net). 64 KiB is about one batch of events of a few hundred bytes.
    /// </summary>
    public const int PullBytes = 64 * 1024;

    /// <summary>What the queue holds at most, in bytes (its capacity in chunks is this over the read buffer size).</summary>
    public const int QueueBytes = 2 * 1024 * 1024;

    /// <summary>Chunks a queue holds at most, however small the reads (a datagram each, or a tiny buffer-size).</summary>
    public const int MaxCapacity = 256;

    private readonly Channel<Inbound> _channel;
    private readonly List<byte[]> _lent = [];
    private readonly ReadBuffers? _buffers;
    // A read larger than what one pull takes, taken out of the channel and handed on a slice per pull: its buffer is
    // kept until its last byte was pulled (and the pull after that returns it).
    private Inbound _head;
    private int _headOffset;

    /// <summary>A queue of <paramref name="capacity"/> chunks; with <paramref name="buffers"/>, the buffers its chunks came in go back there.</summary>
    public InboundQueue(int capacity, ReadBuffers? buffers = null)
    {
        Capacity = capacity;
        _buffers = buffers;
        _channel = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>A queue of <see cref="QueueBytes"/> in buffers of <paramref name="bufferSize"/> bytes, read into from its own <see cref="ReadBuffers"/>.</summary>
    public static InboundQueue ForReads(int bufferSize)
    {
        var capacity = Math.Clamp(QueueBytes / bufferSize, 16, MaxCapacity);
        // Kept for reuse: a full queue, what one pull of full reads lends, and some for the readers (more only when
        // many tiny reads are in flight; those buffers the GC takes).
        return new InboundQueue(capacity, new ReadBuffers(bufferSize, capacity + PullBytes / bufferSize + 16));
    }

    /// <summary>How many chunks the queue holds at most.</summary>
    public int Capacity { get; }

    /// <summary>Items waiting for a pull (a read of which a pull took only a part included).</summary>
    public int Count => _channel.Reader.Count + (_head.Buffer is null ? 0 : 1);

    /// <summary>A buffer to read into, of the instance's read buffer size (only for a queue made by <see cref="ForReads"/>).</summary>
    public byte[] Rent() => (_buffers ?? throw new InvalidOperationException("this queue has no read buffers")).Rent();

    /// <summary>Gives back a buffer that was not queued (the read failed or ended).</summary>
    public void Return(byte[] buffer)
    {
        if (_buffers is not null) _buffers.Return(buffer);
        else ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Waits for room, then queues (a reader awaits this before it reads its socket again).</summary>
    public ValueTask WriteAsync(Inbound item, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(item, cancellationToken);

    /// <summary>No more items will come (drained or stopping): once the queue is empty, pulls answer Finished.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Fills the batch from the queue, up to <see cref="PullBytes"/>, waiting for the first item as long as it takes:
    /// the runtime cancels a waiting pull when the instance has something else to do (a sink batch, a hook), so an
    /// idle source costs nothing (no wake-ups on a timer). Reads of several connections go into one pull; a read
    /// larger than what is left of <see cref="PullBytes"/> is cut, and its rest goes into the next pulls: a reader
    /// may read more per system call (and per wake-up) than one pull decodes at once.
    /// </summary>
    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        ReturnLent();
        var reader = _channel.Reader;
        if (_head.Buffer is null && await PullWait.ForInputAsync(reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        var bytes = 0;
        while (!batch.IsFull && bytes < PullBytes)
        {
            Inbound item;
            var offset = 0;
            if (_head.Buffer is not null)
            {
                item = _head;
                offset = _headOffset;
            }
            else if (!reader.TryRead(out item))
            {
                break;
            }
            if (item.IsEnd)
            {
                batch.EndStream(item.StreamId);
                continue;
            }
            var take = Math.Min(item.Length - offset, PullBytes - bytes);
            batch.Add(item.Buffer.AsMemory(offset, take), item.StreamId, item.IngestNs, item.Meta);
            bytes += take;
            if (offset + take < item.Length)
            {
                _head = item;
                _headOffset = offset + take;
            }
            else
            {
                _head = default;
                _lent.Add(item.Buffer!);
            }
        }
        // Completed and emptied: this batch is the last.
        if (_head.Buffer is null && reader.Completion.IsCompleted) return PullStatus.Finished;
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    /// <summary>Returns the buffers of the previous pull, and everything still queued, to the pool.</summary>
    public void Release()
    {
        ReturnLent();
        if (_head.Buffer is { } head) Return(head);
        _head = default;
        while (_channel.Reader.TryRead(out var item))
        {
            if (item.Buffer is not null) Return(item.Buffer);
        }
    }

    private void ReturnLent()
    {
        foreach (var buffer in _lent) Return(buffer);
        _lent.Clear();
    }
}
