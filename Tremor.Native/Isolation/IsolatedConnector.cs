using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native.Abi;
using Tremor.Native.Connectors;
using Tremor.Pdk;

namespace Tremor.Native.Isolation;

/// <summary>
/// One native plugin instance running in its own <c>tremor-plugin-host</c> process (isolation = process), behind the
/// same <see cref="IConnector"/> surface as the in-process adapter. A sink batch is copied once into the shared region
/// (payloads back to back, slices as offsets); a pull comes back through the region and is copied into a buffer this
/// adapter owns. A crash, abort, hang (watchdog) or exhausted memory-limit of the plugin fails the call in flight with a
/// <see cref="NativePluginException"/> naming how the process died; the runtime then creates a new instance.
/// </summary>
internal sealed unsafe class IsolatedConnector : IConnector, ISource, ISink
{
    private const ulong PullMaxWaitNs = 10_000_000; // as in-process: a pull comes back promptly for cancellation

    private readonly IsolatedConnectorFactory _factory;
    private readonly PluginHostProcess _child;
    private readonly IPluginHost _host;
    private readonly string _label;
    private readonly ConcurrentDictionary<ulong, EventId>? _pending;
    private ulong _batchId;
    private ulong _nextAckId = 1;
    private byte[] _sourceBuffer = [];
    private bool _destroyed;

    public IsolatedConnector(IsolatedConnectorFactory factory, ConnectorContext context)
    {
        _factory = factory;
        _host = context.Host;
        _label = $"{factory.Type} ({context.Host.Alias})";
        _pending = (factory.Flags & AbiConstants.FlagAsyncSink) != 0 ? new ConcurrentDictionary<ulong, EventId>() : null;
        // A config the schema refuses starts no process.
        var config = factory.ConfigSchema.Encode(context.Config);
        _child = PluginHostProcess.Start(factory.HostPath, factory.PluginPath, factory.Options, _label, context.Host, _pending);
        try
        {
            Create(context, config);
        }
        catch
        {
            _child.Dispose();
            throw;
        }
    }

    public ISource? Source => _factory.Kinds.HasFlag(ConnectorKinds.Source) ? this : null;

    public ISink? Sink => _factory.Kinds.HasFlag(ConnectorKinds.Sink) ? this : null;

    public bool IsTransactional => false;

    /// <summary>The plugin host's process id (tests kill it from outside).</summary>
    internal int ProcessId => _child.ProcessId;

    /// <summary>The CPU the plugin host is kept on (<c>host-cpu = follow</c>), or -1 (tests read it).</summary>
    internal int HostCpu => _child.HostCpu;

    private void Create(ConnectorContext context, byte[] config)
    {
        var alias = Encoding.UTF8.GetBytes(context.Host.Alias ?? "");
        var payload = new byte[4 + config.Length + alias.Length];
        BitConverter.TryWriteBytes(payload, (uint)config.Length);
        config.CopyTo(payload, 4);
        alias.CopyTo(payload, 4 + config.Length);
        var reply = _child.Call("create", HostOp.Create, (uint)_factory.Kinds, payload);
        if (reply.Status == Status.ErrorConfig)
        {
            throw new ConfigException(context.Config.Path, $"{_factory.Type}: {Message(reply.Status)}");
        }
        if (reply.Status < 0) throw Error("create", reply.Status);
    }

    public ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        ThrowIfDestroyed();
        var reply = _child.Call("connect", HostOp.Connect, (uint)Math.Max(attempt, 1));
        if (reply.Status < 0) throw Error("connect", reply.Status);
        if (reply.Status == Status.Failed)
        {
            _host.Log(PluginLogLevel.Warning, $"{_label}: connect attempt {attempt} failed: {Message(reply.Status)}");
            return ValueTask.FromResult(false);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask OnPauseAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecyclePause, "pause");

    public ValueTask OnResumeAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleResume, "resume");

    public ValueTask OnDrainAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleDrain, "drain");

    public ValueTask OnStopAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleStop, "stop");

    public ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        var end = Lifecycle(AbiConstants.LifecycleEnd, "end");
        // An asynchronous plugin acks from its own threads; those frames are read during calls, and after the end
        // there is no next call to carry them: read them here (bounded by call-timeout), so the sink's drain, which
        // waits for every settlement, can finish.
        if (!_destroyed) _child.AwaitSettlements();
        return end;
    }

    private ValueTask Lifecycle(uint lifecycleEvent, string name)
    {
        if (_destroyed) return ValueTask.CompletedTask;
        // Stopping an instance whose process already died has nothing left to do (the call that killed it failed).
        if (lifecycleEvent == AbiConstants.LifecycleStop && _child.Death is not null) return ValueTask.CompletedTask;
        var reply = _child.Call(name, HostOp.Lifecycle, lifecycleEvent);
        if (reply.Status < 0) throw Error(name, reply.Status);
        return ValueTask.CompletedTask;
    }

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        ThrowIfDestroyed();
        var room = batch.Capacity - batch.Count;
        if (room <= 0) return ValueTask.FromResult(PullStatus.Data);
        var reply = _child.Call("pull", HostOp.Pull, (uint)room, a: PullMaxWaitNs);
        if (reply.Status < 0) throw Error("pull", reply.Status);
        if (reply.Count > (uint)room) throw _child.ProtocolViolation("pull", $"answered {reply.Count} slices, the capacity was {room}");
        var count = (int)reply.Count;
        if (count > 0) CopyInto(batch, count);
        return ValueTask.FromResult(reply.Status switch
        {
            Status.Finished => PullStatus.Finished,
            _ when count > 0 => PullStatus.Data,
            _ => PullStatus.Empty,
        });
    }

    /// <summary>
    /// Copies a pull out of the region. Every offset, length and count comes from the child: each is checked against
    /// the region before use, with comparisons that cannot wrap (<c>len &lt;= size &amp;&amp; offset &lt;= size - len</c>).
    /// </summary>
    private void CopyInto(SourceBatch batch, int count)
    {
        var region = _child.Region;
        var size = (ulong)region.Size;
        if ((ulong)count * (ulong)sizeof(RegionSlice) > size)
        {
            throw _child.ProtocolViolation("pull", $"answered {count} slices, their table does not fit the shared region of {size} bytes");
        }
        var slices = new ReadOnlySpan<RegionSlice>(region.Pointer, count);
        ulong total = 0;
        for (var i = 0; i < count; i++)
        {
            ref readonly var slice = ref slices[i];
            if ((slice.Flags & AbiConstants.SliceStreamEnd) != 0) continue;
            if (slice.Len > size || slice.Offset > size - slice.Len || slice.MetaLen > size || slice.MetaOffset > size - slice.MetaLen)
            {
                throw _child.ProtocolViolation("pull", $"slice {i} (offset {slice.Offset}, length {slice.Len}, meta {slice.MetaOffset}+{slice.MetaLen}) lies outside the shared region of {size} bytes");
            }
            total += slice.Len; // at most count * size: no wrap for any region below 2^32 slices * 2^31 bytes
        }
        if (total > (ulong)Array.MaxLength) throw _child.ProtocolViolation("pull", $"answered {total} bytes in one pull, more than one buffer holds");
        // The previous pull's bytes may be overwritten now: the runtime decoded them before pulling again.
        if ((ulong)_sourceBuffer.Length < total) _sourceBuffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(Math.Max((long)total, _sourceBuffer.Length * 2L), Array.MaxLength));
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            ref readonly var slice = ref slices[i];
            if ((slice.Flags & AbiConstants.SliceStreamEnd) != 0)
            {
                batch.EndStream(slice.StreamId);
                continue;
            }
            var len = (int)slice.Len;
            new ReadOnlySpan<byte>(region.Pointer + slice.Offset, len).CopyTo(_sourceBuffer.AsSpan(offset, len));
            var meta = slice.MetaLen > 0 ? Value.From(new ReadOnlySpan<byte>(region.Pointer + slice.MetaOffset, (int)slice.MetaLen).ToArray()) : default;
            batch.Add(new ReadOnlyMemory<byte>(_sourceBuffer, offset, len), slice.StreamId, slice.IngestNs, meta);
            offset += len;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        // Native sources are not transactional in ABI 1.x.
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        // Native sources are not transactional in ABI 1.x.
    }

    public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken) =>
        ValueTask.FromResult(SendBatch(batch));

    /// <summary>
    /// One request per batch. The region holds the slices (offsets, not pointers; the host turns them into pointers)
    /// followed by the batch's bytes, copied once; a payload that is not inside <see cref="SinkBatch.Bytes"/> is
    /// appended after them.
    /// </summary>
    [SkipLocalsInit]
    internal SinkReply SendBatch(SinkBatch batch)
    {
        ThrowIfDestroyed();
        var count = batch.Count;
        var bytes = batch.Bytes;
        var region = _child.Region;
        var bytesOffset = (long)count * sizeof(TremorSinkSlice);
        var end = bytesOffset + bytes.Length;
        if (!region.EnsureCapacity(end)) throw RegionTooSmall(end);
        bytes.Span.CopyTo(new Span<byte>(region.Pointer + bytesOffset, bytes.Length));

        var events = batch.Events;
        ReadOnlySpan<SinkEvent> span = events switch
        {
            SinkEvent[] array => array,
            List<SinkEvent> list => CollectionsMarshal.AsSpan(list),
            _ => default,
        };
        var running = 0;
        // The ids the plugin acks with: unique in this instance (an event's sequence is unique only per source).
        var firstAckId = _nextAckId;
        _nextAckId += (ulong)count;
        for (var i = 0; i < count; i++)
        {
            var ev = span.Length == count ? span[i] : events[i];
            var len = ev.Payload.Length;
            long offset;
            if ((uint)(running + len) <= (uint)bytes.Length && ev.Payload.Equals(bytes.Slice(running, len)))
            {
                offset = bytesOffset + running;
                running += len;
            }
            else
            {
                offset = Locate(bytes, ev.Payload, bytesOffset, ref end);
            }
            // EnsureCapacity may have remapped: index through the current pointer.
            ref var slice = ref ((TremorSinkSlice*)region.Pointer)[i];
            slice.Data = (byte*)offset;
            slice.Len = (nuint)len;
            slice.EventId = firstAckId + (ulong)i;
            slice.IngestNs = ev.IngestNs;
            if (_pending is not null) _pending[firstAckId + (ulong)i] = ev.Id;
        }

        var reply = _child.Call("sink_batch", HostOp.Sink, (uint)count, a: (ulong)bytesOffset, b: (ulong)(end - bytesOffset), c: ++_batchId);
        var status = reply.Status;
        if (status == Status.Pending)
        {
            if (_pending is null)
            {
                throw new NativePluginException($"{_label}: sink_batch: answered TREMOR_PENDING but the plugin does not declare TREMOR_FLAG_ASYNC_SINK", Status.Error);
            }
            return SinkReply.Pending;
        }
        if (_pending is not null)
        {
            for (var i = 0UL; i < (ulong)count; i++) _pending.TryRemove(firstAckId + i, out _);
        }
        if (status < 0) throw Error("sink_batch", status);
        if (Status.RefusedSinkAnswer(status, _factory.AbiMinor) is { } refused) throw new NativePluginException($"{_label}: sink_batch: {refused}", Status.Error);
        return status switch
        {
            Status.Failed => SinkReply.Failed(Message(status)),
            // Nothing taken: the runtime keeps the batch and offers it again on host->sink_has_room (a frame read with
            // the next call) or a backoff.
            Status.Full => SinkReply.Full(Message(status)),
            _ => SinkReply.Acked,
        };
    }

    /// <summary>Where a payload is in the region: inside the copied batch bytes, or appended after them (not the hot path).</summary>
    private long Locate(ReadOnlyMemory<byte> bytes, ReadOnlyMemory<byte> payload, long bytesOffset, ref long end)
    {
        if (payload.Length == 0) return bytesOffset;
        if (!bytes.IsEmpty)
        {
            var offset = (long)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(bytes.Span), ref MemoryMarshal.GetReference(payload.Span));
            if (offset >= 0 && offset + payload.Length <= bytes.Length) return bytesOffset + offset;
        }
        var region = _child.Region;
        var at = end;
        end += payload.Length;
        if (!region.EnsureCapacity(end)) throw RegionTooSmall(end);
        payload.Span.CopyTo(new Span<byte>(region.Pointer + at, payload.Length));
        return at;
    }

    public ValueTask DisposeAsync()
    {
        if (_destroyed) return ValueTask.CompletedTask;
        _destroyed = true;
        try
        {
            if (_child.Death is null)
            {
                var reply = _child.Call("destroy", HostOp.Destroy, 0);
                _ = reply;
            }
        }
        catch (NativePluginException e)
        {
            // The process died or hung in destroy: the instance is gone either way.
            _host.Log(PluginLogLevel.Warning, e.Message);
        }
        finally
        {
            _child.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private NativePluginException RegionTooSmall(long needed) =>
        new($"{_label}: sink_batch: the batch needs {needed} bytes of shared region, more than max-region-size {_child.Region.MaxSize} (raise max-region-size or lower the batch size)", Status.Error);

    private string Message(int status)
    {
        var payload = _child.ReplyPayload;
        return payload.IsEmpty ? $"{Status.Name(status)} without a message" : Encoding.UTF8.GetString(payload);
    }

    private NativePluginException Error(string call, int status) =>
        new($"{_label}: {call}: {Message(status)}" + (status == Status.ErrorPanic ? " (panic caught at the boundary)" : ""), status);

    private void ThrowIfDestroyed()
    {
        if (_destroyed) throw new ObjectDisposedException(_label, $"{_label}: the native instance was destroyed");
    }
}
