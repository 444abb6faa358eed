using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>
/// One native plugin instance behind <see cref="IConnector"/>. Every call is a synchronous native call (the runtime
/// runs connectors on a dedicated dispatcher). Data crosses as bytes: a sink batch is pinned once and lent as slices
/// pointing into it; a source's slices are copied into a buffer this adapter owns and reuses, then released.
/// </summary>
internal sealed unsafe class NativeConnector : IConnector, ISource, ISink
{
    private const int ErrorCapacity = 4096;
    private const ulong PullMaxWaitNs = 10_000_000; // 10 ms: a pull must come back promptly for cancellation

    private readonly NativePlugin _plugin;
    private readonly TremorPluginVtable _vtable;
    private readonly HostContext _context;
    private readonly IPluginHost _host;
    private readonly string _label;
    private readonly CrashBreadcrumb.Lines _crashLines;
    private nint _contextId;
    private TremorHostApi* _hostApi;
    private byte* _errorBuffer;
    private void* _instance;
    private bool _destroyed;

    private TremorSinkSlice* _sinkSlices;
    private int _sinkSliceCapacity;
    private ulong _batchId;
    private ulong _nextAckId = 1;

    private TremorSourceSlice* _sourceSlices;
    private int _sourceSliceCapacity;
    private byte[] _sourceBuffer = [];

    public NativeConnector(NativePlugin plugin, ConnectorContext context)
    {
        _plugin = plugin;
        _host = context.Host;
        _label = $"{plugin.Descriptor.Name} ({context.Host.Alias})";
        _context = new HostContext(context.Host, _label, (plugin.Descriptor.Flags & AbiConstants.FlagAsyncSink) != 0);
        _crashLines = new CrashBreadcrumb.Lines(plugin.Descriptor.Name, plugin.Path);

        // A config the schema refuses creates nothing.
        var config = plugin.ConfigSchema.Encode(context.Config);
        // The first in-process instance loads the library (lazily: listing or isolating a plugin never loads it here).
        _vtable = plugin.InstanceCreating();
        try
        {
            _contextId = HostCallbacks.Register(_context);
            _hostApi = HostCallbacks.AllocateTable(_contextId);
            _errorBuffer = (byte*)NativeMemory.Alloc(ErrorCapacity);
            Create(context, config);
        }
        catch
        {
            FreeResources();
            plugin.InstanceDestroyed();
            throw;
        }
    }

    public ISource? Source => _plugin.Descriptor.Kinds.HasFlag(ConnectorKinds.Source) ? this : null;

    public ISink? Sink => _plugin.Descriptor.Kinds.HasFlag(ConnectorKinds.Sink) ? this : null;

    public bool IsTransactional => false;

    private void Create(ConnectorContext context, byte[] config)
    {
        var alias = Encoding.UTF8.GetBytes(context.Host.Alias ?? "");
        var err = NewErr();
        void* instance = null;
        int status;
        fixed (byte* configPtr = config)
        fixed (byte* aliasPtr = alias)
        {
            var args = new TremorCreateArgs
            {
                Size = (uint)sizeof(TremorCreateArgs),
                Kinds = (uint)_plugin.Descriptor.Kinds,
                Host = _hostApi,
                ConfigJson = configPtr,
                ConfigLen = (nuint)config.Length,
                Alias = aliasPtr,
                AliasLen = (nuint)alias.Length,
            };
            var crumb = CrashBreadcrumb.Enter(_crashLines.Create);
            status = _vtable.Create(&args, &instance, &err);
            CrashBreadcrumb.Leave(crumb);
        }
        if (status == Status.ErrorConfig)
        {
            throw new ConfigException(context.Config.Path, $"{_plugin.Descriptor.Name}: {Message(err, status)}");
        }
        if (status < 0) throw Error("create", status, err);
        if (instance == null) throw new NativePluginException($"{_label}: create: returned {Status.Name(status)} but no instance", Status.Error);
        _instance = instance;
    }

    public ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        ThrowIfDestroyed();
        if (_vtable.Connect == null) return ValueTask.FromResult(true);
        var err = NewErr();
        var crumb = CrashBreadcrumb.Enter(_crashLines.Connect);
        var status = _vtable.Connect(_instance, (uint)Math.Max(attempt, 1), &err);
        CrashBreadcrumb.Leave(crumb);
        if (status < 0) throw Error("connect", status, err);
        if (status == Status.Failed)
        {
            _host.Log(PluginLogLevel.Warning, $"{_label}: connect attempt {attempt} failed: {Message(err, status)}");
            return ValueTask.FromResult(false);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask OnPauseAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecyclePause, "pause");

    public ValueTask OnResumeAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleResume, "resume");

    public ValueTask OnDrainAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleDrain, "drain");

    public ValueTask OnStopAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleStop, "stop");

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => Lifecycle(AbiConstants.LifecycleEnd, "end");

    private ValueTask Lifecycle(uint lifecycleEvent, string name)
    {
        // An ABI 1.0 plugin has no lifecycle entry: its vtable copy holds null there.
        if (_destroyed || _vtable.Lifecycle == null) return ValueTask.CompletedTask;
        var err = NewErr();
        var crumb = CrashBreadcrumb.Enter(_crashLines.Lifecycle);
        var status = _vtable.Lifecycle(_instance, lifecycleEvent, &err);
        CrashBreadcrumb.Leave(crumb);
        if (status < 0) throw Error(name, status, err);
        return ValueTask.CompletedTask;
    }

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        ThrowIfDestroyed();
        var room = batch.Capacity - batch.Count;
        if (room <= 0) return ValueTask.FromResult(PullStatus.Data);
        EnsureSourceSlices(room);

        var pull = new TremorPull
        {
            Size = (uint)sizeof(TremorPull),
            Capacity = (uint)room,
            Slices = _sourceSlices,
            MaxWaitNs = PullMaxWaitNs,
        };
        var err = NewErr();
        var crumb = CrashBreadcrumb.Enter(_crashLines.Pull);
        var status = _vtable.Pull(_instance, &pull, &err);
        CrashBreadcrumb.Leave(crumb);
        if (status < 0) throw Error("pull", status, err);
        if (pull.Count > (uint)room)
        {
            throw new NativePluginException($"{_label}: pull: filled {pull.Count} slices, the capacity was {room}", Status.Error);
        }

        var count = (int)pull.Count;
        if (count > 0)
        {
            CopyInto(batch, count);
            err = NewErr();
            crumb = CrashBreadcrumb.Enter(_crashLines.Release);
            var released = _vtable.Release(_instance, &err);
            CrashBreadcrumb.Leave(crumb);
            if (released < 0) throw Error("release", released, err);
        }
        return ValueTask.FromResult(status switch
        {
            Status.Finished => PullStatus.Finished,
            _ when count > 0 => PullStatus.Data,
            _ => PullStatus.Empty,
        });
    }

    private void CopyInto(SourceBatch batch, int count)
    {
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            if ((_sourceSlices[i].Flags & AbiConstants.SliceStreamEnd) == 0) total += (long)_sourceSlices[i].Len;
        }
        // The previous pull's bytes may be overwritten now: the runtime decoded them before pulling again.
        if (_sourceBuffer.Length < total) _sourceBuffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(total, _sourceBuffer.Length * 2L));

        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            ref readonly var slice = ref _sourceSlices[i];
            if ((slice.Flags & AbiConstants.SliceStreamEnd) != 0)
            {
                batch.EndStream(slice.StreamId);
                continue;
            }
            var len = (int)slice.Len;
            if (len > 0)
            {
                if (slice.Data == null) throw new NativePluginException($"{_label}: pull: slice {i} has length {len} and no data", Status.Error);
                new ReadOnlySpan<byte>(slice.Data, len).CopyTo(_sourceBuffer.AsSpan(offset, len));
            }
            var meta = slice.Meta != null && slice.MetaLen > 0 ? Value.From(new ReadOnlySpan<byte>(slice.Meta, (int)slice.MetaLen).ToArray()) : default;
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

    /// <summary>One native call per batch: the batch's bytes are pinned once and the slices point into them.</summary>
    [SkipLocalsInit]
    internal SinkReply SendBatch(SinkBatch batch)
    {
        ThrowIfDestroyed();
        var count = batch.Count;
        EnsureSinkSlices(count);
        var bytes = batch.Bytes;
        var pending = _context.Pending;
        // The ids the plugin acks with: unique in this instance (an event's sequence is unique only per source).
        var firstAckId = _nextAckId;
        _nextAckId += (ulong)count;
        MemoryHandle[]? extraPins = null;
        var extraPinCount = 0;
        int status;
        var err = NewErr();
        using (var pin = bytes.Pin())
        {
            var basePtr = (byte*)pin.Pointer;
            var slices = _sinkSlices;
            var events = batch.Events;
            ReadOnlySpan<SinkEvent> span = events switch
            {
                SinkEvent[] array => array,
                List<SinkEvent> list => CollectionsMarshal.AsSpan(list),
                _ => default,
            };
            if (span.Length == count)
            {
                // The runtime lays payloads back to back in Bytes: check each against the expected slice (three
                // compares, no type checks) and fall back to a general lookup when one is elsewhere.
                var running = 0;
                for (var i = 0; i < count; i++)
                {
                    ref readonly var ev = ref span[i];
                    var len = ev.Payload.Length;
                    byte* data;
                    if ((uint)(running + len) <= (uint)bytes.Length && ev.Payload.Equals(bytes.Slice(running, len)))
                    {
                        data = basePtr + running;
                        running += len;
                    }
                    else
                    {
                        data = Locate(bytes, basePtr, ev.Payload, ref extraPins, ref extraPinCount, count);
                    }
                    ref var slice = ref slices[i];
                    slice.Data = data;
                    slice.Len = (nuint)len;
                    slice.EventId = firstAckId + (ulong)i;
                    slice.IngestNs = ev.IngestNs;
                    if (pending is not null) pending[firstAckId + (ulong)i] = ev.Id;
                }
            }
            else
            {
                for (var i = 0; i < count; i++)
                {
                    var ev = events[i];
                    ref var slice = ref slices[i];
                    slice.Data = Locate(bytes, basePtr, ev.Payload, ref extraPins, ref extraPinCount, count);
                    slice.Len = (nuint)ev.Payload.Length;
                    slice.EventId = firstAckId + (ulong)i;
                    slice.IngestNs = ev.IngestNs;
                    if (pending is not null) pending[firstAckId + (ulong)i] = ev.Id;
                }
            }

            var native = new TremorSinkBatch
            {
                Size = (uint)sizeof(TremorSinkBatch),
                Count = (uint)count,
                Slices = slices,
                Bytes = basePtr,
                BytesLen = (nuint)bytes.Length,
                BatchId = ++_batchId,
            };
            try
            {
                var crumb = CrashBreadcrumb.Enter(_crashLines.SinkBatch);
                status = _vtable.SinkBatch(_instance, &native, &err);
                CrashBreadcrumb.Leave(crumb);
            }
            finally
            {
                for (var i = 0; i < extraPinCount; i++) extraPins![i].Dispose();
            }
        }

        if (status == Status.Pending)
        {
            if (pending is null)
            {
                throw new NativePluginException($"{_label}: sink_batch: answered TREMOR_PENDING but the plugin does not declare TREMOR_FLAG_ASYNC_SINK", Status.Error);
            }
            return SinkReply.Pending;
        }
        if (pending is not null) ForgetPending(firstAckId, count);
        if (status < 0) throw Error("sink_batch", status, err);
        if (Status.RefusedSinkAnswer(status, _plugin.Descriptor.AbiMinor) is { } refused) throw new NativePluginException($"{_label}: sink_batch: {refused}", Status.Error);
        return status switch
        {
            Status.Failed => SinkReply.Failed(Message(err, status)),
            // Nothing taken: the runtime keeps the batch and offers it again on host->sink_has_room or a backoff.
            Status.Full => SinkReply.Full(Message(err, status)),
            _ => SinkReply.Acked,
        };
    }

    /// <summary>Where a payload is: inside the pinned batch bytes, or pinned on its own (not the hot path).</summary>
    private static byte* Locate(ReadOnlyMemory<byte> bytes, byte* basePtr, ReadOnlyMemory<byte> payload, ref MemoryHandle[]? extraPins, ref int extraPinCount, int count)
    {
        if (payload.Length == 0) return basePtr;
        var offset = (long)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(bytes.Span), ref MemoryMarshal.GetReference(payload.Span));
        if (offset >= 0 && offset + payload.Length <= bytes.Length) return basePtr + offset;
        extraPins ??= new MemoryHandle[Math.Min(count, 16)];
        if (extraPinCount == extraPins.Length) Array.Resize(ref extraPins, extraPins.Length * 2);
        var handle = payload.Pin();
        extraPins[extraPinCount++] = handle;
        return (byte*)handle.Pointer;
    }

    private void ForgetPending(ulong firstAckId, int count)
    {
        for (var i = 0UL; i < (ulong)count; i++) _context.Pending!.TryRemove(firstAckId + i, out _);
    }

    public ValueTask DisposeAsync()
    {
        Destroy();
        return ValueTask.CompletedTask;
    }

    private void Destroy()
    {
        if (_destroyed) return;
        _destroyed = true;
        try
        {
            // destroy joins the plugin's threads (the contract); one that breaks it finds its context gone, not freed memory.
            if (_instance != null)
            {
                var crumb = CrashBreadcrumb.Enter(_crashLines.Destroy);
                _vtable.Destroy(_instance);
                CrashBreadcrumb.Leave(crumb);
            }
            _instance = null;
        }
        finally
        {
            FreeResources();
            _plugin.InstanceDestroyed();
        }
    }

    private void FreeResources()
    {
        // The table stays allocated (a late callback still reads it); the context id stops resolving.
        _hostApi = null;
        if (_contextId != 0) HostCallbacks.Unregister(_contextId);
        _contextId = 0;
        NativeMemory.Free(_errorBuffer);
        _errorBuffer = null;
        _crashLines.Dispose();
        NativeMemory.Free(_sinkSlices);
        _sinkSlices = null;
        _sinkSliceCapacity = 0;
        NativeMemory.Free(_sourceSlices);
        _sourceSlices = null;
        _sourceSliceCapacity = 0;
    }

    private void EnsureSinkSlices(int count)
    {
        if (count <= _sinkSliceCapacity) return;
        var capacity = Math.Max(count, Math.Max(64, _sinkSliceCapacity * 2));
        NativeMemory.Free(_sinkSlices);
        _sinkSlices = (TremorSinkSlice*)NativeMemory.Alloc((nuint)capacity, (nuint)sizeof(TremorSinkSlice));
        _sinkSliceCapacity = capacity;
    }

    private void EnsureSourceSlices(int count)
    {
        if (count <= _sourceSliceCapacity) return;
        NativeMemory.Free(_sourceSlices);
        _sourceSlices = (TremorSourceSlice*)NativeMemory.AllocZeroed((nuint)count, (nuint)sizeof(TremorSourceSlice));
        _sourceSliceCapacity = count;
    }

    private TremorErr NewErr() => new() { Ptr = _errorBuffer, Cap = ErrorCapacity, Len = 0 };

    private string Message(in TremorErr err, int status)
    {
        var len = (int)Math.Min(err.Len, (nuint)ErrorCapacity);
        return len == 0 ? $"{Status.Name(status)} without a message" : Encoding.UTF8.GetString(_errorBuffer, len);
    }

    private NativePluginException Error(string call, int status, in TremorErr err) =>
        new($"{_label}: {call}: {Message(err, status)}" + (status == Status.ErrorPanic ? " (panic caught at the boundary)" : ""), status);

    private void ThrowIfDestroyed()
    {
        if (_destroyed) throw new ObjectDisposedException(_label, $"{_label}: the native instance was destroyed");
    }
}
