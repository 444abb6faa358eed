using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>
/// <c>udp_server</c>: each datagram is one chunk on a stream of its own (ended right after it, so a preprocessor
/// never joins two datagrams), or with <paramref name="sharedStream"/> all on one stream that never ends (Tremor's
/// way: a preprocessor such as gelf-chunking joins datagrams), with the sender in its meta (<c>{ udp_server: { peer: { host, port } } }</c>). When the
/// runtime does not pull, the socket is not read and the kernel drops what overflows its buffer: UDP has no way to
/// push back; what the kernel dropped is read from the socket's drop counter and logged with the total. With
/// <paramref name="receiveBufferSize"/> the socket's receive buffer (SO_RCVBUF) is set to it, so a burst the flow does
/// not take at once waits in the kernel instead of being dropped; without it the OS default stays.
/// </summary>
internal sealed class UdpServerConnector(IPluginHost host, HostPort endpoint, int maxDatagramSize, bool sharedStream = false, int? receiveBufferSize = null) : ConnectorBase, ISource
{
    private readonly InboundQueue _inbound = new(InboundQueue.MaxCapacity);
    private readonly CancellationTokenSource _stop = new();
    // Cancelled when a drain starts (or at stop): no more receives.
    private readonly CancellationTokenSource _drain = new();
    private readonly CountedWarning _kernelDrops = new(host);
    private readonly CountedWarning _oversized = new(host);
    private Socket? _socket;
    private UdpDropCounter? _drops;
    private Task? _receiver;
    private Task? _drained;
    private long _nextStreamId;
    private bool _stopped;

    public override ISink? Sink => null;

    public bool IsTransactional => false;

    /// <summary>Datagrams received before a drain are still handed over, not dropped.</summary>
    public bool PullsWhileDraining => true;

    /// <summary>Where the socket is bound (the real port when configured with port 0).</summary>
    internal EndPoint? LocalEndPoint { get; private set; }

    /// <summary>Datagrams the kernel dropped for this socket (its receive buffer was full), as last read.</summary>
    internal long KernelDrops => _kernelDrops.Count;

    /// <summary>The socket's receive buffer as the kernel reports it (SO_RCVBUF read back), once bound.</summary>
    internal int? ReceiveBufferSize => _socket?.ReceiveBufferSize;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_socket is not null || _stopped) return true;
        var endPoint = await endpoint.ResolveAsync(cancellationToken).ConfigureAwait(false);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (receiveBufferSize is { } size) ApplyReceiveBufferSize(socket, size);
            socket.Bind(endPoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            host.Log(PluginLogLevel.Warning, $"udp_server: cannot bind {endpoint} (attempt {attempt}): {e.Message}");
            return false;
        }
        _socket = socket;
        _drops = UdpDropCounter.For(socket);
        LocalEndPoint = socket.LocalEndPoint;
        host.Log(PluginLogLevel.Info, $"udp_server: listening on {NetConfig.Describe(LocalEndPoint)}");
        _receiver = Task.Run(() => ReceiveLoopAsync(socket));
        return true;
    }

    /// <summary>
    /// Sets SO_RCVBUF and says so when the kernel granted less (Linux caps it at <c>net.core.rmem_max</c> and reports
    /// twice what it keeps for data, its bookkeeping included): the flow runs, with the smaller buffer.
    /// </summary>
    private void ApplyReceiveBufferSize(Socket socket, int size)
    {
        socket.ReceiveBufferSize = size;
        var reported = socket.ReceiveBufferSize;
        var granted = OperatingSystem.IsLinux() ? reported / 2 : reported;
        if (granted < size)
        {
            host.Log(PluginLogLevel.Warning,
                $"udp_server: receive-buffer-size {size} bytes asked, the kernel granted {granted}; " +
                (OperatingSystem.IsLinux() ? "raise net.core.rmem_max (sysctl) to at least the size asked" : "the OS caps the receive buffer"));
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        EndPoint any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        // One receive buffer for the socket, one byte more than allowed so a datagram that does not fit is recognised
        // rather than cut short; each datagram is then copied into a pooled buffer of its own size (a 20-byte datagram
        // does not hold a 64 KiB buffer while it waits in the queue).
        var receive = new byte[maxDatagramSize + 1];
        var noMore = _drain.Token;
        var nextDropCheck = Environment.TickCount64;
        while (!noMore.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(receive, SocketFlags.None, any, noMore).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                if (e.SocketErrorCode == SocketError.MessageSize)
                {
                    LogOversized();
                }
                else
                {
                    host.Log(PluginLogLevel.Warning, $"udp_server: receive failed: {e.Message}");
                }
                continue;
            }
            if (received.ReceivedBytes > maxDatagramSize)
            {
                LogOversized();
                continue;
            }
            // Drops happen while datagrams come faster than they are taken: checked while traffic flows (at most once
            // a second, no timer, so an idle socket costs nothing) and once more at drain and stop.
            if (Environment.TickCount64 >= nextDropCheck)
            {
                nextDropCheck = Environment.TickCount64 + 1000;
                CheckDrops();
            }
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(received.ReceivedBytes, 1));
            receive.AsSpan(0, received.ReceivedBytes).CopyTo(buffer);
            var streamId = sharedStream ? 0 : (ulong)Interlocked.Increment(ref _nextStreamId);
            var meta = new ValueRecord(1);
            var inner = new ValueRecord(1);
            inner.Append("peer", StreamServer.PeerValue(received.RemoteEndPoint));
            meta.Append("udp_server", Value.From(inner));
            try
            {
                await _inbound.WriteAsync(new Inbound(streamId, buffer, received.ReceivedBytes, Value.From(meta), host.NowNs()), _stop.Token).ConfigureAwait(false);
                if (!sharedStream) await _inbound.WriteAsync(Inbound.End(streamId), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void LogOversized() => _oversized.Add(1, OversizedMessage);

    private string OversizedMessage(long count) =>
        $"udp_server: dropped a datagram larger than max-datagram-size ({maxDatagramSize} bytes; {count} so far)";

    /// <summary>Adds what the kernel dropped since the last check to the count (and the log).</summary>
    private void CheckDrops()
    {
        if (_drops?.Read() is not { } total) return;
        _kernelDrops.Add(total - _kernelDrops.Count, DropsMessage);
    }

    private string DropsMessage(long count) =>
        $"udp_server on {NetConfig.Describe(LocalEndPoint)}: the kernel dropped {count} datagram(s) so far because the socket's receive " +
        "buffer was full (the flow did not keep up; UDP cannot push back): raise receive-buffer-size (and net.core.rmem_max) or slow the senders";

    /// <summary>Draining: receive nothing more; what was received is still handed over, then the source finishes.</summary>
    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        _drain.Cancel();
        _drained ??= FinishReceivingAsync();
        return ValueTask.CompletedTask;
    }

    private async Task FinishReceivingAsync()
    {
        try
        {
            if (_receiver is not null) await _receiver.ConfigureAwait(false);
        }
        finally
        {
            CheckDrops();
            _inbound.Complete();
        }
    }

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken) =>
        _inbound.PullAsync(batch, cancellationToken);

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private async Task ShutdownAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _drain.CancelAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        CheckDrops();
        _socket?.Dispose();
        if (_receiver is not null) await _receiver.ConfigureAwait(false);
        _inbound.Complete();
        _kernelDrops.Flush(DropsMessage);
        _oversized.Flush(OversizedMessage);
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _inbound.Release();
        _stop.Dispose();
        _drain.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// <c>udp_client</c>: each event's encoded payload (after postprocessors) is one datagram to the configured address.
/// A payload larger than <c>max-datagram-size</c> fails that event with the reason; the others are still sent.
/// </summary>
internal sealed class UdpClientConnector(IPluginHost host, HostPort endpoint, int maxDatagramSize) : ConnectorBase, ISink
{
    private Socket? _socket;

    public override ISource? Source => null;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_socket is not null) return true;
        IPEndPoint target;
        try
        {
            target = await endpoint.ResolveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            host.Log(PluginLogLevel.Warning, $"udp_client: cannot resolve {endpoint} (attempt {attempt}): {e.Message}");
            return false;
        }
        var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            host.Log(PluginLogLevel.Warning, $"udp_client: cannot address {endpoint} (attempt {attempt}): {e.Message}");
            return false;
        }
        _socket = socket;
        return true;
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var socket = _socket ?? throw new InvalidOperationException($"udp_client: {endpoint} was written before it was connected");
        List<(EventId, string)>? failed = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch.Events[i];
            if (e.Payload.Length > maxDatagramSize)
            {
                (failed ??= []).Add((e.Id, $"udp_client: the event's payload of {e.Payload.Length} bytes does not fit in one datagram (max-datagram-size {maxDatagramSize})"));
                continue;
            }
            try
            {
                await SendAsync(socket, e.Payload, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException x)
            {
                (failed ??= []).Add((e.Id, $"udp_client: sending to {endpoint} failed: {x.Message}"));
            }
        }
        return SinkReply.Settle(host, batch, failed);
    }

    private static async ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(payload, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // A connected UDP socket reports an earlier datagram's "port unreachable" on the next send: this one
            // was not sent yet, so send it again.
            await socket.SendAsync(payload, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        _socket = null;
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The kernel's count of datagrams it dropped for one UDP socket (receive buffer full): the <c>drops</c> column of
/// <c>/proc/net/udp</c> (or <c>udp6</c>) on the line of the socket's inode. Linux only; elsewhere there is none.
/// </summary>
internal sealed class UdpDropCounter
{
    private readonly string _table;
    private readonly string _inode;

    private UdpDropCounter(string table, string inode)
    {
        _table = table;
        _inode = inode;
    }

    public static UdpDropCounter? For(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            // /proc/self/fd/N links to "socket:[INODE]".
            var target = new FileInfo($"/proc/self/fd/{socket.SafeHandle.DangerousGetHandle()}").LinkTarget;
            if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal)) return null;
            var table = socket.AddressFamily == AddressFamily.InterNetworkV6 ? "/proc/net/udp6" : "/proc/net/udp";
            return new UdpDropCounter(table, target["socket:[".Length..^1]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The total so far, or null when the socket's line is not found.</summary>
    public long? Read()
    {
        try
        {
            foreach (var line in File.ReadLines(_table))
            {
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 13 && fields[9] == _inode && long.TryParse(fields[12], out var drops)) return drops;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
