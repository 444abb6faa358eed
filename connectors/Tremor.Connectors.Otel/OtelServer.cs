using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

internal sealed record OtelServerSettings(
    IPEndPoint? Grpc,
    IPEndPoint? Http,
    bool Logs,
    bool Metrics,
    bool Trace,
    long MaxBodySize,
    int MaxPendingRequests,
    TimeSpan ResponseTimeout,
    bool ReplyWhenReceived);

/// <summary>
/// <c>otel_server</c>: an OTLP receiver (gRPC and HTTP with protobuf or JSON, logs, metrics and traces). Each export
/// request is one structured event; the request is answered once the event was acked downstream (OK / 200), failed
/// (Unavailable / 503, so the exporter retries) or not settled within <c>response-timeout</c>; with
/// <c>reply = received</c> it is answered as soon as the event is queued (at most once, as Tremor's otel_server).
/// </summary>
public sealed class OtelServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "otel_server";

    /// <inheritdoc />
    public string Description =>
        "OTLP receiver (gRPC, HTTP protobuf/JSON): each export request an event, answered once delivered (keys: url, http-url, logs, metrics, trace, reply, max-body-size, max-pending-requests, response-timeout)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Source;

    /// <inheritdoc />
    public string? DefaultCodec => null;

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "http-url", "logs", "metrics", "trace", "reply", "max-body-size", "max-pending-requests", "response-timeout");
        var grpc = ConfigReading.Url(config, "url", "http://127.0.0.1:4317", canBeOff: true);
        var http = ConfigReading.Url(config, "http-url", "http://127.0.0.1:4318", canBeOff: true);
        if (grpc is null && http is null) throw new ConfigException(ConfigReading.KeyPath(config, "url"), "url (gRPC) and http-url are both off: turn one on");
        var settings = new OtelServerSettings(
            grpc is null ? null : new IPEndPoint(ConfigReading.ListenAddress(config, "url", grpc), grpc.Port),
            http is null ? null : new IPEndPoint(ConfigReading.ListenAddress(config, "http-url", http), http.Port),
            config.GetBool("logs", true),
            config.GetBool("metrics", true),
            config.GetBool("trace", true),
            ConfigReading.PositiveInt(config, "max-body-size", 8 * 1024 * 1024, int.MaxValue - 1),
            ConfigReading.PositiveInt(config, "max-pending-requests", 1024, 1_000_000),
            ConfigReading.PositiveDuration(config, "response-timeout", TimeSpan.FromSeconds(10)),
            ConfigReading.OneOf(config, "reply", "delivered", "delivered", "received") == "received");
        if (settings.Grpc is { } g && settings.Http is { } h && g.Port != 0 && g.Equals(h))
        {
            throw new ConfigException(ConfigReading.KeyPath(config, "http-url"), $"gRPC (url) and OTLP/HTTP (http-url) need a port each, both are {g}");
        }
        return new OtelServerConnector(context.Host, settings);
    }
}

/// <summary>An export request between Kestrel's handler and the flow.</summary>
internal sealed class PendingExport(ulong id, Value data, Value meta, ulong ingestNs)
{
    public ulong Id { get; } = id;
    public Value Data { get; } = data;
    public Value Meta { get; } = meta;
    public ulong IngestNs { get; } = ingestNs;

    /// <summary>Set when the handler stopped waiting (timeout, client gone): a queued request is then not emitted.</summary>
    public volatile bool Abandoned;

    /// <summary>Null when delivered; otherwise the status and reason to answer with.</summary>
    public TaskCompletionSource<OtlpRequestException?> Settled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed class OtelServerConnector : ConnectorBase, ISource
{
    private readonly IPluginHost _host;
    private readonly OtelServerSettings _settings;
    private readonly Channel<PendingExport> _queue;
    private readonly ConcurrentDictionary<ulong, PendingExport> _awaiting = new();
    private readonly CountedWarning _refused;
    private readonly CountedWarning _failed;
    private WebApplication? _app;
    private long _nextId;
    private int _pending;
    private volatile bool _closing;
    private readonly Lock _drainLock = new();

    public OtelServerConnector(IPluginHost host, OtelServerSettings settings)
    {
        _host = host;
        _settings = settings;
        _refused = new CountedWarning(host);
        _failed = new CountedWarning(host);
        _queue = Channel.CreateBounded<PendingExport>(new BoundedChannelOptions(settings.MaxPendingRequests) { SingleReader = true });
    }

    /// <summary>Where gRPC is served (the bound port when the config said 0); null before connect or when off.</summary>
    internal Uri? GrpcUrl { get; private set; }

    /// <summary>Where OTLP/HTTP is served; null before connect or when off.</summary>
    internal Uri? HttpUrl { get; private set; }

    internal long RefusedCount => _refused.Count;

    /// <summary>With <c>reply = received</c> the exporter has its answer before the flow ran: nothing waits for acks.</summary>
    public bool IsTransactional => !_settings.ReplyWhenReceived;

    /// <summary>With <c>reply = received</c> a queued export was already answered OK: a drain delivers it.</summary>
    public bool PullsWhileDraining => _settings.ReplyWhenReceived;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_app is not null) return true;
        ListenOptions? grpc = null, http = null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The handler enforces max-body-size itself (with the reason in the answer); Kestrel's cap is a backstop.
            kestrel.Limits.MaxRequestBodySize = _settings.MaxBodySize + 1;
            // gRPC is HTTP/2 only: without TLS there is no ALPN, so a port serves either HTTP/2 (prior knowledge) or
            // HTTP/1.1 and HTTP/2 by upgrade; OTLP's own convention is a port each (4317 gRPC, 4318 HTTP).
            if (_settings.Grpc is { } g) kestrel.Listen(g, listen => (grpc = listen).Protocols = HttpProtocols.Http2);
            if (_settings.Http is { } h) kestrel.Listen(h, listen => (http = listen).Protocols = HttpProtocols.Http1AndHttp2);
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            _host.Log(PluginLogLevel.Warning, $"otel_server cannot listen on {Describe()} (attempt {attempt}): {e.Message}");
            return false;
        }
        _app = app;
        // Kestrel writes the bound endpoint back into the listen options (a port 0 becomes the one the OS chose).
        if (grpc is not null) GrpcUrl = new Uri($"http://{grpc.IPEndPoint}");
        if (http is not null) HttpUrl = new Uri($"http://{http.IPEndPoint}");
        _host.Log(PluginLogLevel.Info, $"otel_server listening: gRPC {GrpcUrl?.ToString() ?? "off"}, OTLP/HTTP {HttpUrl?.ToString() ?? "off"}");
        return true;
    }

    private string Describe() => $"gRPC {_settings.Grpc?.ToString() ?? "off"}, OTLP/HTTP {_settings.Http?.ToString() ?? "off"}";

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var grpc = request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        var transport = grpc ? Transport.Grpc
            : request.ContentType is { } json && json.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ? Transport.HttpJson
            : Transport.HttpProtobuf;
        try
        {
            var signal = (grpc ? OtlpRequest.GrpcSignal(request.Path) : OtlpRequest.HttpSignal(request.Path))
                ?? throw new OtlpRequestException(GrpcStatus.Unimplemented, 404, grpc
                    ? $"no gRPC method {request.Path}; this server has the OTLP Export methods of LogsService, MetricsService and TraceService"
                    : $"no OTLP endpoint {request.Path}; POST to /v1/logs, /v1/metrics or /v1/traces");
            if (!Enabled(signal)) throw new OtlpRequestException(GrpcStatus.Unimplemented, 404, $"{OtlpRequest.SignalName(signal).ToLowerInvariant()} are turned off on this server");
            if (grpc && !HttpProtocol.IsHttp2(request.Protocol))
            {
                throw new OtlpRequestException(GrpcStatus.InvalidArgument, 400, $"gRPC needs HTTP/2 ({request.Protocol} came): send OTLP/gRPC to url, OTLP/HTTP to http-url");
            }
            if (!HttpMethods.IsPost(request.Method)) throw new OtlpRequestException(GrpcStatus.Unimplemented, 405, $"OTLP export requests are POSTs, found {request.Method}");
            if (!grpc && request.ContentType is { } ct && !ct.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) && transport != Transport.HttpJson)
            {
                throw new OtlpRequestException(GrpcStatus.InvalidArgument, 415, $"content-type '{ct}' is neither application/x-protobuf nor application/json");
            }
            if (_closing) throw new OtlpRequestException(GrpcStatus.Unavailable, 503, "the server is shutting down");

            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            var message = grpc ? OtlpRequest.UnframeGrpc(body, request.Headers["grpc-encoding"], _settings.MaxBodySize)
                : string.Equals(request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase) ? OtlpRequest.Gunzip(body, _settings.MaxBodySize)
                : body;
            var data = OtlpRequest.Decode(signal, transport, message);
            var failure = await EmitAndWaitAsync(context, data, transport).ConfigureAwait(false);
            if (failure is not null) throw failure;
            await AnswerSuccessAsync(context, signal, transport).ConfigureAwait(false);
        }
        catch (OtlpRequestException e)
        {
            if (e.Status is GrpcStatus.Unavailable) _failed.Add(1, n => $"otel_server: {request.Path}: {e.Message}; answered {(grpc ? "Unavailable" : "503")} ({n} so far)");
            else _refused.Add(1, n => $"otel_server: {request.Path} from {context.Connection.RemoteIpAddress}: {e.Message}; refused ({n} so far)");
            await AnswerErrorAsync(context, e, transport).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private bool Enabled(Signal signal) => signal switch
    {
        Signal.Logs => _settings.Logs,
        Signal.Metrics => _settings.Metrics,
        _ => _settings.Trace,
    };

    private async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var max = _settings.MaxBodySize;
        if (context.Request.ContentLength is { } declared && declared > max) throw TooLarge(declared);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                if (read == 0) return buffer.ToArray();
                if (buffer.Length + read > max) throw TooLarge(buffer.Length + read);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(max + 1);
        }
    }

    private OtlpRequestException TooLarge(long seen) =>
        new(GrpcStatus.ResourceExhausted, 413, $"the body of {seen}+ bytes is larger than max-body-size ({_settings.MaxBodySize} bytes)");

    /// <summary>Queues the event and waits for its settlement (with <c>reply = received</c> only queues it); null when it was delivered.</summary>
    private async Task<OtlpRequestException?> EmitAndWaitAsync(HttpContext context, Value data, Transport transport)
    {
        if (Interlocked.Increment(ref _pending) > _settings.MaxPendingRequests)
        {
            Interlocked.Decrement(ref _pending);
            return Overloaded();
        }
        try
        {
            var id = (ulong)Interlocked.Increment(ref _nextId);
            var export = new PendingExport(id, data, Meta(context, transport), _host.NowNs());
            if (_settings.ReplyWhenReceived)
            {
                // Answered OK once queued, so queued means delivered at a drain: nothing joins the queue after it began.
                lock (_drainLock)
                {
                    if (_closing) return new OtlpRequestException(GrpcStatus.Unavailable, 503, "the server is shutting down");
                    return _queue.Writer.TryWrite(export) ? null : Overloaded();
                }
            }
            _awaiting[id] = export;
            if (!_queue.Writer.TryWrite(export))
            {
                _awaiting.TryRemove(id, out _);
                return Overloaded();
            }
            try
            {
                return await export.Settled.Task.WaitAsync(_settings.ResponseTimeout, context.RequestAborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                export.Abandoned = true;
                return new OtlpRequestException(GrpcStatus.Unavailable, 503, $"the flow did not settle the request within {_settings.ResponseTimeout.TotalMilliseconds:0}ms (response-timeout); retry");
            }
            catch (OperationCanceledException)
            {
                export.Abandoned = true;
                throw;
            }
            finally
            {
                _awaiting.TryRemove(id, out _);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private OtlpRequestException Overloaded() =>
        new(GrpcStatus.Unavailable, 503, $"overloaded: {_settings.MaxPendingRequests} requests wait for the flow (max-pending-requests); retry");

    private static Value Meta(HttpContext context, Transport transport)
    {
        var peer = new ValueRecord(2);
        peer.Set("host", context.Connection.RemoteIpAddress?.ToString());
        peer.Set("port", context.Connection.RemotePort);
        var server = new ValueRecord(2);
        server.Set("protocol", transport switch
        {
            Transport.Grpc => "grpc",
            Transport.HttpJson => "http/json",
            _ => "http/protobuf",
        });
        server.Set("peer", Value.From(peer));
        var meta = new ValueRecord(1);
        meta.Set("otel_server", Value.From(server));
        return Value.From(meta);
    }

    private static async Task AnswerSuccessAsync(HttpContext context, Signal signal, Transport transport)
    {
        var response = OtlpRequest.Success(signal);
        var r = context.Response;
        r.StatusCode = 200;
        switch (transport)
        {
            case Transport.Grpc:
                r.ContentType = "application/grpc";
                await r.Body.WriteAsync(OtlpRequest.FrameGrpc(response), context.RequestAborted).ConfigureAwait(false);
                r.AppendTrailer("grpc-status", "0");
                break;
            case Transport.HttpJson:
                r.ContentType = "application/json";
                await r.WriteAsync(OtlpJson.Format(response), context.RequestAborted).ConfigureAwait(false);
                break;
            default:
                r.ContentType = "application/x-protobuf";
                await r.Body.WriteAsync(response.ToByteArray(), context.RequestAborted).ConfigureAwait(false);
                break;
        }
    }

    private static async Task AnswerErrorAsync(HttpContext context, OtlpRequestException e, Transport transport)
    {
        var r = context.Response;
        if (r.HasStarted) return;
        try
        {
            if (transport == Transport.Grpc)
            {
                // A trailers-only answer: the status goes in the headers of a 200 with no body, as gRPC's protocol says.
                r.StatusCode = 200;
                r.ContentType = "application/grpc";
                r.Headers["grpc-status"] = ((int)e.Status).ToString(System.Globalization.CultureInfo.InvariantCulture);
                r.Headers["grpc-message"] = OtlpRequest.PercentEncode(e.Message);
                return;
            }
            var json = transport == Transport.HttpJson;
            r.StatusCode = e.HttpStatus;
            r.ContentType = json ? "application/json" : "application/x-protobuf";
            if (e.HttpStatus == 503) r.Headers.RetryAfter = "1";
            await r.Body.WriteAsync(OtlpRequest.StatusBody(e.Status, e.Message, json), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Each request is a stream of its own, so its ack names it.
            while (!batch.IsFull && _queue.Reader.TryRead(out var export))
            {
                if (export.Abandoned) continue;
                batch.AddStructured(export.Data, export.Id, export.IngestNs, export.Meta);
            }
            if (batch.Count > 0) return PullStatus.Data;
            // Draining: nothing new is accepted, so an empty queue is the end of what there is to hand over.
            if (_closing) return PullStatus.Empty;
            if (await PullWait.ForInputAsync(_queue.Reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_awaiting.TryGetValue(streamId, out var export)) export.Settled.TrySetResult(null);
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (_awaiting.TryGetValue(streamId, out var export))
        {
            export.Settled.TrySetResult(new OtlpRequestException(GrpcStatus.Unavailable, 503, "the request's event failed in the flow; retry"));
        }
    }

    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        // New requests get Unavailable. Queued ones will never be pulled (unless they were answered already, with
        // reply = received: those are pulled until the queue is empty): answer them now so their exporters retry.
        lock (_drainLock) _closing = true;
        while (!_settings.ReplyWhenReceived && _queue.Reader.TryRead(out var export))
        {
            export.Settled.TrySetResult(new OtlpRequestException(GrpcStatus.Unavailable, 503, "the server is shutting down"));
        }
        return ValueTask.CompletedTask;
    }

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        await OnDrainAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (_, export) in _awaiting) export.Settled.TrySetResult(new OtlpRequestException(GrpcStatus.Unavailable, 503, "the server is shutting down"));
        await StopServerAsync().ConfigureAwait(false);
        _refused.Flush(n => $"otel_server: {n} request(s) in all refused (malformed or not OTLP)");
        _failed.Flush(n => $"otel_server: {n} request(s) in all answered Unavailable/503 (failed, timed out or overloaded)");
    }

    private async Task StopServerAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await app.StopAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await app.DisposeAsync().ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        _closing = true;
        _queue.Writer.TryComplete();
        foreach (var (_, export) in _awaiting) export.Settled.TrySetResult(new OtlpRequestException(GrpcStatus.Unavailable, 503, "the server is shutting down"));
        await StopServerAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
