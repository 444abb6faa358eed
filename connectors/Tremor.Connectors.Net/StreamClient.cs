using System.Net.Sockets;
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>Where a tcp or unix socket client connects to.</summary>
internal sealed record StreamClientOptions(
    string Type,
    HostPort? Endpoint,
    string? SocketPath,
    int BufferSize,
    TimeSpan ConnectTimeout,
    TlsClientSettings? Tls)
{
    public string Where => SocketPath ?? Endpoint!.ToString();
}

/// <summary>
/// <c>tcp_client</c> and <c>unix_socket_client</c>: the sink writes each batch's bytes to the server, the source
/// yields what the server sends back (one stream id per connection). When the server goes away (a read ends, a write
/// fails) the client tells the runtime through <see cref="IPluginHost.ConnectionLost"/> and fails the batch in flight;
/// the runtime reconnects through <see cref="ConnectAsync"/> and retries the batch.
/// </summary>
internal sealed class StreamClient(IPluginHost host, StreamClientOptions options) : ConnectorBase, ISource, ISink
{
    private readonly InboundQueue _inbound = InboundQueue.ForReads(options.BufferSize);
    private readonly CancellationTokenSource _stop = new();
    private ClientConnection? _connection;
    private readonly List<Task> _readers = [];
    private long _nextStreamId;
    private bool _stopped;

    public bool IsTransactional => false;

    /// <summary>Whether a connection is open (for tests and status).</summary>
    internal bool IsConnected => _connection is { IsOpen: true };

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_stopped) return false;
        if (_connection is { IsOpen: true }) return true;
        DropConnection();

        Socket? socket = null;
        Stream? stream = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            if (options.SocketPath is { } path)
            {
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
            }
            else
            {
                var endPoint = await options.Endpoint!.ResolveAsync(timeout.Token).ConfigureAwait(false);
                socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Tls is { } tls) stream = await Tls.AuthenticateAsClientAsync(stream, tls, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            socket?.Dispose();
            if (cancellationToken.IsCancellationRequested || _stop.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            var why = e is OperationCanceledException ? $"no connection within {options.ConnectTimeout}" : e.Message;
            host.Log(PluginLogLevel.Warning, $"{options.Type}: connecting to {options.Where} failed (attempt {attempt}): {why}");
            return false;
        }

        var streamId = (ulong)Interlocked.Increment(ref _nextStreamId);
        var connection = new ClientConnection(streamId, stream, socket, Meta(socket));
        _connection = connection;
        _readers.Add(Task.Run(() => ReadLoopAsync(connection)));
        host.Log(PluginLogLevel.Info, $"{options.Type}: connected to {options.Where}{(options.Tls is null ? "" : " (TLS)")}");
        return true;
    }

    private Value Meta(Socket socket)
    {
        var inner = new ValueRecord(3);
        if (options.SocketPath is { } path)
        {
            inner.Append("path", path);
        }
        else
        {
            inner.Append("tls", options.Tls is not null);
            inner.Append("peer", StreamServer.PeerValue(socket.RemoteEndPoint));
        }
        var meta = new ValueRecord(1);
        meta.Append(options.Type, Value.From(inner));
        return Value.From(meta);
    }

    private async Task ReadLoopAsync(ClientConnection connection)
    {
        string reason;
        while (true)
        {
            var buffer = _inbound.Rent();
            int read;
            try
            {
                read = await connection.Stream.ReadAsync(buffer.AsMemory(0, options.BufferSize), _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                _inbound.Return(buffer);
                if (_stop.IsCancellationRequested) return;
                reason = $"the connection to {options.Where} failed: {e.Message}";
                break;
            }
            if (read == 0)
            {
                _inbound.Return(buffer);
                reason = $"{options.Where} closed the connection";
                break;
            }
            try
            {
                await _inbound.WriteAsync(new Inbound(connection.StreamId, buffer, read, connection.Meta, host.NowNs()), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _inbound.Return(buffer);
                return;
            }
        }
        Lost(connection, $"{options.Type}: {reason}");
        try
        {
            await _inbound.WriteAsync(Inbound.End(connection.StreamId), _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: nobody pulls the end any more.
        }
    }

    /// <summary>Closes the connection and tells the runtime, once per connection, unless the connector stops.</summary>
    private void Lost(ClientConnection connection, string reason)
    {
        connection.Close();
        if (_stop.IsCancellationRequested || !connection.TryMarkLost()) return;
        host.Log(PluginLogLevel.Warning, reason);
        host.ConnectionLost(reason);
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
        var connection = _connection;
        if (connection is null || !connection.IsOpen)
        {
            var reason = $"{options.Type}: not connected to {options.Where}";
            if (connection is not null) Lost(connection, reason);
            return SinkReply.Failed(reason);
        }
        // The read loop may not have seen the peer leave yet (it waits while the flow does not pull): bytes written
        // now would be taken by the kernel and acked, then lost.
        if (connection.PeerLeft() is { } gone)
        {
            var reason = $"{options.Type}: {options.Where} {gone}; the batch was not written";
            Lost(connection, reason);
            return SinkReply.Failed(reason);
        }
        try
        {
            await connection.Stream.WriteAsync(batch.Bytes, cancellationToken).ConfigureAwait(false);
            await connection.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            // A write that succeeded only means the kernel took the bytes. A peer seen leaving by now (its reset came
            // back, the read loop saw the end) may not have read them: failed back (retried after the reconnect,
            // perhaps twice), not acked.
            if (!connection.IsOpen || connection.PeerLeft() is not null)
            {
                var reason = $"{options.Type}: {options.Where} went away while the batch was written; it may not have arrived";
                Lost(connection, reason);
                return SinkReply.Failed(reason);
            }
            return SinkReply.Acked;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            var reason = $"{options.Type}: writing to {options.Where} failed, the connection is lost: {e.Message}";
            Lost(connection, reason);
            return SinkReply.Failed(reason);
        }
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private void DropConnection()
    {
        _connection?.Close();
        _connection = null;
        // A reader of an old connection may still wait to queue its stream end; it is awaited at stop.
        _readers.RemoveAll(r => r.IsCompleted);
    }

    private async Task ShutdownAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        _connection?.Close();
        await Task.WhenAll(_readers).ConfigureAwait(false);
        _inbound.Complete();
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _inbound.Release();
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One client connection: its stream, stream id and meta, and whether its loss was reported.</summary>
internal sealed class ClientConnection(ulong streamId, Stream stream, Socket socket, Value meta)
{

    private int _closed;
    private int _lost;

    public ulong StreamId => streamId;

    public Stream Stream => stream;

    public Value Meta => meta;

    public bool IsOpen => Volatile.Read(ref _closed) == 0;

    public bool TryMarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;

    /// <summary>What the kernel already knows about the peer leaving (see <see cref="TcpPeer.Left"/>); null when nothing.</summary>
    public string? PeerLeft() => IsOpen ? TcpPeer.Left(socket) : "closed the connection";

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try
        {
            stream.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Closing a broken connection may complain; it is closed either way.
        }
    }
}
