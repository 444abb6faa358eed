using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Snappier;
using Tremor.Connectors.Otel.Proto.Prometheus;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

internal sealed record RemoteWriteSettings(Uri Url, TimeSpan Timeout, List<(string Name, string Value)> Headers, List<(string Name, string Value)> Labels);

/// <summary>
/// <c>prometheus_remote_write</c>: events as samples, sent as Prometheus remote-write 1.0 (a snappy-compressed protobuf
/// <c>WriteRequest</c> per batch). An event is influx-shaped (<c>measurement</c>, <c>tags</c>, <c>fields</c>,
/// <c>timestamp</c> in ns: one sample per field, named <c>measurement_field</c>, or <c>measurement</c> for the field
/// <c>value</c>), one sample (<c>name</c>, <c>labels</c>, <c>value</c>, <c>timestamp</c>) or an OTLP metrics event from
/// otel_server.
/// </summary>
public sealed class PrometheusRemoteWriteFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "prometheus_remote_write";

    /// <inheritdoc />
    public string Description =>
        "Prometheus remote write: events (measurement/tags/fields, name/labels/value or OTLP metrics) as samples (keys: url, timeout, headers, labels)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    /// <inheritdoc />
    public string? DefaultCodec => null;

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "timeout", "headers", "labels");
        var url = ConfigReading.Url(config, "url", null)!;
        var labels = ConfigReading.Headers(config, "labels");
        foreach (var (name, _) in labels)
        {
            if (RemoteWriteSamples.SanitizeLabel(name) != name || name == "__name__")
            {
                throw new ConfigException($"{ConfigReading.KeyPath(config, "labels")}.{name}", "is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __name__)");
            }
        }
        var settings = new RemoteWriteSettings(url, ConfigReading.PositiveDuration(config, "timeout", TimeSpan.FromSeconds(10)), ConfigReading.Headers(config, "headers"), labels);
        return new PrometheusRemoteWriteConnector(context.Host, settings);
    }
}

/// <summary>Events to remote-write time series: the mapping, unit-testable without a server.</summary>
internal static class RemoteWriteSamples
{
    /// <summary>Adds the samples of one event to <paramref name="series"/> (keyed by their sorted labels); throws <see cref="OtlpShapeException"/> for an event of another shape.</summary>
    public static void Add(Value data, ulong ingestNs, IReadOnlyList<(string Name, string Value)> extraLabels, Dictionary<string, TimeSeries> series)
    {
        if (data.AsRecord() is null) throw new OtlpShapeException("event", $"expected a record (measurement/tags/fields, name/labels/value or OTLP metrics), found {ValueToOtlp.Kind(data)}");
        var samples = new List<(string Name, List<(string Name, string Value)> Labels, double Value, long Timestamp)>();
        if (!data["metrics"].IsNull)
        {
            OtlpSamples(data["metrics"], ingestNs, samples);
        }
        else if (data["measurement"].AsString() is { } measurement)
        {
            var timestamp = Timestamp(data["timestamp"], ingestNs);
            var fields = data["fields"].AsRecord() ?? throw new OtlpShapeException("event.fields", $"expected a record of numeric fields, found {ValueToOtlp.Kind(data["fields"])}");
            if (fields.Count == 0) throw new OtlpShapeException("event.fields", "has no field: a sample needs a value");
            var tags = LabelsOf(data["tags"], "event.tags");
            foreach (var (field, value) in fields)
            {
                samples.Add((field == "value" ? measurement : $"{measurement}_{field}", tags, Number(value, $"event.fields.{field}"), timestamp));
            }
        }
        else if (data["name"].AsString() is { } name)
        {
            samples.Add((name, LabelsOf(data["labels"], "event.labels"), Number(data["value"], "event.value"), Timestamp(data["timestamp"], ingestNs)));
        }
        else
        {
            throw new OtlpShapeException("event", "has neither measurement (with tags and fields), name (with labels and value) nor metrics (OTLP)");
        }

        foreach (var (name, labelValues, value, timestamp) in samples)
        {
            var labels = new List<Label> { new() { Name = "__name__", Value = SanitizeMetric(name) } };
            // Prometheus reads an empty label value as no label.
            foreach (var (key, text) in labelValues)
            {
                if (text.Length > 0) labels.Add(new Label { Name = SanitizeLabel(key), Value = text });
            }
            foreach (var (key, v) in extraLabels)
            {
                if (!labels.Exists(l => l.Name == key)) labels.Add(new Label { Name = key, Value = v });
            }
            // The spec wants labels sorted by name, without duplicates (a sanitized name may collide: the later wins).
            var sorted = labels.GroupBy(l => l.Name, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(l => l.Name, StringComparer.Ordinal).ToList();
            var seriesKey = string.Join('\u0001', sorted.Select(l => $"{l.Name}\u0002{l.Value}"));
            if (!series.TryGetValue(seriesKey, out var ts))
            {
                ts = new TimeSeries();
                ts.Labels.AddRange(sorted);
                series[seriesKey] = ts;
            }
            ts.Samples.Add(new Sample { Value = value, Timestamp = timestamp });
        }
    }

    private static List<(string Name, string Value)> LabelsOf(Value record, string path)
    {
        if (record.IsNull) return [];
        var r = record.AsRecord() ?? throw new OtlpShapeException(path, $"expected a record of labels, found {ValueToOtlp.Kind(record)}");
        return r.Select(kv => (kv.Key, kv.Value.AsString() ?? (kv.Value.IsNull ? "" : kv.Value.ToString()))).ToList();
    }

    /// <summary>
    /// An OTLP metrics event (what otel_server emits) as samples, the way Prometheus' own OTLP receiver names them:
    /// gauges and sums as they are, histograms as <c>_bucket{le}</c> (cumulative), <c>_sum</c> and <c>_count</c>, summaries as
    /// <c>{quantile}</c>, <c>_sum</c> and <c>_count</c>; point attributes are labels, and the resource's
    /// <c>service.name</c> and <c>service.instance.id</c> become <c>job</c> and <c>instance</c>.
    /// </summary>
    private static void OtlpSamples(Value metrics, ulong ingestNs, List<(string, List<(string, string)>, double, long)> samples)
    {
        var resources = ValueToOtlp.Metrics(metrics, "event.metrics");
        for (var ri = 0; ri < resources.Count; ri++)
        {
            var resource = new List<(string, string)>();
            foreach (var kv in resources[ri].Resource?.Attributes ?? [])
            {
                if (kv.Key == "service.name") resource.Add(("job", Text(kv.Value)));
                if (kv.Key == "service.instance.id") resource.Add(("instance", Text(kv.Value)));
            }
            foreach (var scope in resources[ri].ScopeMetrics)
            {
                foreach (var m in scope.Metrics)
                {
                    long At(ulong timeUnixNano) => (long)((timeUnixNano == 0 ? ingestNs : timeUnixNano) / 1_000_000);
                    List<(string, string)> Labels(IEnumerable<Proto.Common.KeyValue> attributes, params (string, string)[] more) =>
                        [.. resource, .. attributes.Select(kv => (kv.Key, Text(kv.Value))), .. more];
                    switch (m.DataCase)
                    {
                        case Proto.Metrics.Metric.DataOneofCase.Gauge or Proto.Metrics.Metric.DataOneofCase.Sum:
                            foreach (var p in m.DataCase == Proto.Metrics.Metric.DataOneofCase.Gauge ? m.Gauge.DataPoints : m.Sum.DataPoints)
                            {
                                double? value = p.ValueCase switch
                                {
                                    Proto.Metrics.NumberDataPoint.ValueOneofCase.AsInt => p.AsInt,
                                    Proto.Metrics.NumberDataPoint.ValueOneofCase.AsDouble => p.AsDouble,
                                    _ => null,
                                };
                                if (value is { } v) samples.Add((m.Name, Labels(p.Attributes), v, At(p.TimeUnixNano)));
                            }
                            break;
                        case Proto.Metrics.Metric.DataOneofCase.Histogram:
                            foreach (var p in m.Histogram.DataPoints)
                            {
                                var at = At(p.TimeUnixNano);
                                ulong cumulative = 0;
                                for (var b = 0; b < p.ExplicitBounds.Count && b < p.BucketCounts.Count; b++)
                                {
                                    cumulative += p.BucketCounts[b];
                                    samples.Add(($"{m.Name}_bucket", Labels(p.Attributes, ("le", p.ExplicitBounds[b].ToString(System.Globalization.CultureInfo.InvariantCulture))), cumulative, at));
                                }
                                samples.Add(($"{m.Name}_bucket", Labels(p.Attributes, ("le", "+Inf")), p.Count, at));
                                if (p.HasSum) samples.Add(($"{m.Name}_sum", Labels(p.Attributes), p.Sum, at));
                                samples.Add(($"{m.Name}_count", Labels(p.Attributes), p.Count, at));
                            }
                            break;
                        case Proto.Metrics.Metric.DataOneofCase.Summary:
                            foreach (var p in m.Summary.DataPoints)
                            {
                                var at = At(p.TimeUnixNano);
                                foreach (var q in p.QuantileValues)
                                {
                                    samples.Add((m.Name, Labels(p.Attributes, ("quantile", q.Quantile.ToString(System.Globalization.CultureInfo.InvariantCulture))), q.Value, at));
                                }
                                samples.Add(($"{m.Name}_sum", Labels(p.Attributes), p.Sum, at));
                                samples.Add(($"{m.Name}_count", Labels(p.Attributes), p.Count, at));
                            }
                            break;
                        case Proto.Metrics.Metric.DataOneofCase.ExponentialHistogram:
                            throw new OtlpShapeException($"event.metrics[{ri}]", $"metric '{m.Name}' is an exponential histogram, which remote write 1.0 has no form for");
                    }
                }
            }
        }
    }

    private static string Text(Proto.Common.AnyValue value) =>
        value.ValueCase == Proto.Common.AnyValue.ValueOneofCase.StringValue ? value.StringValue : OtlpToValue.Any(value).ToString();

    /// <summary>The request for a batch: samples of each series in time order, as Prometheus appends them.</summary>
    public static WriteRequest Request(Dictionary<string, TimeSeries> series)
    {
        var request = new WriteRequest();
        foreach (var ts in series.Values)
        {
            var ordered = ts.Samples.OrderBy(s => s.Timestamp).ToList();
            ts.Samples.Clear();
            ts.Samples.AddRange(ordered);
            request.Timeseries.Add(ts);
        }
        return request;
    }

    /// <summary>Milliseconds since the epoch from Tremor's nanoseconds; the ingest time when the event has none.</summary>
    private static long Timestamp(Value timestamp, ulong ingestNs)
    {
        if (timestamp.IsNull) return (long)(ingestNs / 1_000_000);
        if (timestamp.TryGetI64(out var ns) && ns >= 0) return ns / 1_000_000;
        if (timestamp.TryGetU64(out var uns)) return (long)(uns / 1_000_000);
        throw new OtlpShapeException("event.timestamp", $"expected nanoseconds since the epoch (an integer), found {ValueToOtlp.Kind(timestamp)}");
    }

    private static double Number(Value v, string path)
    {
        if (v.TryGetF64(out var d)) return d;
        if (v.TryGetBool(out var b)) return b ? 1 : 0;
        throw new OtlpShapeException(path, $"a Prometheus sample is a number, found {ValueToOtlp.Kind(v)}");
    }

    /// <summary>A metric name as Prometheus allows it (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>): anything else becomes <c>_</c>.</summary>
    public static string SanitizeMetric(string name) => Sanitize(name, allowColon: true);

    /// <summary>A label name as Prometheus allows it (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>).</summary>
    public static string SanitizeLabel(string name) => Sanitize(name, allowColon: false);

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0) return "_";
        var sb = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0])) sb.Append('_');
        foreach (var c in name) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        return sb.ToString();
    }
}

internal sealed class PrometheusRemoteWriteConnector : ConnectorBase, ISink
{
    private readonly IPluginHost _host;
    private readonly RemoteWriteSettings _settings;
    private readonly HttpClient _http;

    public PrometheusRemoteWriteConnector(IPluginHost host, RemoteWriteSettings settings)
    {
        _host = host;
        _settings = settings;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = settings.Timeout, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60) })
        {
            Timeout = settings.Timeout,
        };
    }

    /// <summary>Connected when the server accepts a TCP connection.</summary>
    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken) =>
        TcpPeer.AcceptsAsync(_host, $"prometheus_remote_write: {_settings.Url}", _settings.Url, _settings.Timeout, attempt, cancellationToken);

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var failed = new List<(EventId Id, string Reason)>();
        var sent = new List<EventId>();
        var series = new Dictionary<string, TimeSeries>(StringComparer.Ordinal);
        foreach (var e in batch.Events)
        {
            // Each event's samples go into a scratch map first, so an event that fails half-way adds nothing.
            var own = new Dictionary<string, TimeSeries>(StringComparer.Ordinal);
            try
            {
                RemoteWriteSamples.Add(e.Event.Data, e.IngestNs, _settings.Labels, own);
            }
            catch (OtlpShapeException x)
            {
                failed.Add((e.Id, $"event {e.Id} is not a sample: {x.Message}"));
                continue;
            }
            foreach (var (key, ts) in own)
            {
                if (series.TryGetValue(key, out var existing)) existing.Samples.AddRange(ts.Samples);
                else series[key] = ts;
            }
            sent.Add(e.Id);
        }
        if (sent.Count > 0)
        {
            var (error, retry) = await WriteAsync(RemoteWriteSamples.Request(series), cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                if (retry)
                {
                    // Connection refused, 5xx, 429: the remote-write spec's retryable answers. The runtime keeps the
                    // batch, opens the breaker upstream and sends it again once a connect succeeds.
                    _host.Log(PluginLogLevel.Warning, $"prometheus_remote_write: {error}");
                    _host.ConnectionLost(error);
                    return SinkReply.Failed(error);
                }
                failed.AddRange(sent.Select(id => (id, error)));
            }
        }
        if (failed.Count > 0) _host.Log(PluginLogLevel.Warning, $"prometheus_remote_write: {failed.Count} of {batch.Count} event(s) failed, e.g. {failed[0].Reason}");
        return SinkReply.Settle(_host, batch, failed);
    }

    private async Task<(string? Error, bool Retry)> WriteAsync(WriteRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, _settings.Url);
        message.Content = new ByteArrayContent(Snappy.CompressToArray(request.ToByteArray()));
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        message.Content.Headers.ContentEncoding.Add("snappy");
        message.Headers.TryAddWithoutValidation("X-Prometheus-Remote-Write-Version", "0.1.0");
        message.Headers.UserAgent.Add(new ProductInfoHeaderValue("tremor", "0.1"));
        foreach (var (name, value) in _settings.Headers) message.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return (null, false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var error = $"remote write to {_settings.Url} answered {status} {response.ReasonPhrase}: {body.Trim()}";
            return (error, status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            return ($"remote write to {_settings.Url} failed: {e.Message}", true);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e is TaskCanceledException ? $"no answer within {_settings.Timeout.TotalMilliseconds:0}ms (timeout)" : e.Message;
            return ($"remote write to {_settings.Url} failed: {reason}", true);
        }
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
