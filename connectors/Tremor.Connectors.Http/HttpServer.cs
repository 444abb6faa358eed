using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

/// <summary>How http_server answers a request.</summary>
internal enum ReplyMode
{
    /// <summary>The request waits for an event on the connector's <c>in</c> port naming its request_id.</summary>
    Pipeline,
    /// <summary>202 Accepted at once; the event still goes out, nothing waits for a reply.</summary>
    Accepted,
    /// <summary>
    /// 200 once every sink the request's event reached acknowledged it (a <c>wal</c>: once it is on disk), 500 when
    /// it failed: a client that got a 2xx knows its data is kept.
    /// </summary>
    Acknowledged,
}

internal sealed record HttpServerSettings(ListenSettings Listen, ReplyMode Reply, TimeSpan ResponseTimeout, int MaxPendingRequests);

/// <summary>
/// <c>http_server</c>: Kestrel in front of a bounded queue. Each request is one event on its own stream (the request
/// id); the response is the event that comes back to the connector's <c>in</c> port with meta
/// <c>http_server.request_id</c>, or 503 after <c>response-timeout</c>.
/// </summary>
public sealed class HttpServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "http_server";

    /// <inheritdoc />
    public string Description =>
        "HTTP(S) server: each request an event, answered by the event sent back to its in port (keys: url, reply, response-timeout, max-body-size, max-connections, idle-timeout, max-pending-requests, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "reply", "response-timeout", "max-body-size", "max-connections", "idle-timeout", "max-pending-requests", "tls");
        var url = ConfigReading.Url(config, "url", ["http", "https"]);
        var settings = new HttpServerSettings(
            ServerSettings(config, url),
            ConfigReading.OneOf(config, "reply", "pipeline", "pipeline", "accepted", "ack") switch
            {
                "accepted" => ReplyMode.Accepted,
                "ack" => ReplyMode.Acknowledged,
                _ => ReplyMode.Pipeline,
            },
            ConfigReading.PositiveDuration(config, "response-timeout", TimeSpan.FromSeconds(10)),
            ConfigReading.PositiveInt(config, "max-pending-requests", 1024, 1_000_000));
        return new HttpServerConnector(context.Host, settings);
    }

    /// <summary>The keys http_server and ws_server share: url host and port, tls, max-body-size, max-connections, idle-timeout.</summary>
    internal static ListenSettings ServerSettings(PluginConfig config, Uri url)
    {
        var address = ConfigReading.ListenAddress(config, "url", url);
        var certificate = ConfigReading.ServerCertificate(config, url.Scheme is "https" or "wss");
        int? maxConnections = config.Has("max-connections") ? ConfigReading.PositiveInt(config, "max-connections", 0) : null;
        return new ListenSettings(
            address,
            url.Port,
            certificate,
            maxConnections,
            ConfigReading.PositiveDuration(config, "idle-timeout", TimeSpan.FromSeconds(130)),
            ConfigReading.PositiveInt(config, "max-body-size", 1024 * 1024, int.MaxValue - 1));
    }
}

/// <summary>A request between Kestrel's handler and the flow.</summary>
internal sealed class PendingRequest(ulong id, byte[] body, Value meta, ulong ingestNs)
{
    public ulong Id { get; } = id;
    public byte[] Body { get; } = body;
    public Value Meta { get; } = meta;
    public ulong IngestNs { get; } = ingestNs;

    /// <summary>Set when the handler stopped waiting (timeout, client gone): a queued request is then not emitted.</summary>
    public volatile bool Abandoned;

    public TaskCompletionSource<HttpReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What a request is answered with.</summary>
internal sealed record HttpReply(int Status, List<(string Name, string[] Values)>? Headers, ReadOnlyMemory<byte> Body)
{
    public static HttpReply Text(int status, string text) =>
        new(status, [("content-type", ["text/plain; charset=utf-8"])], Encoding.UTF8.GetBytes(text + "\n"));
}

internal sealed class HttpServerConnector : ConnectorBase, ISource, ISink
{
    private readonly IPluginHost _host;
    private readonly HttpServerSettings _settings;
    private readonly Channel<PendingRequest> _queue;
    private readonly ConcurrentDictionary<ulong, PendingRequest> _awaiting = new();
    private KestrelServer? _server;
    private long _nextRequestId;
    private int _pending;
    private volatile bool _closing;
    private long _unroutable;
    // Each counted and logged with its running total, at most a line per interval: a flood of bad requests cannot
    // flood the log, and the count is never lost.
    private readonly CountedWarning _tooLarge;
    private readonly CountedWarning _overloaded;
    private readonly CountedWarning _timedOut;
    private readonly CountedWarning _undecodable;

    public HttpServerConnector(IPluginHost host, HttpServerSettings settings)
    {
        _host = host;
        _settings = settings;
        _tooLarge = new CountedWarning(host);
        _overloaded = new CountedWarning(host);
        _timedOut = new CountedWarning(host);
        _undecodable = new CountedWarning(host);
        _queue = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(settings.MaxPendingRequests)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Where the server listens (the bound port when the config said 0); null before connect.</summary>
    internal Uri? BoundUrl => _server?.BoundUrl;

    internal long TooLargeCount => _tooLarge.Count;
    internal long OverloadedCount => _overloaded.Count;
    internal long TimedOutCount => _timedOut.Count;
    internal long UndecodableCount => _undecodable.Count;
    internal long UnroutableCount => Interlocked.Read(ref _unroutable);

    public bool IsTransactional => true;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_server is not null) return true;
        _server = await KestrelServer.StartAsync(_settings.Listen, webSockets: false, HandleAsync, cancellationToken).ConfigureAwait(false);
        _host.Log(PluginLogLevel.Info, $"http_server listening on {_server.BoundUrl}");
        return true;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (_closing)
        {
            await WriteAsync(context, HttpReply.Text(503, "the server is shutting down")).ConfigureAwait(false);
            return;
        }
        if (Interlocked.Increment(ref _pending) > _settings.MaxPendingRequests)
        {
            Interlocked.Decrement(ref _pending);
            await Overloaded(context).ConfigureAwait(false);
            return;
        }
        try
        {
            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            if (body is null) return;
            var id = (ulong)Interlocked.Increment(ref _nextRequestId);
            var request = new PendingRequest(id, body, RequestMeta(context, id), _host.NowNs());
            if (_settings.Reply == ReplyMode.Accepted)
            {
                if (_queue.Writer.TryWrite(request)) context.Response.StatusCode = 202;
                else await Overloaded(context).ConfigureAwait(false);
                return;
            }

            _awaiting[id] = request;
            if (!_queue.Writer.TryWrite(request))
            {
                _awaiting.TryRemove(id, out _);
                await Overloaded(context).ConfigureAwait(false);
                return;
            }
            HttpReply reply;
            try
            {
                reply = await request.Reply.Task.WaitAsync(_settings.ResponseTimeout, context.RequestAborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                request.Abandoned = true;
                var what = $"request {id} ({context.Request.Method} {context.Request.Path})";
                _timedOut.Add(1, n => $"{what} got no response within {_settings.ResponseTimeout.TotalMilliseconds:0}ms (response-timeout); answered 503 ({n} so far)");
                reply = HttpReply.Text(503, $"no response from the flow within {_settings.ResponseTimeout.TotalMilliseconds:0}ms");
            }
            catch (OperationCanceledException)
            {
                request.Abandoned = true;
                return;
            }
            finally
            {
                _awaiting.TryRemove(id, out _);
            }
            await WriteAsync(context, reply).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private Task Overloaded(HttpContext context)
    {
        _overloaded.Add(1, n => $"{_settings.MaxPendingRequests} requests wait for the flow (max-pending-requests); answered 503 ({n} so far)");
        return WriteAsync(context, HttpReply.Text(503, $"overloaded: {_settings.MaxPendingRequests} requests are waiting for the flow"));
    }

    /// <summary>The whole body, or null after answering 413 when it is larger than max-body-size.</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        var max = _settings.Listen.MaxBodySize;
        var declared = context.Request.ContentLength;
        if (declared is { } length && length > max) return await TooLarge(context, length, bodyRead: false).ConfigureAwait(false);
        try
        {
            if (declared is { } exact)
            {
                // The usual case: one allocation of the right size, which the event's chunk then borrows.
                var body = exact == 0 ? [] : new byte[exact];
                var filled = 0;
                while (filled < body.Length)
                {
                    var read = await context.Request.Body.ReadAsync(body.AsMemory(filled), context.RequestAborted).ConfigureAwait(false);
                    if (read == 0) break;
                    filled += read;
                }
                return filled == body.Length ? body : body[..filled];
            }
            // A body without content-length is found too large only while it arrives. Reading on past the limit (to
            // DrainBytes more) lets the 413 go out after the client's last chunk: closing a connection with request
            // bytes still arriving makes the kernel reset it, and the client then loses the 413 it had not read yet.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max + DrainBytes;
            return await ReadChunkedAsync(context, max).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return await TooLarge(context, max + 1, bodyRead: false).ConfigureAwait(false);
        }
    }

    /// <summary>A body without content-length: read through a pooled buffer, stopping at max-body-size.</summary>
    private async Task<byte[]?> ReadChunkedAsync(HttpContext context, long max)
    {
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                if (read == 0) return buffer.ToArray();
                if (buffer.Length + read > max)
                {
                    var (seen, ended) = await DrainAsync(context, chunk, buffer.Length + read).ConfigureAwait(false);
                    return await TooLarge(context, seen, bodyRead: ended).ConfigureAwait(false);
                }
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>How much of a too-large body without content-length is read and dropped before the 413.</summary>
    private const long DrainBytes = 1 << 20;

    /// <summary>Reads and drops the rest of a too-large body, up to <see cref="DrainBytes"/>: the bytes seen in all, and
    /// whether the body ended within the bound.</summary>
    private static async Task<(long Seen, bool Ended)> DrainAsync(HttpContext context, byte[] chunk, long seen)
    {
        try
        {
            var until = seen + DrainBytes;
            while (seen < until)
            {
                var read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                if (read == 0) return (seen, true);
                seen += read;
            }
        }
        catch (BadHttpRequestException)
        {
            // Past the drain's bound too (Kestrel's own cap).
        }
        return (seen, false);
    }

    /// <summary>Answers 413. Unless the whole body was read, the answer says <c>connection: close</c>: the rest of the body
    /// is never read, so the connection cannot carry another request, and a client that pooled it would send its next
    /// request into a connection the server is closing.</summary>
    private async Task<byte[]?> TooLarge(HttpContext context, long seen, bool bodyRead)
    {
        if (!bodyRead) context.Response.Headers.Connection = "close";
        var what = $"{context.Request.Method} {context.Request.Path} from {context.Connection.RemoteIpAddress}";
        _tooLarge.Add(1, n => $"{what}: body of {seen}+ bytes is over max-body-size ({_settings.Listen.MaxBodySize}); answered 413, not emitted ({n} so far)");
        await WriteAsync(context, HttpReply.Text(413, $"the body is larger than {_settings.Listen.MaxBodySize} bytes")).ConfigureAwait(false);
        return null;
    }

    private static Value RequestMeta(HttpContext context, ulong id)
    {
        var r = context.Request;
        var request = new ValueRecord(8);
        request.Set("method", r.Method);
        request.Set("path", r.Path.Value ?? "/");
        request.Set("query", r.QueryString.HasValue ? r.QueryString.Value!.TrimStart('?') : string.Empty);
        request.Set("url", $"{r.Scheme}://{r.Host}{r.PathBase}{r.Path}{r.QueryString}");
        request.Set("protocol", r.Protocol);
        request.Set("headers", HttpMeta.Headers(r.Headers));
        request.Set("peer", HttpMeta.Peer(context.Connection.RemoteIpAddress, context.Connection.RemotePort));
        var server = new ValueRecord(2);
        server.Set("request", Value.From(request));
        server.Set("request_id", (long)id);
        var meta = new ValueRecord(1);
        meta.Set("http_server", Value.From(server));
        return Value.From(meta);
    }

    private async Task WriteAsync(HttpContext context, HttpReply reply)
    {
        if (context.Response.HasStarted) return;
        try
        {
            context.Response.StatusCode = reply.Status;
            if (reply.Headers is { } headers)
            {
                foreach (var (name, values) in headers) context.Response.Headers.Append(name, values);
            }
            context.Response.ContentLength = reply.Body.Length;
            await context.Response.Body.WriteAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            // A header Kestrel refuses (bad characters, a content-length that does not match).
            _host.Log(PluginLogLevel.Warning, $"response to {context.Request.Method} {context.Request.Path} is invalid: {e.Message}; answered 500");
            if (!context.Response.HasStarted)
            {
                context.Response.Headers.Clear();
                context.Response.StatusCode = 500;
                context.Response.ContentLength = null;
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Each request is a stream of its own: its chunk, then its end (so no preprocessor state outlives it).
            while ((batch.Count == 0 || batch.Count + 2 <= batch.Capacity) && _queue.Reader.TryRead(out var request))
            {
                if (request.Abandoned) continue;
                // A request without a body (a GET) is the event null: no codec could make anything of no bytes.
                // Otherwise the body, read into an array of its own that nothing changes again: decoding may keep slices of it.
                if (request.Body.Length == 0) batch.AddStructured(Value.Null, request.Id, request.IngestNs, request.Meta);
                else batch.AddImmutable(request.Body, request.Id, request.IngestNs, request.Meta);
                batch.EndStream(request.Id);
            }
            if (batch.Count > 0) return PullStatus.Data;
            // Waits for the next request; the runtime cuts the wait short when responses arrive (see SinkTurns).
            var reader = _queue.Reader;
            if (!await SinkTurns.WaitAsync(reader.WaitToReadAsync, cancellationToken).ConfigureAwait(false))
            {
                return PullStatus.Empty;
            }
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_settings.Reply == ReplyMode.Acknowledged && _awaiting.TryGetValue(streamId, out var request))
        {
            request.Reply.TrySetResult(HttpReply.Text(200, ""));
        }
    }

    /// <summary>The body could not be decoded (it went to err): the client's input was bad, answered 400 with the reason.</summary>
    public void Reject(ulong streamId, ulong pullId, string reason)
    {
        if (!_awaiting.TryGetValue(streamId, out var request)) return;
        _undecodable.Add(1, n => $"request {streamId}: the body could not be decoded ({reason}); answered 400 ({n} so far)");
        request.Reply.TrySetResult(HttpReply.Text(400, $"the request body could not be decoded: {reason}"));
    }

    /// <summary>The request's event failed in the flow: answer 500 rather than let the client wait for the timeout.</summary>
    public void Fail(ulong streamId, ulong pullId)
    {
        if (_awaiting.TryGetValue(streamId, out var request))
        {
            request.Reply.TrySetResult(HttpReply.Text(500, "the request's event failed in the flow"));
        }
    }

    public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        foreach (var e in batch.Events)
        {
            var meta = e.Event.Meta["http_server"];
            var idValue = meta["request_id"];
            ulong id;
            if (idValue.TryGetI64(out var signed) && signed > 0) id = (ulong)signed;
            else if (!idValue.TryGetU64(out id))
            {
                Interlocked.Increment(ref _unroutable);
                _host.Log(PluginLogLevel.Warning, $"event {e.Id} has no meta http_server.request_id; it answers no request and is dropped");
                continue;
            }
            if (!_awaiting.TryGetValue(id, out var request))
            {
                Interlocked.Increment(ref _unroutable);
                _host.Log(_settings.Reply == ReplyMode.Accepted ? PluginLogLevel.Debug : PluginLogLevel.Warning,
                    $"request {id} is no longer waiting (answered, timed out or the client left); event {e.Id} dropped");
                continue;
            }
            var response = meta["response"];
            var status = HttpMeta.Status(response["status"], 200, out var statusError);
            var headers = HttpMeta.ReadHeaders(response["headers"], out var headersError);
            if ((statusError ?? headersError) is { } error)
            {
                _host.Log(PluginLogLevel.Warning, $"request {id}: meta http_server.response: {error}; answered 500");
                request.Reply.TrySetResult(HttpReply.Text(500, $"the flow's response was invalid: {error}"));
                continue;
            }
            // The payload is lent for this call only.
            request.Reply.TrySetResult(new HttpReply(status, headers, e.Payload.ToArray()));
        }
        return ValueTask.FromResult(SinkReply.Acked);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        // New requests get 503; queued ones will never be pulled: answer them now. Requests already in the flow keep
        // waiting for their response until stop.
        _closing = true;
        while (_queue.Reader.TryRead(out var request))
        {
            request.Reply.TrySetResult(HttpReply.Text(503, "the server is shutting down"));
        }
        return ValueTask.CompletedTask;
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        await OnDrainAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (_, request) in _awaiting) request.Reply.TrySetResult(HttpReply.Text(503, "the server is shutting down"));
        if (_server is { } server) await server.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _tooLarge.Flush(n => $"http_server: {n} request(s) in all answered 413 (body over max-body-size)");
        _overloaded.Flush(n => $"http_server: {n} request(s) in all answered 503 (max-pending-requests)");
        _timedOut.Flush(n => $"http_server: {n} request(s) in all answered 503 (response-timeout)");
        _undecodable.Flush(n => $"http_server: {n} request(s) in all answered 400 (body could not be decoded)");
    }

    public override async ValueTask DisposeAsync()
    {
        _closing = true;
        _queue.Writer.TryComplete();
        foreach (var (_, request) in _awaiting) request.Reply.TrySetResult(HttpReply.Text(503, "the server is shutting down"));
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
