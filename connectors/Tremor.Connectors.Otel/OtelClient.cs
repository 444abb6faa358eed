using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Tremor.Connectors.Otel.Proto.Collector.Logs;
using Tremor.Connectors.Otel.Proto.Collector.Metrics;
using Tremor.Connectors.Otel.Proto.Collector.Trace;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

internal sealed record OtelClientSettings(
    Uri Url,
    Transport Protocol,
    bool Logs,
    bool Metrics,
    bool Trace,
    TimeSpan Timeout,
    bool Gzip,
    List<(string Name, string Value)> Headers);

/// <summary>
/// <c>otel_client</c>: an OTLP exporter. The events of one batch that carry the same signal go out as one export
/// request (gRPC or HTTP, protobuf or JSON); a request that fails fails its events back upstream, and a server that
/// cannot be reached opens the circuit breaker (ConnectionLost) until the client reconnects.
/// </summary>
public sealed class OtelClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "otel_client";

    /// <inheritdoc />
    public string Description =>
        "OTLP exporter (gRPC, HTTP protobuf/JSON): each batch's logs, metrics and traces one export request each (keys: url, protocol, logs, metrics, trace, timeout, compression, headers)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    /// <inheritdoc />
    public string? DefaultCodec => null;

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "protocol", "logs", "metrics", "trace", "timeout", "compression", "headers");
        var protocol = ConfigReading.OneOf(config, "protocol", "grpc", "grpc", "http/protobuf", "http/json") switch
        {
            "grpc" => Transport.Grpc,
            "http/json" => Transport.HttpJson,
            _ => Transport.HttpProtobuf,
        };
        // OTLP's default ports: 4317 for gRPC, 4318 for HTTP.
        var url = ConfigReading.Url(config, "url", protocol == Transport.Grpc ? "http://127.0.0.1:4317" : "http://127.0.0.1:4318")!;
        var settings = new OtelClientSettings(
            url,
            protocol,
            config.GetBool("logs", true),
            config.GetBool("metrics", true),
            config.GetBool("trace", true),
            ConfigReading.PositiveDuration(config, "timeout", TimeSpan.FromSeconds(10)),
            ConfigReading.OneOf(config, "compression", "none", "none", "gzip") == "gzip",
            ConfigReading.Headers(config, "headers"));
        return new OtelClientConnector(context.Host, settings);
    }
}

internal sealed class OtelClientConnector : ConnectorBase, ISink
{
    private readonly IPluginHost _host;
    private readonly OtelClientSettings _settings;
    private readonly HttpClient _http;
    private readonly GrpcChannel? _channel;
    private readonly Metadata _metadata = [];

    public OtelClientConnector(IPluginHost host, OtelClientSettings settings)
    {
        _host = host;
        _settings = settings;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = settings.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            EnableMultipleHttp2Connections = true,
        };
        _http = new HttpClient(handler, disposeHandler: settings.Protocol != Transport.Grpc) { Timeout = settings.Timeout };
        foreach (var (name, value) in settings.Headers) _metadata.Add(name.ToLowerInvariant(), value);
        if (settings.Protocol == Transport.Grpc)
        {
            _channel = GrpcChannel.ForAddress(settings.Url, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                MaxReceiveMessageSize = 16 * 1024 * 1024,
            });
        }
    }

    /// <summary>Connected when the server accepts a TCP connection.</summary>
    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken) =>
        TcpPeer.AcceptsAsync(_host, $"otel_client: {_settings.Url}", _settings.Url, _settings.Timeout, attempt, cancellationToken);

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var failed = new List<(EventId Id, string Reason)>();
        var logs = new ExportLogsServiceRequest();
        var metrics = new ExportMetricsServiceRequest();
        var trace = new ExportTraceServiceRequest();
        List<EventId> logIds = [], metricIds = [], traceIds = [];
        foreach (var e in batch.Events)
        {
            var data = e.Event.Data;
            try
            {
                if (data.AsRecord() is not { } record) throw new OtlpShapeException("event", $"expected a record with logs, metrics or trace, found {ValueToOtlp.Kind(data)}");
                // Converted first, added after: an event that is half OTLP adds nothing to the requests.
                List<Proto.Logs.ResourceLogs>? l = null;
                List<Proto.Metrics.ResourceMetrics>? m = null;
                List<Proto.Trace.ResourceSpans>? t = null;
                if (record.TryGetValue("logs", out var lv))
                {
                    if (!_settings.Logs) throw new OtlpShapeException("event.logs", "logs are turned off for this connector (logs = false)");
                    l = ValueToOtlp.Logs(lv, "event.logs");
                }
                if (record.TryGetValue("metrics", out var mv))
                {
                    if (!_settings.Metrics) throw new OtlpShapeException("event.metrics", "metrics are turned off for this connector (metrics = false)");
                    m = ValueToOtlp.Metrics(mv, "event.metrics");
                }
                if (record.TryGetValue("trace", out var tv))
                {
                    if (!_settings.Trace) throw new OtlpShapeException("event.trace", "traces are turned off for this connector (trace = false)");
                    t = ValueToOtlp.Trace(tv, "event.trace");
                }
                var matched = l is not null || m is not null || t is not null;
                if (l is not null)
                {
                    logs.ResourceLogs.AddRange(l);
                    logIds.Add(e.Id);
                }
                if (m is not null)
                {
                    metrics.ResourceMetrics.AddRange(m);
                    metricIds.Add(e.Id);
                }
                if (t is not null)
                {
                    trace.ResourceSpans.AddRange(t);
                    traceIds.Add(e.Id);
                }
                if (!matched) throw new OtlpShapeException("event", "has none of the keys logs, metrics, trace (the OTLP event shape)");
            }
            catch (OtlpShapeException x)
            {
                failed.Add((e.Id, $"event {e.Id} is not an OTLP event: {x.Message}"));
            }
        }
        string? lost = null;
        foreach (var (signal, request, ids) in new (Signal, IMessage, List<EventId>)[] { (Signal.Logs, logs, logIds), (Signal.Metrics, metrics, metricIds), (Signal.Trace, trace, traceIds) })
        {
            // An event with two signals is in two requests: a failure of either fails it (and a retry sends both again).
            var live = ids;
            if (live.Count == 0) continue;
            if (lost is not null)
            {
                failed.AddRange(live.Select(id => (id, $"not sent: {lost}")));
                continue;
            }
            var (error, connectionLost) = await ExportAsync(signal, request, cancellationToken).ConfigureAwait(false);
            if (error is null) continue;
            if (connectionLost) lost = error;
            failed.AddRange(live.Select(id => (id, error)));
        }
        if (lost is not null)
        {
            _host.Log(PluginLogLevel.Warning, $"otel_client lost its server: {lost}");
            _host.ConnectionLost(lost);
        }
        else if (failed.Count > 0)
        {
            _host.Log(PluginLogLevel.Warning, $"otel_client: {failed.Count} of {batch.Count} event(s) failed, e.g. {failed[0].Reason}");
        }
        return SinkReply.Settle(_host, batch, failed.DistinctBy(f => f.Id).ToList());
    }

    /// <summary>Sends one export request; the error (null on success) and whether the server could not be reached.</summary>
    private async Task<(string? Error, bool ConnectionLost)> ExportAsync(Signal signal, IMessage request, CancellationToken cancellationToken)
    {
        var what = $"OTLP {OtlpRequest.SignalName(signal).ToLowerInvariant()} export to {_settings.Url}";
        if (_channel is not null)
        {
            var options = new CallOptions(_metadata, DateTime.UtcNow + _settings.Timeout, cancellationToken);
            try
            {
                IMessage response = signal switch
                {
                    Signal.Logs => await new LogsService.LogsServiceClient(_channel).ExportAsync((ExportLogsServiceRequest)request, options).ConfigureAwait(false),
                    Signal.Metrics => await new MetricsService.MetricsServiceClient(_channel).ExportAsync((ExportMetricsServiceRequest)request, options).ConfigureAwait(false),
                    _ => await new TraceService.TraceServiceClient(_channel).ExportAsync((ExportTraceServiceRequest)request, options).ConfigureAwait(false),
                };
                ReportPartialSuccess(what, response);
                return (null, false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                // Unavailable with a transport error underneath: nobody answered. Unavailable from the server itself
                // (its flow failed the request) fails the events, and the connection stays.
                var unreachable = e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is HttpRequestException or IOException or SocketException;
                return ($"{what} failed: {e.StatusCode}: {e.Status.Detail}", unreachable);
            }
        }

        var path = signal switch
        {
            Signal.Logs => "v1/logs",
            Signal.Metrics => "v1/metrics",
            _ => "v1/traces",
        };
        var json = _settings.Protocol == Transport.HttpJson;
        var body = json ? System.Text.Encoding.UTF8.GetBytes(OtlpJson.Format(request)) : request.ToByteArray();
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_settings.Url, path));
        message.Content = new ByteArrayContent(_settings.Gzip ? Gzip(body) : body);
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(json ? "application/json" : "application/x-protobuf");
        if (_settings.Gzip) message.Content.Headers.ContentEncoding.Add("gzip");
        foreach (var (name, value) in _settings.Headers) message.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return (null, false);
            return ($"{what} answered {(int)response.StatusCode} {response.ReasonPhrase}: {StatusMessage(answer, json)}", false);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            return ($"{what} failed: {e.Message}", true);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e is TaskCanceledException ? $"no answer within {_settings.Timeout.TotalMilliseconds:0}ms (timeout)" : e.Message;
            return ($"{what} failed: {reason}", false);
        }
    }

    private void ReportPartialSuccess(string what, IMessage response)
    {
        var (rejected, message) = response switch
        {
            ExportLogsServiceResponse { PartialSuccess: { } p } => (p.RejectedLogRecords, p.ErrorMessage),
            ExportMetricsServiceResponse { PartialSuccess: { } p } => (p.RejectedDataPoints, p.ErrorMessage),
            ExportTraceServiceResponse { PartialSuccess: { } p } => (p.RejectedSpans, p.ErrorMessage),
            _ => (0L, ""),
        };
        // The server took the request and says some of it is invalid: sending it again would not change that.
        if (rejected > 0 || message.Length > 0) _host.Log(PluginLogLevel.Warning, $"{what}: the server rejected {rejected} item(s): {message}");
    }

    /// <summary>The google.rpc.Status an OTLP/HTTP server answers an error with, or the body as text.</summary>
    private static string StatusMessage(byte[] body, bool json)
    {
        if (body.Length == 0) return "(no body)";
        try
        {
            if (json)
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(body);
                if (node?["message"]?.GetValue<string>() is { } text) return text;
            }
            else
            {
                var input = new CodedInputStream(body);
                string? message = null;
                uint tag;
                while ((tag = input.ReadTag()) != 0)
                {
                    if (WireFormat.GetTagFieldNumber(tag) == 2 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited) message = input.ReadString();
                    else input.SkipLastField();
                }
                if (message is not null) return message;
            }
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or System.Text.Json.JsonException or InvalidOperationException)
        {
        }
        var length = Math.Min(body.Length, 512);
        return System.Text.Encoding.UTF8.GetString(body, 0, length);
    }

    private static byte[] Gzip(byte[] body)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(body);
        return output.ToArray();
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        _http.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
