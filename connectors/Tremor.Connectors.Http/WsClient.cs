using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

internal sealed record WsClientSettings(Uri Url, bool BinaryByDefault, int MaxMessageSize, int MaxQueuedMessages, TimeSpan ConnectTimeout, X509Certificate2Collection? TrustedRoots);

/// <summary>
/// <c>ws_client</c>: one WebSocket connection to <c>url</c>; each event on <c>in</c> a message, each message received an
/// event on <c>out</c> (one stream per connection). A close or failure reports the connection lost, and the runtime
/// reconnects with backoff.
/// </summary>
public sealed class WsClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "ws_client";

    /// <inheritdoc />
    public string Description =>
        "WebSocket client: events on in are sent as messages, messages received are events; reconnects when the connection is lost (keys: url, mode, max-message-size, max-queued-messages, connect-timeout, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "mode", "max-message-size", "max-queued-messages", "connect-timeout", "tls");
        var url = ConfigReading.Url(config, "url", ["ws", "wss"]);
        var settings = new WsClientSettings(
            url,
            ConfigReading.OneOf(config, "mode", "text", "text", "binary") == "binary",
            ConfigReading.PositiveInt(config, "max-message-size", 1024 * 1024, int.MaxValue - 1),
            ConfigReading.PositiveInt(config, "max-queued-messages", 1024, 1_000_000),
            ConfigReading.PositiveDuration(config, "connect-timeout", TimeSpan.FromSeconds(10)),
            ConfigReading.ClientTrust(config));
        if (settings.TrustedRoots is not null && url.Scheme != "wss")
        {
            throw new ConfigException(ConfigReading.KeyPath(config, "tls"), "tls is set but the url is not wss");
        }
        return new WsClientConnector(context.Host, settings);
    }
}

internal sealed class WsClientConnector(IPluginHost host, WsClientSettings settings) : ConnectorBase, ISource, ISink
{
    // Bounded: when the flow does not pull, the receive loop waits here and TCP pushes back on the server.
    private readonly Channel<InboundMessage> _inbound = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(settings.MaxQueuedMessages) { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private ClientWebSocket? _socket;
    // The connection's TCP socket, to ask the kernel whether the peer left (see OnBatchAsync).
    private Socket? _tcp;
    private HttpMessageInvoker? _invoker;
    private Task? _receiving;
    private ulong _stream;
    private volatile bool _stopping;

    public bool IsTransactional => false;

    /// <summary>True while a connection is open.</summary>
    internal bool IsConnected => _socket is { State: WebSocketState.Open };

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (IsConnected) return true;
        await CloseAsync().ConfigureAwait(false);
        var socket = new ClientWebSocket();
        Socket? tcp = null;
        var handler = new SocketsHttpHandler
        {
            // Our own connect, to keep the TCP socket at hand.
            ConnectCallback = async (context, token) =>
            {
                var connecting = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await connecting.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                }
                catch
                {
                    connecting.Dispose();
                    throw;
                }
                tcp = connecting;
                return new NetworkStream(connecting, ownsSocket: true);
            },
        };
        if (settings.TrustedRoots is { } roots)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ConfigReading.ValidateAgainst(roots, certificate, chain, errors);
        }
        var invoker = new HttpMessageInvoker(handler);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(settings.Url, invoker, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            invoker.Dispose();
            var why = e is OperationCanceledException ? $"no connection within {settings.ConnectTimeout.TotalSeconds:0.###}s (connect-timeout)" : e.Message;
            host.Log(PluginLogLevel.Warning, $"ws_client: cannot connect to {settings.Url} (attempt {attempt}): {why}");
            return false;
        }
        _socket = socket;
        _tcp = tcp;
        _invoker = invoker;
        var stream = ++_stream;
        _receiving = ReceiveLoopAsync(socket, stream);
        host.Log(PluginLogLevel.Info, $"ws_client connected to {settings.Url}");
        return true;
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, ulong stream)
    {
        var token = _closing.Token;
        string reason;
        try
        {
            await WebSocketMessages.ReceiveIntoAsync(socket, settings.MaxMessageSize, _inbound.Writer, stream, binary => Meta(stream, binary), host, token, token).ConfigureAwait(false);
            reason = $"{settings.Url} closed the connection ({socket.CloseStatus} {socket.CloseStatusDescription})";
            await WebSocketMessages.AnswerCloseAsync(socket, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ChannelClosedException)
        {
            reason = $"{settings.Url}: {e.Message}";
        }
        // Closed by this side (stop, dispose, a reconnect replacing it): nothing was lost.
        if (_stopping || token.IsCancellationRequested || !ReferenceEquals(socket, _socket)) return;
        try
        {
            await _inbound.Writer.WriteAsync(new InboundMessage(stream, null, false, default, 0), token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return;
        }
        host.Log(PluginLogLevel.Warning, $"ws_client lost its connection: {reason}");
        host.ConnectionLost(reason);
    }

    private Value Meta(ulong stream, bool binary)
    {
        var ws = new ValueRecord(3);
        ws.Set("stream", (long)stream);
        ws.Set("url", settings.Url.ToString());
        ws.Set("binary", binary);
        var meta = new ValueRecord(1);
        meta.Set("ws_client", Value.From(ws));
        return Value.From(meta);
    }

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken) =>
        WebSocketMessages.PullAsync(_inbound.Reader, batch, cancellationToken);

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_socket is not { State: WebSocketState.Open } socket)
        {
            var reason = $"not connected to {settings.Url}";
            host.ConnectionLost(reason);
            return SinkReply.Failed(reason);
        }
        // The receive loop may not have seen the server leave yet (it waits while the flow does not pull): messages
        // sent now would be taken by the kernel and acked, then lost.
        if (_tcp is { } before && TcpPeer.Left(before) is { } gone)
        {
            var reason = $"{settings.Url} {gone}; the batch was not sent";
            host.ConnectionLost(reason);
            return SinkReply.Failed(reason);
        }
        try
        {
            foreach (var e in batch.Events)
            {
                await socket.SendAsync(e.Payload, WebSocketMessages.TypeFor(e.Event.Meta["ws_client"]["binary"], settings.BinaryByDefault), true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            var reason = $"{settings.Url}: sending failed: {e.Message}";
            host.ConnectionLost(reason);
            return SinkReply.Failed(reason);
        }
        // A send that succeeded only means the kernel took the bytes: a server seen leaving by now may not have read
        // them, so the batch is failed back (retried after the reconnect, perhaps twice), not acked.
        if (socket.State != WebSocketState.Open || (_tcp is { } after && TcpPeer.Left(after) is not null))
        {
            var reason = $"{settings.Url} went away while the batch was sent; it may not have arrived";
            host.ConnectionLost(reason);
            return SinkReply.Failed(reason);
        }
        return SinkReply.Acked;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private async Task CloseAsync()
    {
        if (_socket is not { } socket) return;
        _socket = null;
        if (socket.State == WebSocketState.Open)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "closing", grace.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }
        socket.Abort();
        socket.Dispose();
        _tcp = null;
        _invoker?.Dispose();
        _invoker = null;
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        // Close first and cancel after: cancelling a pending receive aborts the socket instead of closing it.
        _stopping = true;
        await CloseAsync().ConfigureAwait(false);
        await _closing.CancelAsync().ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        _stopping = true;
        await CloseAsync().ConfigureAwait(false);
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_receiving is { } receiving) await receiving.ConfigureAwait(false);
        _inbound.Writer.TryComplete();
        _closing.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
