using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Metrics;

/// <summary>
/// The counters of one connector, kept on the data path: its actor and its plugin proxy update them once per batch,
/// and the <see cref="RuntimeMetrics"/> instruments read them when a listener (the Prometheus exporter, the
/// <c>metrics</c> connector) collects, without asking the actor, so a busy actor never delays or drops a series.
/// </summary>
internal sealed class ConnectorMetrics
{
    private readonly Histogram<double>? _batchDuration;
    private readonly KeyValuePair<string, object?> _connectorTag;
    private readonly KeyValuePair<string, object?> _typeTag;
    private long _eventsIn;
    private long _eventsOut;
    private long _errors;
    private long _dropped;
    private long _bytesIn;
    private long _bytesOut;
    private int _restarts;
    private int _state = (int)ConnectorState.Initializing;
    private int _circuitBreakerOpen;

    internal ConnectorMetrics(string alias, string type, ConnectorKinds kinds, PluginMetrics? plugin, Histogram<double>? batchDuration)
    {
        Alias = alias;
        Type = type;
        Kinds = kinds;
        Plugin = plugin;
        _batchDuration = batchDuration;
        _connectorTag = new("connector", alias);
        _typeTag = new("type", type);
    }

    /// <summary><c>flow::connector</c>.</summary>
    public string Alias { get; }

    /// <summary>The connector type.</summary>
    public string Type { get; }

    /// <summary>The sides the connector type has: series of a side it lacks (a source's <c>in</c> port) are left out.</summary>
    public ConnectorKinds Kinds { get; }

    /// <summary>The counters of the plugin that provides the connector type (null when it is not known).</summary>
    public PluginMetrics? Plugin { get; }

    /// <summary>Events the sink side received.</summary>
    public long EventsIn { get => Volatile.Read(ref _eventsIn); set => Volatile.Write(ref _eventsIn, value); }

    /// <summary>Events the source side emitted.</summary>
    public long EventsOut { get => Volatile.Read(ref _eventsOut); set => Volatile.Write(ref _eventsOut, value); }

    /// <summary>Events that went to err or failed.</summary>
    public long Errors { get => Volatile.Read(ref _errors); set => Volatile.Write(ref _errors, value); }

    /// <summary>Events that could not be sent downstream.</summary>
    public long Dropped { get => Volatile.Read(ref _dropped); set => Volatile.Write(ref _dropped, value); }

    /// <summary>Bytes the source side read (before decoding; structured events count none).</summary>
    public long BytesIn => Volatile.Read(ref _bytesIn);

    /// <summary>Bytes the sink side handed to the plugin (after encoding).</summary>
    public long BytesOut => Volatile.Read(ref _bytesOut);

    /// <summary>Restarts of the plugin instance.</summary>
    public int Restarts { get => Volatile.Read(ref _restarts); set => Volatile.Write(ref _restarts, value); }

    /// <summary>The lifecycle state.</summary>
    public ConnectorState State { get => (ConnectorState)Volatile.Read(ref _state); set => Volatile.Write(ref _state, (int)value); }

    /// <summary>True while a downstream that lost its peer holds the source back.</summary>
    public bool CircuitBreakerOpen { get => Volatile.Read(ref _circuitBreakerOpen) != 0; set => Volatile.Write(ref _circuitBreakerOpen, value ? 1 : 0); }

    /// <summary>
    /// One pull's raw bytes. Written by the plugin proxy, which a restart or a hot swap replaces by another on
    /// another thread: atomic, as the old and the new proxy may overlap by a call.
    /// </summary>
    public void AddBytesIn(long bytes) => Interlocked.Add(ref _bytesIn, bytes);

    /// <summary>One sink call's encoded bytes; see <see cref="AddBytesIn"/>.</summary>
    public void AddBytesOut(long bytes) => Interlocked.Add(ref _bytesOut, bytes);

    /// <summary>
    /// How long the plugin took over one sink batch, from <paramref name="startTimestamp"/> (a
    /// <see cref="Stopwatch.GetTimestamp"/>) to now. Nothing is recorded while no listener collects the histogram.
    /// </summary>
    public void RecordBatch(long startTimestamp)
    {
        if (_batchDuration is { Enabled: true } histogram)
        {
            histogram.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, _connectorTag, _typeTag);
        }
    }
}

/// <summary>The counters of one pipeline; see <see cref="ConnectorMetrics"/>.</summary>
internal sealed class PipelineMetrics
{
    private readonly Histogram<double>? _batchDuration;
    private readonly KeyValuePair<string, object?> _pipelineTag;
    private long _eventsIn;
    private long _eventsOut;
    private long _errors;
    private int _circuitBreakerOpen;

    internal PipelineMetrics(string alias, Histogram<double>? batchDuration)
    {
        Alias = alias;
        _batchDuration = batchDuration;
        _pipelineTag = new("pipeline", alias);
    }

    /// <summary><c>flow::pipeline</c>.</summary>
    public string Alias { get; }

    /// <summary>Events into the pipeline.</summary>
    public long EventsIn { get => Volatile.Read(ref _eventsIn); set => Volatile.Write(ref _eventsIn, value); }

    /// <summary>Events out of the pipeline.</summary>
    public long EventsOut { get => Volatile.Read(ref _eventsOut); set => Volatile.Write(ref _eventsOut, value); }

    /// <summary>Events the pipeline sent to err.</summary>
    public long Errors { get => Volatile.Read(ref _errors); set => Volatile.Write(ref _errors, value); }

    /// <summary>True while the pipeline holds its upstreams back (a downstream lost its peer, or its qos::backpressure pauses).</summary>
    public bool CircuitBreakerOpen { get => Volatile.Read(ref _circuitBreakerOpen) != 0; set => Volatile.Write(ref _circuitBreakerOpen, value ? 1 : 0); }

    /// <summary>True when <see cref="RecordBatch"/> records: the caller takes no timestamp otherwise.</summary>
    public bool TimesBatches => _batchDuration is { Enabled: true };

    /// <summary>How long the program ran over one batch, from <paramref name="startTimestamp"/> to now.</summary>
    public void RecordBatch(long startTimestamp) =>
        _batchDuration?.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, _pipelineTag);
}

/// <summary>
/// The counters of one plugin, over every connector it provides, for the life of the runtime: calls into its
/// instances, the calls that failed (threw, or a connect that did not succeed) and restarts of its instances.
/// Several connectors' proxies write them at once: atomic.
/// </summary>
internal sealed class PluginMetrics(string name)
{
    private long _calls;
    private long _failures;
    private long _restarts;

    /// <summary>The plugin's name.</summary>
    public string Name { get; } = name;

    /// <summary>Calls into an instance (create, connect, pull, sink batch, lifecycle hooks).</summary>
    public long Calls => Volatile.Read(ref _calls);

    /// <summary>Calls that threw, and connects that did not succeed.</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>Instances re-created after a failure.</summary>
    public long Restarts => Volatile.Read(ref _restarts);

    /// <summary>Counts a call.</summary>
    public void Called() => Interlocked.Increment(ref _calls);

    /// <summary>Counts a failed call.</summary>
    public void Failed() => Interlocked.Increment(ref _failures);

    /// <summary>Counts a restart.</summary>
    public void Restarted() => Interlocked.Increment(ref _restarts);
}

/// <summary>
/// Every running connector's and pipeline's counters, and every plugin's, per actor system, published as
/// <see cref="System.Diagnostics.Metrics"/> instruments of the meter <see cref="MeterName"/>: actors register their
/// counters when they start and remove them when they stop; observable instruments read the counters when a listener
/// collects (no message to any actor); the batch-duration histograms are recorded once per batch. With
/// <c>tremor.metrics.enabled = off</c> there is no meter: the counters still serve the status API and the run's
/// delivery tally.
/// </summary>
public sealed class RuntimeMetrics : IExtension, IDisposable
{
    /// <summary>The name of the runtime's meter, for a listener to subscribe to.</summary>
    public const string MeterName = "Tremor.Runtime";

    // Batches take microseconds (a passthrough pipeline) to seconds (a sink waiting for a slow peer).
    private static readonly double[] DurationBuckets = [0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

    private readonly ConcurrentDictionary<string, ConnectorMetrics> _connectors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PipelineMetrics> _pipelines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PluginMetrics> _plugins = new(StringComparer.Ordinal);
    private readonly Meter? _meter;
    private readonly Histogram<double>? _connectorBatchDuration;
    private readonly Histogram<double>? _pipelineBatchDuration;

    /// <summary>A registry; with <paramref name="enabled"/> it publishes its instruments.</summary>
    internal RuntimeMetrics(bool enabled = true)
    {
        if (!enabled) return;
        _meter = new Meter(MeterName, typeof(RuntimeMetrics).Assembly.GetName().Version?.ToString(3));
        _meter.CreateObservableCounter("tremor.connector.events", ConnectorEvents, "{event}",
            "Events through a connector: port in (its sink side received), out (its source side emitted), err (went to err or failed).");
        _meter.CreateObservableCounter("tremor.connector.dropped", () => Each(_connectors.Values, c => c.Dropped, ConnectorTags), "{event}",
            "Events a connector had nowhere to send (e.g. errors on an unlinked err port).");
        _meter.CreateObservableCounter("tremor.connector.bytes", ConnectorBytes, "By",
            "Bytes a connector moved: side source (read, before decoding), sink (written, after encoding).");
        _meter.CreateObservableCounter("tremor.connector.restarts", () => Each(_connectors.Values, c => (long)c.Restarts, ConnectorTags), "{restart}",
            "Restarts of a connector's plugin instance.");
        _meter.CreateObservableGauge("tremor.connector.up", () => Each(_connectors.Values, c => c.State == ConnectorState.Running ? 1L : 0L, ConnectorTags), null,
            "1 while a connector is running.");
        _meter.CreateObservableGauge("tremor.connector.circuit_breaker.open", () => Each(_connectors.Values, c => c.CircuitBreakerOpen ? 1L : 0L, ConnectorTags), null,
            "1 while a downstream that lost its peer holds a connector's source back.");
        _connectorBatchDuration = _meter.CreateHistogram("tremor.connector.batch.duration", "s",
            "How long a connector's sink plugin took over one batch.", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _meter.CreateObservableCounter("tremor.pipeline.events", PipelineEvents, "{event}",
            "Events through a pipeline: port in, out (sent on), err (the program's errors).");
        _meter.CreateObservableGauge("tremor.pipeline.circuit_breaker.open", () => Each(_pipelines.Values, p => p.CircuitBreakerOpen ? 1L : 0L, PipelineTags), null,
            "1 while a pipeline holds its upstreams back (a downstream lost its peer, or its qos::backpressure pauses).");
        _pipelineBatchDuration = _meter.CreateHistogram("tremor.pipeline.batch.duration", "s",
            "How long a pipeline's program ran over one batch.", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _meter.CreateObservableCounter("tremor.plugin.calls", () => Each(_plugins.Values, p => p.Calls, PluginTags), "{call}",
            "Calls into a plugin's instances (create, connect, pull, sink batch, lifecycle hooks).");
        _meter.CreateObservableCounter("tremor.plugin.failures", () => Each(_plugins.Values, p => p.Failures, PluginTags), "{call}",
            "Calls into a plugin that threw, and connects that did not succeed.");
        _meter.CreateObservableCounter("tremor.plugin.restarts", () => Each(_plugins.Values, p => p.Restarts, PluginTags), "{restart}",
            "Instances of a plugin re-created after a failure.");
    }

    /// <summary>The registry of <paramref name="system"/> (its meter on unless <c>tremor.metrics.enabled = off</c>).</summary>
    public static RuntimeMetrics Get(ActorSystem system) => system.WithExtension<RuntimeMetrics, RuntimeMetricsProvider>();

    /// <summary>True when the instruments are published.</summary>
    public bool Enabled => _meter is not null;

    /// <summary>This runtime's meter (null when off): a listener in a process of several runtimes (tests) tells them apart by it.</summary>
    public Meter? Meter => _meter;

    /// <summary>New counters for a connector (replacing those of a stopped one of the same alias).</summary>
    internal ConnectorMetrics RegisterConnector(string alias, string type, ConnectorKinds kinds, string? plugin = null) =>
        _connectors[alias] = new ConnectorMetrics(alias, type, kinds, plugin is null ? null : Plugin(plugin), _connectorBatchDuration);

    /// <summary>Removes <paramref name="metrics"/> unless a newer instance of the alias registered since.</summary>
    internal void Unregister(ConnectorMetrics metrics) => _connectors.TryRemove(new KeyValuePair<string, ConnectorMetrics>(metrics.Alias, metrics));

    /// <summary>New counters for a pipeline.</summary>
    internal PipelineMetrics RegisterPipeline(string alias) => _pipelines[alias] = new PipelineMetrics(alias, _pipelineBatchDuration);

    /// <summary>Removes <paramref name="metrics"/> unless a newer instance of the alias registered since.</summary>
    internal void Unregister(PipelineMetrics metrics) => _pipelines.TryRemove(new KeyValuePair<string, PipelineMetrics>(metrics.Alias, metrics));

    /// <summary>The counters of plugin <paramref name="name"/>, kept while the runtime lives (a counter must not go back).</summary>
    internal PluginMetrics Plugin(string name) => _plugins.GetOrAdd(name, n => new PluginMetrics(n));

    /// <summary>The running connectors, by alias.</summary>
    internal IReadOnlyList<ConnectorMetrics> Connectors => [.. _connectors.Values.OrderBy(c => c.Alias, StringComparer.Ordinal)];

    /// <summary>The running pipelines, by alias.</summary>
    internal IReadOnlyList<PipelineMetrics> Pipelines => [.. _pipelines.Values.OrderBy(p => p.Alias, StringComparer.Ordinal)];

    /// <inheritdoc />
    public void Dispose() => _meter?.Dispose();

    private static KeyValuePair<string, object?>[] ConnectorTags(ConnectorMetrics c) => [new("connector", c.Alias), new("type", c.Type)];

    private static KeyValuePair<string, object?>[] PipelineTags(PipelineMetrics p) => [new("pipeline", p.Alias)];

    private static KeyValuePair<string, object?>[] PluginTags(PluginMetrics p) => [new("plugin", p.Name)];

    private static IEnumerable<Measurement<long>> Each<T>(IEnumerable<T> items, Func<T, long> value, Func<T, KeyValuePair<string, object?>[]> tags) =>
        items.Select(i => new Measurement<long>(value(i), tags(i))).ToList();

    private IEnumerable<Measurement<long>> ConnectorEvents()
    {
        var result = new List<Measurement<long>>(_connectors.Count * 3);
        foreach (var c in _connectors.Values)
        {
            if (c.Kinds.HasFlag(ConnectorKinds.Sink)) result.Add(new(c.EventsIn, new("connector", c.Alias), new("type", c.Type), new("port", "in")));
            if (c.Kinds.HasFlag(ConnectorKinds.Source)) result.Add(new(c.EventsOut, new("connector", c.Alias), new("type", c.Type), new("port", "out")));
            result.Add(new(c.Errors, new("connector", c.Alias), new("type", c.Type), new("port", "err")));
        }
        return result;
    }

    private IEnumerable<Measurement<long>> ConnectorBytes()
    {
        var result = new List<Measurement<long>>(_connectors.Count * 2);
        foreach (var c in _connectors.Values)
        {
            if (c.Kinds.HasFlag(ConnectorKinds.Source)) result.Add(new(c.BytesIn, new("connector", c.Alias), new("type", c.Type), new("side", "source")));
            if (c.Kinds.HasFlag(ConnectorKinds.Sink)) result.Add(new(c.BytesOut, new("connector", c.Alias), new("type", c.Type), new("side", "sink")));
        }
        return result;
    }

    private IEnumerable<Measurement<long>> PipelineEvents()
    {
        var result = new List<Measurement<long>>(_pipelines.Count * 3);
        foreach (var p in _pipelines.Values)
        {
            result.Add(new(p.EventsIn, new("pipeline", p.Alias), new("port", "in")));
            result.Add(new(p.EventsOut, new("pipeline", p.Alias), new("port", "out")));
            result.Add(new(p.Errors, new("pipeline", p.Alias), new("port", "err")));
        }
        return result;
    }

    private sealed class RuntimeMetricsProvider : ExtensionIdProvider<RuntimeMetrics>
    {
        public override RuntimeMetrics CreateExtension(ExtendedActorSystem system)
        {
            var config = system.Settings.Config;
            var metrics = new RuntimeMetrics(!config.HasPath("tremor.metrics.enabled") || config.GetBoolean("tremor.metrics.enabled"));
            // The meter goes with its system: a listener must not read the registry of a runtime that is gone.
            system.RegisterOnTermination(metrics.Dispose);
            return metrics;
        }
    }
}
