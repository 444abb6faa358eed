using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>How a tcp or unix socket server listens and treats its connections.</summary>
internal sealed record StreamServerOptions(
    string Type,
    HostPort? Endpoint,
    string? SocketPath,
    UnixFileMode? Permissions,
    int Backlog,
    int MaxConnections,
    TimeSpan? IdleTimeout,
    TimeSpan? WriteTimeout,
    int BufferSize,
    TlsServerSettings? Tls)
{
    public string Where => SocketPath ?? Endpoint!.ToString();
}

/// <summary>
/// <c>tcp_server</c> and <c>unix_socket_server</c>: one stream id per accepted connection, so the runtime's per-stream
/// preprocessors (the <c>separate</c> line splitter) never mix two peers; the stream ends when the peer closes, goes
/// idle past <c>idle-timeout</c>, or the connector stops. Every chunk's meta names the connection
/// (<c>{ TYPE: { stream: N, peer: { host, port } } }</c>); the sink side writes each event back on the connection its
/// meta names.
/// </summary>
internal sealed class StreamServer(IPluginHost host, StreamServerOptions options) : ConnectorBase, ISource, ISink
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    // Reads queued between the connections and the pulls (each at most buffer-size bytes), in buffers reused.
    private readonly InboundQueue _inbound = InboundQueue.ForReads(options.BufferSize);
    private readonly ConcurrentDictionary<ulong, ServerConnection> _connections = new();
    private readonly ConcurrentDictionary<ulong, Task> _serving = new();
    private readonly ConcurrentDictionary<ulong, Task> _reading = new();
    private readonly CancellationTokenSource _stop = new();
    // Cancelled when a drain starts (or at stop): no more accepts, no more socket reads.
    private readonly CancellationTokenSource _drain = new();
    private readonly Lock _listenerLock = new();
    private readonly SemaphoreSlim _slots = new(options.MaxConnections, options.MaxConnections);
    private readonly ConcurrentQueue<ServerConnection> _lingering = new();
    private readonly CountedWarning _limitReached = new(host);
    private Socket? _listener;
    private bool _accepting;
    private Task? _acceptLoop;
    private Task? _drained;
    private long _nextStreamId;
    private int _connectionCount;
    private int _lingeringCount;
    private bool _stopped;
    private DateTime _socketFileWritten;

    /// <summary>Where the server listens once connected (the real port when configured with port 0).</summary>
    internal EndPoint? LocalEndPoint { get; private set; }

    /// <summary>Connections holding a slot of max-connections (handshaking ones included).</summary>
    internal int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>How often an accept had to wait because max-connections connections were open.</summary>
    internal long LimitReachedCount => _limitReached.Count;

    /// <summary>Chunks waiting for a pull.</summary>
    internal int QueuedChunks => _inbound.Count;

    /// <summary>How many chunks wait at most before the readers stop reading.</summary>
    internal int QueueCapacity => _inbound.Capacity;

    public bool IsTransactional => false;

    /// <summary>What was read from open connections before a drain is still handed over, not dropped.</summary>
    public bool PullsWhileDraining => true;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_listener is not null || _stopped) return true;
        Socket? listener = null;
        try
        {
            if (options.SocketPath is { } path)
            {
                listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                RemoveStaleSocket(path);
                listener.Bind(new UnixDomainSocketEndPoint(path));
                _socketFileWritten = File.GetLastWriteTimeUtc(path);
                if (options.Permissions is { } mode && !OperatingSystem.IsWindows()) File.SetUnixFileMode(path, mode);
            }
            else
            {
                var endPoint = await options.Endpoint!.ResolveAsync(cancellationToken).ConfigureAwait(false);
                listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(endPoint);
            }
            listener.Listen(options.Backlog);
        }
        catch (SocketException e)
        {
            listener?.Dispose();
            host.Log(PluginLogLevel.Warning, $"{options.Type}: cannot listen on {options.Where} (attempt {attempt}): {e.Message}");
            return false;
        }
        catch
        {
            listener?.Dispose();
            throw;
        }
        lock (_listenerLock)
        {
            _listener = listener;
            _accepting = true;
        }
        LocalEndPoint = listener.LocalEndPoint;
        host.Log(PluginLogLevel.Info, $"{options.Type}: listening on {(options.SocketPath ?? NetConfig.Describe(LocalEndPoint))}{(options.Tls is null ? "" : " (TLS)")}");
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener));
        return true;
    }

    /// <summary>
    /// A socket file left by a process that died is removed; anything else at the path (a regular file, a directory,
    /// a link, a socket another server still answers on) is left alone and the connect fails naming it.
    /// </summary>
    private void RemoveStaleSocket(string path)
    {
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing) return;
        if (kind != FileKind.Socket)
        {
            throw new IOException(
                $"{options.Type}: config key 'path' names '{path}', which is {FileKinds.Describe(kind)}, not a socket; it was left alone. " +
                "Point 'path' at a free location (or remove what is there if it is yours)");
        }
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"{options.Type}: another process is listening on '{path}' (config key 'path'); stop it or choose another path");
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // A socket nobody listens on: a stale file.
            }
        }
        File.Delete(path);
        host.Log(PluginLogLevel.Info, $"{options.Type}: removed the stale socket file '{path}' (nothing listened on it)");
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        var noMore = _drain.Token;
        while (true)
        {
            Socket socket;
            try
            {
                // At max-connections the next connection is not accepted (and then dropped, after its client already
                // sent) but left in the kernel's listen backlog until a slot frees: nothing a client sent is lost.
                if (!_slots.Wait(0))
                {
                    _limitReached.Add(1, LimitMessage);
                    await _slots.WaitAsync(noMore).ConfigureAwait(false);
                }
                Interlocked.Increment(ref _connectionCount);
                try
                {
                    socket = await listener.AcceptAsync(noMore).ConfigureAwait(false);
                }
                catch
                {
                    FreeSlot();
                    throw;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || !Volatile.Read(ref _accepting))
            {
                return;
            }
            catch (SocketException e)
            {
                host.Log(PluginLogLevel.Warning, $"{options.Type}: accept on {options.Where} failed: {e.Message}");
                continue;
            }

            var streamId = (ulong)Interlocked.Increment(ref _nextStreamId);
            // Registered before it runs, so a connection that ends at once cannot leave a finished task behind, and a
            // drain that starts after this accept waits for its reads.
            var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _reading[streamId] = reading.Task;
            var serve = new Task<Task>(() => ServeAsync(socket, streamId, reading));
            _serving[streamId] = serve.Unwrap();
            serve.Start(TaskScheduler.Default);
        }
    }

    private string LimitMessage(long times) =>
        $"{options.Type}: max-connections ({options.MaxConnections}) open on {options.Where}; new connections wait in the listen backlog " +
        $"(backlog {options.Backlog}; beyond it the kernel refuses them) until one closes; reached {times} time(s) so far";

    private void FreeSlot()
    {
        Interlocked.Decrement(ref _connectionCount);
        _slots.Release();
    }

    private async Task ServeAsync(Socket socket, ulong streamId, TaskCompletionSource reading)
    {
        var peer = PeerText(socket);
        ServerConnection? connection = null;
        var slot = new SlotHolder(this);
        try
        {
            if (socket.AddressFamily != AddressFamily.Unix) socket.NoDelay = true;
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Tls is { } tls)
            {
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                handshake.CancelAfter(HandshakeTimeout);
                try
                {
                    stream = await Tls.AuthenticateAsServerAsync(stream, tls, handshake.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    if (!_stop.IsCancellationRequested)
                    {
                        var why = e is OperationCanceledException ? $"no handshake within {HandshakeTimeout.TotalSeconds:0}s" : e.Message;
                        host.Log(PluginLogLevel.Warning, $"{options.Type}: TLS handshake with {peer} failed: {why}");
                    }
                    return;
                }
            }
            connection = new ServerConnection(streamId, stream, peer, Meta(socket, streamId), options.IdleTimeout, _stop.Token, _drain.Token);
            _connections[streamId] = connection;
            if (_stop.IsCancellationRequested) return;
            host.Log(PluginLogLevel.Debug, $"{options.Type}: connection {streamId} from {peer}");
            var reason = await ReadLoopAsync(connection, reading, slot).ConfigureAwait(false);
            host.Log(PluginLogLevel.Debug, $"{options.Type}: connection {streamId} from {peer} ended: {reason}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (!_stop.IsCancellationRequested) host.Log(PluginLogLevel.Warning, $"{options.Type}: connection {streamId} from {peer} failed: {e.Message}");
        }
        finally
        {
            reading.TrySetResult();
            _reading.TryRemove(streamId, out _);
            _connections.TryRemove(streamId, out _);
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
            else socket.Dispose();
            slot.Free();
            _serving.TryRemove(streamId, out _);
        }
    }

    /// <summary>A connection's slot of max-connections, freed once (when its reads were handed on, or at its end).</summary>
    private sealed class SlotHolder(StreamServer server)
    {
        private int _freed;

        public void Free()
        {
            if (Interlocked.Exchange(ref _freed, 1) == 0) server.FreeSlot();
        }
    }

    private const string IdleReason = "idle";

    /// <summary>
    /// Reads until the peer closes, the connection idles out, a drain starts or the connector stops; then ends the
    /// stream. A connection whose peer finished sending, or that a drain stopped reading, stays open for replies.
    /// </summary>
    private async Task<string> ReadLoopAsync(ServerConnection connection, TaskCompletionSource reading, SlotHolder slot)
    {
        string reason;
        var keepForReplies = false;
        var full = false;
        while (true)
        {
            byte[]? buffer = null;
            int read;
            try
            {
                // A zero-byte read waits for data without holding a buffer: an idle connection costs no read buffer.
                // After a read that filled the buffer more is waiting (a peer sending fast): read it at once, one
                // system call per buffer instead of two.
                if (!full) await connection.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                buffer = _inbound.Rent();
                read = await connection.ReadAsync(buffer.AsMemory(0, options.BufferSize)).ConfigureAwait(false);
                full = read == options.BufferSize;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                if (buffer is not null) _inbound.Return(buffer);
                if (_stop.IsCancellationRequested) return "the connector stopped";
                if (_drain.IsCancellationRequested && !connection.IdledOut)
                {
                    // Draining: what was read is handed on; the rest stays unread in the kernel (the peer is held
                    // back by TCP) and the connection stays open for replies until stop.
                    reason = "the connector drains";
                    keepForReplies = true;
                    break;
                }
                reason = connection.IdledOut ? IdleReason : e.Message;
                break;
            }
            if (read == 0)
            {
                _inbound.Return(buffer);
                reason = "closed by the peer";
                keepForReplies = true;
                break;
            }
            try
            {
                // Waits while the runtime does not pull: this connection is not read meanwhile (back-pressure).
                await _inbound.WriteAsync(new Inbound(connection.StreamId, buffer, read, connection.Meta, host.NowNs()), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _inbound.Return(buffer);
                return "the connector stopped";
            }
        }
        if (!keepForReplies)
        {
            // Close before the end marker waits for room, so the peer sees the close at once (and say so before the
            // stream's end is handed on).
            _connections.TryRemove(connection.StreamId, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
            if (reason == IdleReason) host.Log(PluginLogLevel.Info, $"{options.Type}: closed connection {connection.StreamId} from {connection.Peer}: idle for {options.IdleTimeout}");
        }
        try
        {
            await _inbound.WriteAsync(Inbound.End(connection.StreamId), _stop.Token).ConfigureAwait(false);
            // Everything this connection sent is handed on: its slot is free for the next client, even while it
            // stays open for replies (otherwise short connections would hold slots for the reply grace).
            reading.TrySetResult();
            slot.Free();
            if (keepForReplies)
            {
                // The peer may only have closed its sending side (nc -q1, a request/response client) and still wait
                // for replies: the stream ends now, the connection stays writable for a grace period (until stop
                // when draining), then closes.
                await LingerAsync(connection, _drain.IsCancellationRequested ? Timeout.InfiniteTimeSpan : ReplyGrace).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: nobody pulls the end any more.
        }
        return reason;
    }

    /// <summary>
    /// Keeps a connection open for replies. Lingering connections hold no slot, so they are bounded on their own:
    /// past max-connections of them the oldest is closed early (a flood of short connections cannot pile up sockets).
    /// </summary>
    private async Task LingerAsync(ServerConnection connection, TimeSpan limit)
    {
        connection.Lingering = 1;
        // Connections whose linger ended by themselves leave the queue from its head (they linger about equally long).
        while (_lingering.TryPeek(out var head) && Volatile.Read(ref head.Lingering) == 0) _lingering.TryDequeue(out _);
        _lingering.Enqueue(connection);
        if (Interlocked.Increment(ref _lingeringCount) > options.MaxConnections)
        {
            while (_lingering.TryDequeue(out var oldest))
            {
                if (Interlocked.Exchange(ref oldest.Lingering, 0) == 0) continue;
                Interlocked.Decrement(ref _lingeringCount);
                oldest.Abort();
                break;
            }
        }
        try
        {
            await connection.WaitClosedAsync(limit, _stop.Token).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Exchange(ref connection.Lingering, 0) == 1) Interlocked.Decrement(ref _lingeringCount);
        }
    }

    /// <summary>How long a connection whose peer finished sending stays open for replies (at most the idle timeout).</summary>
    private TimeSpan ReplyGrace => options.IdleTimeout is { } idle && idle < DefaultReplyGrace ? idle : DefaultReplyGrace;

    internal static readonly TimeSpan DefaultReplyGrace = TimeSpan.FromSeconds(5);

    private Value Meta(Socket socket, ulong streamId)
    {
        var inner = new ValueRecord(3);
        if (options.SocketPath is { } path)
        {
            inner.Append("path", path);
        }
        else
        {
            inner.Append("tls", options.Tls is not null);
            inner.Append("peer", PeerValue(socket.RemoteEndPoint));
        }
        inner.Append("stream", Value.From(streamId));
        var meta = new ValueRecord(1);
        meta.Append(options.Type, Value.From(inner));
        return Value.From(meta);
    }

    internal static Value PeerValue(EndPoint? endPoint)
    {
        var peer = new ValueRecord(2);
        if (endPoint is IPEndPoint ip)
        {
            var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
            peer.Append("host", address.ToString());
            peer.Append("port", ip.Port);
        }
        return Value.From(peer);
    }

    private string PeerText(Socket socket)
    {
        try
        {
            return options.SocketPath is null ? NetConfig.Describe(socket.RemoteEndPoint) : $"a peer on {options.SocketPath}";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "a peer that already left";
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

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        List<(EventId, string)>? failed = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch.Events[i];
            if (!TryGetStream(e.Event?.Meta ?? default, out var streamId, out var error))
            {
                (failed ??= []).Add((e.Id, error));
                continue;
            }
            if (!_connections.TryGetValue(streamId, out var connection))
            {
                (failed ??= []).Add((e.Id, $"{options.Type}: connection {streamId} is closed (its peer went away or idled out); the reply was not sent"));
                continue;
            }
            try
            {
                await connection.WriteAsync(e.Payload, options.WriteTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception x) when (x is IOException or SocketException or ObjectDisposedException or TimeoutException)
            {
                // A peer that does not read would otherwise hold up the replies to every other peer: it is closed.
                (failed ??= []).Add((e.Id, $"{options.Type}: writing to connection {streamId} ({connection.Peer}) failed, the connection is closed: {x.Message}"));
                connection.Abort();
            }
        }
        return SinkReply.Settle(host, batch, failed);
    }

    private bool TryGetStream(Value meta, out ulong streamId, out string error)
    {
        var stream = meta[options.Type]["stream"];
        if (stream.TryGetU64(out streamId))
        {
            error = "";
            return true;
        }
        error = stream.IsNull
            ? $"{options.Type}: the event has no ${options.Type}.stream metadata naming the connection to reply on (events from this connector's source carry it; keep it through the pipeline)"
            : $"{options.Type}: ${options.Type}.stream must be a connection number, found '{stream}'";
        return false;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Draining: accept no new connections and read no more from open ones; what was read is still handed over (the
    /// source finishes once it is pulled). Open connections stay until stop so replies still reach them.
    /// </summary>
    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        StopAccepting();
        _drained ??= FinishReadingAsync();
        return ValueTask.CompletedTask;
    }

    /// <summary>Once the accept loop and every reader are done, the queue completes and the last pull says Finished.</summary>
    private async Task FinishReadingAsync()
    {
        try
        {
            if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
            await Task.WhenAll(_reading.Values).ConfigureAwait(false);
        }
        finally
        {
            _inbound.Complete();
        }
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private void StopAccepting()
    {
        lock (_listenerLock)
        {
            if (!_accepting && _drain.IsCancellationRequested) return;
            _accepting = false;
            _drain.Cancel();
            _listener?.Dispose();
        }
    }

    private async Task ShutdownAsync()
    {
        if (_stopped) return;
        _stopped = true;
        StopAccepting();
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var connection in _connections.Values) connection.Abort();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_serving.Values).ConfigureAwait(false);
        _inbound.Complete();
        _limitReached.Flush(LimitMessage);
        // Only the file this instance bound: a successor (a restart) may already have bound its own at the path.
        if (options.SocketPath is { } path && _listener is not null && File.Exists(path) && File.GetLastWriteTimeUtc(path) == _socketFileWritten)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                host.Log(PluginLogLevel.Warning, $"{options.Type}: could not remove the socket file '{path}': {e.Message}");
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _inbound.Release();
        _stop.Dispose();
        _drain.Dispose();
        _slots.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One accepted connection: its stream (plain or TLS), its stream id and meta, its idle timer.</summary>
internal sealed class ServerConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly TimeSpan? _idleTimeout;
    private readonly CancellationTokenSource _idle = new();
    private readonly CancellationTokenSource _read;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _write = new();
    private int _disposed;
    private volatile bool _reading;

    public ServerConnection(ulong streamId, Stream stream, string peer, Value meta, TimeSpan? idleTimeout, CancellationToken stop, CancellationToken drain)
    {
        StreamId = streamId;
        _stream = stream;
        Peer = peer;
        Meta = meta;
        _idleTimeout = idleTimeout;
        _read = CancellationTokenSource.CreateLinkedTokenSource(stop, drain, _idle.Token);
    }

    /// <summary>1 while the connection is kept open for replies only (see StreamServer.LingerAsync).</summary>
    public int Lingering;

    public ulong StreamId { get; }

    public string Peer { get; }

    public Value Meta { get; }

    /// <summary>True when the idle timer ended the connection.</summary>
    public bool IdledOut => _idle.IsCancellationRequested;

    /// <summary>
    /// Reads with the idle timer running; the timer is off while the reader waits for the runtime to pull, so
    /// back-pressure never counts as idleness.
    /// </summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        _reading = true;
        Touch();
        try
        {
            return await _stream.ReadAsync(buffer, _read.Token).ConfigureAwait(false);
        }
        finally
        {
            _reading = false;
            if (_idleTimeout is not null && !_idle.IsCancellationRequested) _idle.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Writes; with a timeout, a peer that does not take the bytes in time fails the write with <see cref="TimeoutException"/>.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> payload, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (timeout is not { } limit)
        {
            await _stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One timer per connection, re-armed per write: no allocation per event.
            if (!_write.TryReset())
            {
                _write.Dispose();
                _write = new CancellationTokenSource();
            }
            _write.CancelAfter(limit);
            try
            {
                await _stream.WriteAsync(payload, _write.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_write.IsCancellationRequested)
            {
                throw new TimeoutException($"the peer did not take the bytes within {limit} (write-timeout)");
            }
            finally
            {
                _write.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
        if (_reading) Touch();
    }

    private void Touch()
    {
        if (_idleTimeout is { } timeout && !_idle.IsCancellationRequested) _idle.CancelAfter(timeout);
    }

    /// <summary>Waits until the connection is aborted (a write failed, the connector stops) or the time is up.</summary>
    public async Task WaitClosedAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        await Task.WhenAny(_closed.Task, Task.Delay(limit, cancellationToken)).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Closes the socket at once (its reader sees an error and ends the stream).</summary>
    public void Abort()
    {
        _closed.TrySetResult();
        if (Volatile.Read(ref _disposed) != 0) return;
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Closing a broken connection may complain; it is closed either way.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _closed.TrySetResult();
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // As in Abort.
        }
        _read.Dispose();
        _idle.Dispose();
        _write.Dispose();
    }
}
