using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

internal sealed record WsServerSettings(ListenSettings Listen, bool BinaryByDefault, int MaxMessageSize, int MaxQueuedMessages);

/// <summary>
/// <c>ws_server</c>: a WebSocket server; each connection a stream, each message (text or binary) one chunk with meta
/// <c>ws_server.{stream, peer, path, binary}</c>; an event on <c>in</c> goes to the connection its meta
/// <c>ws_server.stream</c> names.
/// </summary>
public sealed class WsServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "ws_server";

    /// <inheritdoc />
    /// <remarks>Replies go to the connection named there.</remarks>
    public IReadOnlyList<string>? SinkStreamMeta { get; } = ["ws_server", "stream"];

    /// <inheritdoc />
    public string Description =>
        "WebSocket server: one stream per connection, each message an event; events on in go to the connection their meta names (keys: url, mode, max-message-size, max-queued-messages, max-connections, idle-timeout, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "mode", "max-message-size", "max-queued-messages", "max-connections", "idle-timeout", "tls");
        var url = ConfigReading.Url(config, "url", ["ws", "wss"]);
        var listen = HttpServerFactory.ServerSettings(config, url);
        var settings = new WsServerSettings(
            listen,
            ConfigReading.OneOf(config, "mode", "text", "text", "binary") == "binary",
            ConfigReading.PositiveInt(config, "max-message-size", 1024 * 1024, int.MaxValue - 1),
            ConfigReading.PositiveInt(config, "max-queued-messages", 1024, 1_000_000));
        return new WsServerConnector(context.Host, settings);
    }
}

internal sealed class WsServerConnector : ConnectorBase, ISource, ISink
{
    private readonly IPluginHost _host;
    private readonly WsServerSettings _settings;
    private readonly Channel<InboundMessage> _inbound;
    private readonly ConcurrentDictionary<ulong, WebSocket> _connections = new();
    private readonly CancellationTokenSource _closing = new();
    private KestrelServer? _server;
    private volatile bool _draining;
    private long _nextStream;
    private long _unroutable;

    public WsServerConnector(IPluginHost host, WsServerSettings settings)
    {
        _host = host;
        _settings = settings;
        // Bounded: when the flow does not pull, receive loops wait here and TCP pushes back on the peers.
        _inbound = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(settings.MaxQueuedMessages) { SingleReader = true });
    }

    internal Uri? BoundUrl => _server?.BoundUrl;

    internal long UnroutableCount => Interlocked.Read(ref _unroutable);

    public bool IsTransactional => false;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_server is not null) return true;
        var listen = _settings.Listen;
        _server = await KestrelServer.StartAsync(listen, webSockets: true, HandleAsync, cancellationToken).ConfigureAwait(false);
        var bound = new UriBuilder(_server.BoundUrl) { Scheme = listen.Certificate is null ? "ws" : "wss" }.Uri;
        _host.Log(PluginLogLevel.Info, $"ws_server listening on {bound}");
        return true;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 426;
            context.Response.Headers.Upgrade = "websocket";
            await context.Response.WriteAsync("ws_server: this is a WebSocket endpoint; connect with a WebSocket client (ws:// or wss://)\n").ConfigureAwait(false);
            return;
        }
        if (_draining || _closing.IsCancellationRequested)
        {
            context.Response.StatusCode = 503;
            await context.Response.WriteAsync("ws_server: the connector is draining or stopping; new connections are refused\n").ConfigureAwait(false);
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var stream = (ulong)Interlocked.Increment(ref _nextStream);
        _connections[stream] = socket;
        var peer = HttpMeta.Peer(context.Connection.RemoteIpAddress, context.Connection.RemotePort);
        var path = context.Request.Path.Value ?? "/";
        // Receives are not cancelled on stop (a cancelled receive aborts the socket): stop sends a close instead, and the
        // peer's answer ends this loop. Only a wait for room in the queue is cancelled.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, context.RequestAborted);
        try
        {
            await WebSocketMessages.ReceiveIntoAsync(
                socket, _settings.MaxMessageSize, _inbound.Writer, stream, binary => Meta(stream, peer, path, binary), _host, context.RequestAborted, stop.Token).ConfigureAwait(false);
            await WebSocketMessages.AnswerCloseAsync(socket, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ChannelClosedException)
        {
            if (e is WebSocketException)
            {
                var upgraded = UpgradedStream.Of(context);
                var why = upgraded?.SentCloseStatus switch
                {
                    (int)WebSocketCloseStatus.InvalidPayloadData => "a text message that is not valid UTF-8 (send binary messages for arbitrary bytes); connection closed with 1007",
                    (int)WebSocketCloseStatus.ProtocolError => "a frame that breaks the WebSocket protocol; connection closed with 1002",
                    _ => e.Message,
                };
                _host.Log(PluginLogLevel.Warning, $"ws_server connection {stream} from {peer["host"]}:{peer["port"]}: {why}");
                // The close is on its way: let the peer read it and answer rather than reset the connection under it.
                if (upgraded is not null) await upgraded.CloseAfterPeerAsync(CloseGrace).ConfigureAwait(false);
            }
        }
        finally
        {
            _connections.TryRemove(stream, out _);
            // After the stream's messages; while shutting down nobody pulls any more and the end does not matter.
            try
            {
                await _inbound.Writer.WriteAsync(new InboundMessage(stream, null, false, default, 0), _closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
            }
        }
    }

    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private static Value Meta(ulong stream, Value peer, string path, bool binary)
    {
        var ws = new ValueRecord(4);
        ws.Set("stream", (long)stream);
        ws.Set("peer", peer);
        ws.Set("path", path);
        ws.Set("binary", binary);
        var meta = new ValueRecord(1);
        meta.Set("ws_server", Value.From(ws));
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
        foreach (var e in batch.Events)
        {
            var meta = e.Event.Meta["ws_server"];
            if (!meta["stream"].TryGetI64(out var stream) || !_connections.TryGetValue((ulong)stream, out var socket) || socket.State != WebSocketState.Open)
            {
                Interlocked.Increment(ref _unroutable);
                _host.Log(PluginLogLevel.Warning, $"event {e.Id}: meta ws_server.stream {meta["stream"]} names no open connection; dropped");
                continue;
            }
            try
            {
                // One call at a time into the connector, so sends on one socket never overlap.
                await socket.SendAsync(e.Payload, WebSocketMessages.TypeFor(meta["binary"], _settings.BinaryByDefault), true, cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException error)
            {
                Interlocked.Increment(ref _unroutable);
                _host.Log(PluginLogLevel.Warning, $"event {e.Id}: connection {stream} failed while sending: {error.Message}; dropped");
            }
        }
        return SinkReply.Acked;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>New connections are refused (503); open ones stay, so the flow can still send to them until stop.</summary>
    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        await CloseConnectionsAsync().ConfigureAwait(false);
        if (_server is { } server) await server.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    /// <summary>Tells every peer the server is going away (1001); their close answers end the receive loops.</summary>
    private async Task CloseConnectionsAsync()
    {
        _draining = true;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        foreach (var (_, socket) in _connections)
        {
            if (socket.State != WebSocketState.Open) continue;
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "the server is shutting down", grace.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        await _closing.CancelAsync().ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseConnectionsAsync().ConfigureAwait(false);
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
        _inbound.Writer.TryComplete();
        _closing.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
