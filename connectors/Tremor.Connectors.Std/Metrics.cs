using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>
/// <c>metrics</c> (Tremor's): a source that emits the runtime's own metrics as events every <c>interval</c> (default
/// 10s), one event per series in Tremor's shape,
/// <c>{"measurement": "connector_events", "tags": {"connector": "flow::in", "type": "file", "port": "out"}, "fields": {"count": 42}, "timestamp": NS}</c>,
/// so a flow can send them anywhere (a file, <c>otel_client</c>, <c>prometheus_remote_write</c>, the influx codec).
/// </summary>
/// <remarks>
/// It reads the runtime's <see cref="System.Diagnostics.Metrics"/> meter <c>Tremor.Runtime</c> with a
/// <see cref="MeterListener"/>, the same instruments the Prometheus exporter reads: the plugin needs nothing of the
/// runtime but the meter's name.
/// </remarks>
public sealed class MetricsFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "metrics";

    /// <inheritdoc />
    public string Description => "Emits the runtime's own metrics as events every interval (key: interval)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Source;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("interval");
        var interval = config.GetDuration("interval", TimeSpan.FromSeconds(10));
        if (interval <= TimeSpan.Zero)
        {
            throw new ConfigException($"{config.Path}.interval", $"must be positive (e.g. 10s), found {interval}");
        }
        return new MetricsConnector(context.Host, interval);
    }
}

internal sealed class MetricsConnector : ConnectorBase, ISource
{
    /// <summary>The runtime's meter (Tremor.Actors' RuntimeMetrics.MeterName): by name, as a plugin references only the Pdk.</summary>
    internal const string MeterName = "Tremor.Runtime";

    private readonly IPluginHost _host;
    private readonly long _intervalTicks;
    private readonly MeterListener _listener = new();
    // What one collection of the observable instruments reported; written only while _collecting is held.
    private readonly List<Value> _observed = [];
    private readonly Lock _collecting = new();
    // Histograms are recorded on the actors' threads, once per batch: summed here until the next interval.
    private readonly Dictionary<string, HistogramSeries> _histograms = new(StringComparer.Ordinal);
    private readonly Lock _histogramLock = new();
    private readonly Queue<Value> _pending = new();
    private long _nextTick = -1;
    private bool _warnedEmpty;

    public MetricsConnector(IPluginHost host, TimeSpan interval)
    {
        _host = host;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.Start();
    }

    public override ISink? Sink => null;

    public bool IsTransactional => false;

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            var now = Stopwatch.GetTimestamp();
            if (_nextTick < 0) _nextTick = now + _intervalTicks;
            while (now < _nextTick)
            {
                try
                {
                    var wait = Stopwatch.GetElapsedTime(now, _nextTick);
                    await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return PullStatus.Empty;
                }
                now = Stopwatch.GetTimestamp();
            }
            // After a pause start afresh instead of catching up in a burst.
            _nextTick = now - _nextTick > _intervalTicks ? now + _intervalTicks : _nextTick + _intervalTicks;
            Collect();
        }
        // A runtime with many connectors has more series than a batch holds: the rest goes with the next pulls.
        var ingestNs = _host.NowNs();
        while (_pending.Count > 0 && !batch.IsFull) batch.AddStructured(_pending.Dequeue(), 0, ingestNs);
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    /// <summary>One event per series: the observable instruments read now, the histograms as summed so far.</summary>
    private void Collect()
    {
        var timestamp = _host.NowNs();
        lock (_collecting)
        {
            _observed.Clear();
            _listener.RecordObservableInstruments();
            foreach (var e in _observed)
            {
                e.AsRecord()!.Append("timestamp", Value.From(timestamp));
                _pending.Enqueue(e);
            }
            _observed.Clear();
        }
        lock (_histogramLock)
        {
            foreach (var h in _histograms.Values.OrderBy(h => h.Key, StringComparer.Ordinal))
            {
                var fields = Value.NewRecord(4);
                var f = fields.AsRecord()!;
                f.Append("count", h.Count);
                f.Append("sum", h.Sum);
                f.Append("min", h.Min);
                f.Append("max", h.Max);
                _pending.Enqueue(Event(h.Measurement, h.Tags, fields, timestamp));
            }
        }
        if (_pending.Count == 0 && !_warnedEmpty)
        {
            _warnedEmpty = true;
            _host.Log(PluginLogLevel.Warning, $"{_host.Alias}: the runtime publishes no metrics (is tremor.metrics.enabled off?); nothing to emit");
        }
    }

    private void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct
    {
        var measurement = MeasurementName(instrument.Name);
        if (instrument.IsObservable)
        {
            // Called by RecordObservableInstruments, on the collecting thread, under _collecting.
            var fields = Value.NewRecord(1);
            fields.AsRecord()!.Append(IsGauge(instrument) ? "value" : "count", ToValue(value));
            _observed.Add(Event(measurement, Tags(tags), fields, 0));
            return;
        }
        // A histogram, recorded on an actor's thread.
        var key = SeriesKey(measurement, tags);
        var sample = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        lock (_histogramLock)
        {
            if (!_histograms.TryGetValue(key, out var series))
            {
                series = new HistogramSeries(key, measurement, Tags(tags)) { Min = sample, Max = sample };
                _histograms[key] = series;
            }
            series.Count++;
            series.Sum += sample;
            series.Min = Math.Min(series.Min, sample);
            series.Max = Math.Max(series.Max, sample);
        }
    }

    private static bool IsGauge(Instrument instrument) =>
        instrument.GetType() is { IsGenericType: true } t && t.GetGenericTypeDefinition() == typeof(ObservableGauge<>);

    /// <summary><c>tremor.connector.events</c> becomes <c>connector_events</c>, Tremor's measurement name.</summary>
    internal static string MeasurementName(string instrument)
    {
        var name = instrument.StartsWith("tremor.", StringComparison.Ordinal) ? instrument["tremor.".Length..] : instrument;
        return name.Replace('.', '_');
    }

    private static Value ToValue<T>(T value) => value switch
    {
        long l => Value.From(l),
        int i => Value.From((long)i),
        double d => Value.From(d),
        _ => Value.From(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
    };

    private static KeyValuePair<string, string>[] Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++) result[i] = new(tags[i].Key, Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "");
        return result;
    }

    private static string SeriesKey(string measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = new StringBuilder(measurement);
        foreach (var tag in tags) key.Append('\0').Append(tag.Key).Append('=').Append(tag.Value);
        return key.ToString();
    }

    private static Value Event(string measurement, KeyValuePair<string, string>[] tags, Value fields, ulong timestamp)
    {
        var tagRecord = Value.NewRecord(tags.Length);
        foreach (var (k, v) in tags) tagRecord.AsRecord()!.Append(k, v);
        var e = Value.NewRecord(4);
        var r = e.AsRecord()!;
        r.Append("measurement", measurement);
        r.Append("tags", tagRecord);
        r.Append("fields", fields);
        if (timestamp != 0) r.Append("timestamp", Value.From(timestamp));
        return e;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public override ValueTask DisposeAsync()
    {
        _listener.Dispose();
        return base.DisposeAsync();
    }

    private sealed class HistogramSeries(string key, string measurement, KeyValuePair<string, string>[] tags)
    {
        public string Key { get; } = key;

        public string Measurement { get; } = measurement;

        public KeyValuePair<string, string>[] Tags { get; } = tags;

        public long Count { get; set; }

        public double Sum { get; set; }

        public double Min { get; set; }

        public double Max { get; set; }
    }
}
