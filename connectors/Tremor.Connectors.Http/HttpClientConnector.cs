using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

internal sealed record HttpClientSettings(
    Uri Url,
    HttpMethod Method,
    List<(string Name, string[] Values)> Headers,
    TimeSpan Timeout,
    int Concurrency,
    bool FailOnStatus,
    int MaxQueuedResponses,
    int MaxResponseSize,
    X509Certificate2Collection? TrustedRoots);

/// <summary>
/// <c>http_client</c>: each event on <c>in</c> becomes a request (config <c>url</c>/<c>method</c>/<c>headers</c>,
/// overridden per event by meta <c>http_client.request.*</c>); each response an event on <c>out</c> with its status and
/// headers and the request's <c>correlation</c> meta.
/// </summary>
public sealed class HttpClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "http_client";

    /// <inheritdoc />
    public string Description =>
        "HTTP(S) client: each event a request, each response an event (keys: url, method, headers, timeout, concurrency, fail-on-status, max-queued-responses, max-response-size, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "method", "headers", "timeout", "concurrency", "fail-on-status", "max-queued-responses", "max-response-size", "tls");
        var url = ConfigReading.Url(config, "url", ["http", "https"]);
        var method = Method(config.GetString("method", "POST")) ?? throw new ConfigException(ConfigReading.KeyPath(config, "method"), $"'{config.GetString("method")}' is not an HTTP method");
        var headers = HttpMeta.ReadHeaders(config.Has("headers") ? Value.From(config.GetSection("headers").Raw) : default, out var headersError) ?? [];
        if (headersError is not null) throw new ConfigException(ConfigReading.KeyPath(config, "headers"), headersError);
        var settings = new HttpClientSettings(
            url,
            method,
            headers,
            ConfigReading.PositiveDuration(config, "timeout", TimeSpan.FromSeconds(30)),
            ConfigReading.PositiveInt(config, "concurrency", 4, 1024),
            config.GetBool("fail-on-status", false),
            ConfigReading.PositiveInt(config, "max-queued-responses", 1024, 1_000_000),
            ConfigReading.PositiveInt(config, "max-response-size", 16 * 1024 * 1024),
            ConfigReading.ClientTrust(config));
        if (settings.TrustedRoots is not null && url.Scheme != "https")
        {
            throw new ConfigException(ConfigReading.KeyPath(config, "tls"), "tls is set but the url is not https");
        }
        return new HttpClientConnector(context.Host, settings);
    }

    internal static HttpMethod? Method(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetter(c) || c == '-') ? HttpMethod.Parse(text.ToUpperInvariant()) : null;
}

internal sealed class HttpClientConnector : ConnectorBase, ISource, ISink
{
    private readonly IPluginHost _host;
    private readonly HttpClientSettings _settings;
    private readonly HttpClient _client;
    private readonly Channel<(byte[] Body, Value Meta, ulong IngestNs)> _responses = Channel.CreateUnbounded<(byte[], Value, ulong)>(new UnboundedChannelOptions { SingleReader = true });
    private int _queued;
    private ulong _nextStream;
    private volatile bool _requestsEnded;

    public HttpClientConnector(IPluginHost host, HttpClientSettings settings)
    {
        _host = host;
        _settings = settings;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Concurrency,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ConnectTimeout = settings.Timeout,
        };
        if (settings.TrustedRoots is { } roots)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ConfigReading.ValidateAgainst(roots, certificate, chain, errors);
        }
        _client = new HttpClient(handler) { Timeout = settings.Timeout, MaxResponseContentBufferSize = settings.MaxResponseSize };
    }

    public bool IsTransactional => false;

    /// <summary>Connected when the configured server accepts a TCP connection (per-event urls are not probed).</summary>
    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken) =>
        TcpPeer.AcceptsAsync(_host, $"http_client: {_settings.Url.Host}:{_settings.Url.Port}", _settings.Url, _settings.Timeout, attempt, cancellationToken);

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        // The pulls that would empty the queue cannot run while this call waits, so refuse rather than grow it.
        if (Volatile.Read(ref _queued) >= _settings.MaxQueuedResponses)
        {
            return SinkReply.Failed($"{_settings.MaxQueuedResponses} responses are waiting to be pulled (max-queued-responses); the flow does not take them");
        }
        // Each event is settled on its own: a request that got its response is never sent again when others failed.
        var failed = new List<(EventId Id, string Reason)>();
        var requests = new List<(HttpRequestMessage Request, Value Correlation, EventId Id)>(batch.Count);
        foreach (var e in batch.Events)
        {
            var request = BuildRequest(e, out var error);
            if (request is null) failed.Add((e.Id, $"event {e.Id}: {error}"));
            else requests.Add((request, e.Event.Meta["correlation"], e.Id));
        }

        string? connectionLost = null;
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = _settings.Concurrency, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            using var request = item.Request;
            string? failure = null;
            if (Volatile.Read(ref connectionLost) is { } lost)
            {
                failure = $"not sent: {lost}";
            }
            else
            {
                try
                {
                    using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                    var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                    Enqueue(body, ResponseMeta(request, response, item.Correlation));
                    if (_settings.FailOnStatus && !response.IsSuccessStatusCode)
                    {
                        failure = $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} {response.ReasonPhrase} (fail-on-status)";
                    }
                }
                catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
                {
                    failure = $"{request.Method} {request.RequestUri}: {e.Message}";
                    Interlocked.CompareExchange(ref connectionLost, failure, null);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    var reason = e is TaskCanceledException ? $"no response within {_settings.Timeout.TotalMilliseconds:0}ms (timeout)" : e.Message;
                    failure = $"{request.Method} {request.RequestUri}: {reason}";
                }
            }
            if (failure is not null)
            {
                lock (failed) failed.Add((item.Id, failure));
            }
        }).ConfigureAwait(false);

        if (connectionLost is not null)
        {
            _host.Log(PluginLogLevel.Warning, $"http_client lost its server: {connectionLost}");
            _host.ConnectionLost(connectionLost);
        }
        else if (failed.Count > 0)
        {
            _host.Log(PluginLogLevel.Warning, $"http_client: {failed.Count} of {batch.Count} request(s) failed, e.g. {failed[0].Reason}");
        }
        return SinkReply.Settle(_host, batch, failed);
    }

    private HttpRequestMessage? BuildRequest(in SinkEvent e, out string? error)
    {
        error = null;
        var overrides = e.Event.Meta["http_client"]["request"];
        var url = _settings.Url;
        if (overrides["url"].AsString() is { } urlText && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https")))
        {
            error = $"meta http_client.request.url '{urlText}' is not an absolute http(s) URL";
            return null;
        }
        var method = _settings.Method;
        if (overrides["method"].AsString() is { } methodText && (method = HttpClientFactory.Method(methodText)!) is null)
        {
            error = $"meta http_client.request.method '{methodText}' is not an HTTP method";
            return null;
        }
        var headers = HttpMeta.ReadHeaders(overrides["headers"], out var headersError);
        if (headersError is not null)
        {
            error = $"meta http_client.request.headers: {headersError}";
            return null;
        }

        var request = new HttpRequestMessage(method, url);
        // A GET or HEAD without a payload goes without a body.
        if ((method != HttpMethod.Get && method != HttpMethod.Head) || !e.Payload.IsEmpty)
        {
            // The payload is lent for the sink call only: the request owns a copy.
            request.Content = new ByteArrayContent(e.Payload.ToArray());
        }
        foreach (var (name, values) in headers is null ? _settings.Headers : [.. _settings.Headers.Where(h => !headers.Any(o => string.Equals(o.Name, h.Name, StringComparison.OrdinalIgnoreCase))), .. headers])
        {
            if (request.Headers.TryAddWithoutValidation(name, values)) continue;
            if (request.Content is null) continue;
            request.Content.Headers.Remove(name);
            request.Content.Headers.TryAddWithoutValidation(name, values);
        }
        return request;
    }

    private static Value ResponseMeta(HttpRequestMessage request, HttpResponseMessage response, Value correlation)
    {
        var responseRecord = new ValueRecord(3);
        responseRecord.Set("status", (int)response.StatusCode);
        responseRecord.Set("headers", HttpMeta.Headers(response.Headers.Concat(response.Content.Headers)));
        responseRecord.Set("version", response.Version.ToString());
        var requestRecord = new ValueRecord(2);
        requestRecord.Set("method", request.Method.Method);
        requestRecord.Set("url", request.RequestUri?.ToString());
        var client = new ValueRecord(2);
        client.Set("response", Value.From(responseRecord));
        client.Set("request", Value.From(requestRecord));
        var meta = new ValueRecord(2);
        meta.Set("http_client", Value.From(client));
        if (!correlation.IsNull) meta.Set("correlation", correlation);
        return Value.From(meta);
    }

    private void Enqueue(byte[] body, Value meta)
    {
        Interlocked.Increment(ref _queued);
        _responses.Writer.TryWrite((body, meta, _host.NowNs()));
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Each response is a stream of its own: its chunk, then its end.
            while ((batch.Count == 0 || batch.Count + 2 <= batch.Capacity) && _responses.Reader.TryRead(out var response))
            {
                Interlocked.Decrement(ref _queued);
                var stream = ++_nextStream;
                // The response's own array that nothing changes again: decoding may keep slices of it.
                batch.AddImmutable(response.Body, stream, response.IngestNs, response.Meta);
                batch.EndStream(stream);
            }
            if (batch.Count > 0) return PullStatus.Data;
            // Every response comes from a request: once the requests ended and their responses went out, so does the source.
            if (_requestsEnded) return PullStatus.Finished;
            // Responses come from sink calls: give the sink its turn (see SinkTurns).
            if (!await SinkTurns.WaitAsync(_responses.Reader.WaitToReadAsync, cancellationToken).ConfigureAwait(false))
            {
                return PullStatus.Empty;
            }
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        // Sink calls are over: everything they queued is already in the channel.
        _requestsEnded = true;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        _responses.Writer.TryComplete();
        _client.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
