using Tremor.Pdk;

namespace Tremor.Actors.Configuration;

/// <summary>How a connector reconnects after a failed connect: exponential backoff with jitter, or not at all.</summary>
/// <param name="Enabled">Off by default, like Tremor: a failed connect fails the connector.</param>
/// <param name="Interval">The first delay.</param>
/// <param name="Growth">Each delay is the previous one times this.</param>
/// <param name="MaxInterval">No delay is longer than this.</param>
/// <param name="MaxRetries">Attempts after the first; null for no limit.</param>
/// <param name="Jitter">Fraction (0..1) of each delay that is randomised.</param>
public sealed record ReconnectSettings(bool Enabled, TimeSpan Interval, double Growth, TimeSpan MaxInterval, int? MaxRetries, double Jitter)
{
    /// <summary>No retry.</summary>
    public static ReconnectSettings None { get; } = new(false, TimeSpan.FromSeconds(1), 2, TimeSpan.FromMinutes(1), 0, 0.2);
}

/// <summary>How the plugin proxy of a connector is restarted when the plugin fails.</summary>
/// <param name="MinBackoff">Delay before the first restart.</param>
/// <param name="MaxBackoff">Longest delay.</param>
/// <param name="MaxRestarts">Restarts allowed within <paramref name="Window"/> before the connector is marked failed.</param>
/// <param name="Window">The window in which restarts are counted.</param>
/// <param name="Jitter">Fraction (0..1) of each delay that is randomised.</param>
public sealed record RestartSettings(TimeSpan MinBackoff, TimeSpan MaxBackoff, int MaxRestarts, TimeSpan Window, double Jitter)
{
    /// <summary>The defaults of <c>reference.conf</c>.</summary>
    public static RestartSettings Default { get; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 5, TimeSpan.FromMinutes(1), 0.2);
}

/// <summary>Where a connector's plugin runs.</summary>
/// <param name="Mode"><c>in-process</c> (fastest) or <c>process</c> (a native plugin in its own host process).</param>
/// <param name="CallTimeout">With <c>process</c>: a call longer than this kills the child (watchdog).</param>
/// <param name="MemoryLimitBytes">With <c>process</c>: memory limit of the child; null for none.</param>
/// <param name="QuarantineAfter">A batch that failed the plugin this many times in a row is bisected to find the poison events.</param>
/// <param name="MaxRegionBytes">With <c>process</c>: the largest the shared region with the child may grow (<c>max-region-size</c>).</param>
public sealed record IsolationSettings(string Mode, TimeSpan CallTimeout, long? MemoryLimitBytes, int QuarantineAfter, long MaxRegionBytes = Tremor.Native.IsolationOptions.DefaultMaxRegionBytes)
{
    /// <summary>The defaults of <c>reference.conf</c>.</summary>
    public static IsolationSettings Default { get; } = new("in-process", TimeSpan.FromSeconds(10), null, 3);

    /// <summary>The most batches one call into a process-isolated sink carries (waiting batches coalesced, or lingered for).</summary>
    public const int MaxBatchesPerCall = 8;

    /// <summary>
    /// With <c>process</c>, a sink whose input is saturated (full batches arriving) holds its next call up to this long
    /// for <see cref="LingerBatches"/> batches, so a round trip to the host carries several (<c>linger</c>); zero (the
    /// default: the held batches' survival through gen0 collections cost what the saved wake-ups gave back,
    /// BENCHMARKS.md, issue 22, session 10): never.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.Zero;

    /// <summary>With <c>process</c>: the batches a lingering call waits for (<c>linger-batches</c>, at most <see cref="MaxBatchesPerCall"/>).</summary>
    public int LingerBatches { get; init; } = 4;

    /// <summary>
    /// With <c>process</c>: <c>follow</c> (the default) keeps the plugin host's serving thread on the CPU of the runtime
    /// thread calling it, so a sink or pull call's wake-ups stay on one CPU (BENCHMARKS.md, issue 22, session 13);
    /// <c>any</c> leaves the host to the scheduler (for hosts pinned by the operator, or plugins whose calls start
    /// threads).
    /// </summary>
    public string HostCpu { get; init; } = "follow";
}

/// <summary>A codec or processor named in a flow, with its own config.</summary>
/// <param name="Name">The codec or processor name.</param>
/// <param name="Config">Its <c>config { }</c>.</param>
public sealed record ProcessorSpec(string Name, PluginConfig Config);

/// <summary>One connector of a flow as the HOCON describes it.</summary>
public sealed record ConnectorSpec(
    string Flow,
    string Name,
    string Type,
    string Path,
    ProcessorSpec? Codec,
    IReadOnlyList<ProcessorSpec> Preprocessors,
    IReadOnlyList<ProcessorSpec> Postprocessors,
    PluginConfig Config,
    ReconnectSettings Reconnect,
    RestartSettings Restart,
    IsolationSettings Isolation)
{
    /// <summary><c>flow::connector</c>, how logs and status name it.</summary>
    public string Alias => $"{Flow}::{Name}";
}

/// <summary>One pipeline of a flow.</summary>
/// <param name="Flow">The flow it belongs to.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">The pipeline kind (<c>passthrough</c> until the query language lands).</param>
/// <param name="Path">Its HOCON key path.</param>
/// <param name="Config">Its whole section.</param>
public sealed record PipelineSpec(string Flow, string Name, string Type, string Path, PluginConfig Config)
{
    /// <summary><c>flow::pipeline</c>.</summary>
    public string Alias => $"{Flow}::{Name}";
}

/// <summary>An edge: <c>from/port -&gt; to/port</c>.</summary>
public sealed record LinkSpec(string From, string FromPort, string To, string ToPort, string Path)
{
    /// <inheritdoc />
    public override string ToString() => $"{From}/{FromPort} -> {To}/{ToPort}";
}

/// <summary>A deployable flow: connectors, pipelines and the links between their ports.</summary>
/// <param name="Placement">Where the flow runs in a cluster (ignored on a single node); null means the default, one node.</param>
public sealed record FlowSpec(string Name, string Path, IReadOnlyList<ConnectorSpec> Connectors, IReadOnlyList<PipelineSpec> Pipelines, IReadOnlyList<LinkSpec> Links, FlowPlacement? Placement = null);

/// <summary>Where a flow runs in a cluster (<c>placement = one | all</c>, or <c>placement { nodes = one | all, role = ROLE }</c>).</summary>
/// <param name="Everywhere">On every eligible node (e.g. a listener per node) instead of exactly one.</param>
/// <param name="Role">Only nodes with this cluster role are eligible; null for any node.</param>
public sealed record FlowPlacement(bool Everywhere, string? Role)
{
    /// <summary>Exactly one node, any role: the default.</summary>
    public static FlowPlacement One { get; } = new(false, null);

    /// <inheritdoc />
    public override string ToString() => (Everywhere ? "all" : "one") + (Role is null ? "" : $" (role {Role})");
}

/// <summary>Runtime knobs of the data path.</summary>
/// <param name="BatchSize">Events per batch between actors.</param>
/// <param name="Credits">Batches a downstream lets each upstream have in flight.</param>
/// <param name="DrainTimeout">How long a drain may take before the runtime stops anyway.</param>
public sealed record DataPathSettings(int BatchSize, int Credits, TimeSpan DrainTimeout)
{
    /// <summary>The defaults of <c>reference.conf</c>.</summary>
    public static DataPathSettings Default { get; } = new(128, 8, TimeSpan.FromSeconds(30));
}

/// <summary>Where plugins come from and which are trusted.</summary>
/// <param name="Directories">Folders searched for plugins.</param>
/// <param name="Trusted">name → SHA-256 (hex) of allowed plugin files.</param>
/// <param name="RequireTrusted">Refuse any plugin not in <paramref name="Trusted"/>.</param>
/// <param name="Watch">Load plugins dropped into <paramref name="Directories"/> while running.</param>
public sealed record PluginSettings(IReadOnlyList<string> Directories, IReadOnlyDictionary<string, string> Trusted, bool RequireTrusted, bool Watch = false, TimeSpan? InspectTimeout = null)
{
    /// <summary>How long the child process reading a native plugin's descriptor may take before it is killed (<c>inspect-timeout</c>).</summary>
    public TimeSpan InspectTimeoutOrDefault => InspectTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>The management API (<c>tremor.api</c>).</summary>
/// <param name="Enabled">Serve it.</param>
/// <param name="Bind">Address to listen on (loopback by default).</param>
/// <param name="Port">Port (0: any free one, printed at start).</param>
/// <param name="Token">The bearer token; empty: generate one into <paramref name="TokenFile"/>.</param>
/// <param name="TokenFile">Where a generated token is written (readable by the user only); empty: <see cref="DefaultTokenFile"/> of the port.</param>
/// <param name="AllowUntrustedLoad">Let the API load plugins that are not in <c>tremor.plugins.trusted</c>.</param>
public sealed record ApiSettings(bool Enabled, string Bind, int Port, string Token, string TokenFile, bool AllowUntrustedLoad)
{
    /// <summary>A token set in the config must be at least this long when the API listens beyond loopback.</summary>
    public const int MinRemoteTokenLength = 32;

    /// <summary>The defaults of <c>reference.conf</c>.</summary>
    public static ApiSettings Default { get; } = new(false, "127.0.0.1", 9898, "", "", false);

    /// <summary>
    /// Where the token of the API on <paramref name="port"/> is written when <c>token-file</c> is not set:
    /// <c>$XDG_STATE_HOME/tremor/api-PORT.token</c>, else <c>~/.local/state/tremor/api-PORT.token</c>. Not the working
    /// directory (which may be shared or writable by others), and one file per port so two runtimes never share one;
    /// <c>tremor api --url</c> finds it from the port.
    /// </summary>
    public static string DefaultTokenFile(int port)
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrEmpty(state) || !Path.IsPathRooted(state))
        {
            state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        }
        return Path.Combine(state, "tremor", $"api-{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}.token");
    }
}

/// <summary>Cluster deployment (<c>tremor.cluster</c>); only used when <c>akka.actor.provider = cluster</c>.</summary>
/// <param name="Enabled">The file configures a cluster (<c>akka.actor.provider = cluster</c>).</param>
/// <param name="NodeLocalConnectors">Connector types whose resources (files, stdin) stay on the node: a flow using one restarts elsewhere without them, and the status says so.</param>
public sealed record TremorClusterSettings(bool Enabled, IReadOnlyList<string> NodeLocalConnectors)
{
    /// <summary>The defaults of <c>reference.conf</c>: no cluster.</summary>
    public static TremorClusterSettings Default { get; } = new(false, ["file", "stdio"]);
}

/// <summary>How log lines are written (<c>tremor.log</c>).</summary>
public enum LogFormat
{
    /// <summary><c>HH:mm:ss.fff LEVEL message</c>, one line per entry.</summary>
    Text,

    /// <summary>One JSON object per line: <c>time</c>, <c>level</c>, <c>category</c>, <c>message</c>, <c>exception</c>.</summary>
    Json,
}

/// <summary>
/// Logging (<c>tremor.log</c>): one level and one format for Akka's, ASP.NET Core's and tremor's own log lines, all
/// through Microsoft.Extensions.Logging to stderr.
/// </summary>
/// <param name="Level">The least severe level written.</param>
/// <param name="Format">Text or JSON lines.</param>
/// <param name="Categories">Levels for logger categories (a category and those under it, e.g. <c>Microsoft.AspNetCore</c>).</param>
public sealed record LogSettings(Microsoft.Extensions.Logging.LogLevel Level, LogFormat Format, IReadOnlyDictionary<string, Microsoft.Extensions.Logging.LogLevel> Categories)
{
    /// <summary>The defaults of <c>reference.conf</c>: info, text, nothing per category.</summary>
    public static LogSettings Default { get; } = new(Microsoft.Extensions.Logging.LogLevel.Information, LogFormat.Text, new Dictionary<string, Microsoft.Extensions.Logging.LogLevel>(StringComparer.Ordinal));
}

/// <summary>The whole <c>tremor { }</c> section, validated.</summary>
public sealed record TremorSettings(PluginSettings Plugins, DataPathSettings DataPath, IReadOnlyList<FlowSpec> Flows, ApiSettings Api, TremorClusterSettings? Cluster = null, string DataDir = TremorSettings.DefaultDataDir, LogSettings? Log = null, bool MetricsEnabled = true)
{
    /// <summary>The log settings (never null).</summary>
    public LogSettings LogOrDefault => Log ?? LogSettings.Default;

    /// <summary>The default of <c>tremor.data-dir</c>, relative to the working directory.</summary>
    public const string DefaultDataDir = "tremor-data";

    /// <summary>The cluster settings (never null).</summary>
    public TremorClusterSettings ClusterOrDefault => Cluster ?? TremorClusterSettings.Default;
}
