using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Tremor.Actors.Connectors;

namespace Tremor.Actors.Metrics;

/// <summary>
/// The counters of one connector, kept on the data path: its actor (the only writer) updates them as batches pass,
/// a scrape reads them from any thread without asking the actor, so a busy actor never delays or drops a series.
/// </summary>
public sealed class ConnectorMetrics(string alias, string type)
{
    private long _eventsIn;
    private long _eventsOut;
    private long _errors;
    private long _dropped;
    private int _restarts;
    private int _state = (int)ConnectorState.Initializing;
    private int _circuitBreakerOpen;

    /// <summary><c>flow::connector</c>.</summary>
    public string Alias { get; } = alias;

    /// <summary>The connector type.</summary>
    public string Type { get; } = type;

    /// <summary>Events the sink side received.</summary>
    public long EventsIn { get => Volatile.Read(ref _eventsIn); set => Volatile.Write(ref _eventsIn, value); }

    /// <summary>Events the source side emitted.</summary>
    public long EventsOut { get => Volatile.Read(ref _eventsOut); set => Volatile.Write(ref _eventsOut, value); }

    /// <summary>Events that went to err or failed.</summary>
    public long Errors { get => Volatile.Read(ref _errors); set => Volatile.Write(ref _errors, value); }

    /// <summary>Events that could not be sent downstream.</summary>
    public long Dropped { get => Volatile.Read(ref _dropped); set => Volatile.Write(ref _dropped, value); }

    /// <summary>Restarts of the plugin instance.</summary>
    public int Restarts { get => Volatile.Read(ref _restarts); set => Volatile.Write(ref _restarts, value); }

    /// <summary>The lifecycle state.</summary>
    public ConnectorState State { get => (ConnectorState)Volatile.Read(ref _state); set => Volatile.Write(ref _state, (int)value); }

    /// <summary>True while a downstream that lost its peer holds the source back.</summary>
    public bool CircuitBreakerOpen { get => Volatile.Read(ref _circuitBreakerOpen) != 0; set => Volatile.Write(ref _circuitBreakerOpen, value ? 1 : 0); }
}

/// <summary>The counters of one pipeline; see <see cref="ConnectorMetrics"/>.</summary>
public sealed class PipelineMetrics(string alias)
{
    private long _eventsIn;
    private long _eventsOut;
    private long _errors;

    /// <summary><c>flow::pipeline</c>.</summary>
    public string Alias { get; } = alias;

    /// <summary>Events into the pipeline.</summary>
    public long EventsIn { get => Volatile.Read(ref _eventsIn); set => Volatile.Write(ref _eventsIn, value); }

    /// <summary>Events out of the pipeline.</summary>
    public long EventsOut { get => Volatile.Read(ref _eventsOut); set => Volatile.Write(ref _eventsOut, value); }

    /// <summary>Events the pipeline sent to err.</summary>
    public long Errors { get => Volatile.Read(ref _errors); set => Volatile.Write(ref _errors, value); }
}

/// <summary>
/// Every running connector's and pipeline's counters, per actor system: actors register theirs when they start and
/// remove them when they stop; <see cref="WritePrometheus"/> renders them without a message to any actor.
/// </summary>
public sealed class RuntimeMetrics : IExtension
{
    private readonly ConcurrentDictionary<string, ConnectorMetrics> _connectors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PipelineMetrics> _pipelines = new(StringComparer.Ordinal);

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static RuntimeMetrics Get(ActorSystem system) => system.WithExtension<RuntimeMetrics, RuntimeMetricsProvider>();

    /// <summary>New counters for a connector (replacing those of a stopped one of the same alias).</summary>
    public ConnectorMetrics RegisterConnector(string alias, string type) => _connectors[alias] = new ConnectorMetrics(alias, type);

    /// <summary>Removes <paramref name="metrics"/> unless a newer instance of the alias registered since.</summary>
    public void Unregister(ConnectorMetrics metrics) => _connectors.TryRemove(new KeyValuePair<string, ConnectorMetrics>(metrics.Alias, metrics));

    /// <summary>New counters for a pipeline.</summary>
    public PipelineMetrics RegisterPipeline(string alias) => _pipelines[alias] = new PipelineMetrics(alias);

    /// <summary>Removes <paramref name="metrics"/> unless a newer instance of the alias registered since.</summary>
    public void Unregister(PipelineMetrics metrics) => _pipelines.TryRemove(new KeyValuePair<string, PipelineMetrics>(metrics.Alias, metrics));

    /// <summary>The running connectors, by alias.</summary>
    public IReadOnlyList<ConnectorMetrics> Connectors => [.. _connectors.Values.OrderBy(c => c.Alias, StringComparer.Ordinal)];

    /// <summary>The running pipelines, by alias.</summary>
    public IReadOnlyList<PipelineMetrics> Pipelines => [.. _pipelines.Values.OrderBy(p => p.Alias, StringComparer.Ordinal)];

    /// <summary>Every series in the Prometheus text exposition format (0.0.4), label values escaped.</summary>
    public string WritePrometheus()
    {
        var text = new StringBuilder();
        var connectors = Connectors;
        void ConnectorFamily(string name, string kind, string help, Func<ConnectorMetrics, long> value)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {kind}\n");
            foreach (var c in connectors)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}{{connector=\"{EscapeLabel(c.Alias)}\",type=\"{EscapeLabel(c.Type)}\"}} {value(c)}\n");
            }
        }
        ConnectorFamily("tremor_connector_events_in_total", "counter", "Events a connector's sink side received.", c => c.EventsIn);
        ConnectorFamily("tremor_connector_events_out_total", "counter", "Events a connector's source side emitted.", c => c.EventsOut);
        ConnectorFamily("tremor_connector_errors_total", "counter", "Events that went to err or failed.", c => c.Errors);
        ConnectorFamily("tremor_connector_dropped_total", "counter", "Events with nowhere to go (e.g. errors on an unlinked err port).", c => c.Dropped);
        ConnectorFamily("tremor_connector_restarts_total", "counter", "Restarts of the connector's plugin instance.", c => c.Restarts);
        ConnectorFamily("tremor_connector_up", "gauge", "1 when the connector is running.", c => c.State == ConnectorState.Running ? 1 : 0);
        ConnectorFamily("tremor_connector_circuit_breaker_open", "gauge", "1 while a downstream that lost its peer holds the source back.", c => c.CircuitBreakerOpen ? 1 : 0);
        var pipelines = Pipelines;
        void PipelineFamily(string name, string help, Func<PipelineMetrics, long> value)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
            foreach (var p in pipelines) text.Append(CultureInfo.InvariantCulture, $"{name}{{pipeline=\"{EscapeLabel(p.Alias)}\"}} {value(p)}\n");
        }
        PipelineFamily("tremor_pipeline_events_in_total", "Events into a pipeline.", p => p.EventsIn);
        PipelineFamily("tremor_pipeline_events_out_total", "Events out of a pipeline.", p => p.EventsOut);
        PipelineFamily("tremor_pipeline_errors_total", "Events a pipeline sent to err.", p => p.Errors);
        return text.ToString();
    }

    /// <summary>A label value as the text format wants it: backslash, double quote and newline escaped.</summary>
    public static string EscapeLabel(string value)
    {
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0) return value;
        return value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    private sealed class RuntimeMetricsProvider : ExtensionIdProvider<RuntimeMetrics>
    {
        public override RuntimeMetrics CreateExtension(ExtendedActorSystem system) => new();
    }
}
