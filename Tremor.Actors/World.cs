using Akka.Actor;
using Akka.Event;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors;

/// <summary>
/// The root of a running Tremor: owns the plugin, flow, connector and pipeline managers, deploys flows, and ends the
/// run when every flow completed or when a shutdown was asked for (drain first, bounded by the drain timeout).
/// </summary>
public sealed class World : ReceiveActor, IWithTimers
{
    private readonly PluginCatalog _catalog;
    private readonly RuntimeServices _services;
    private readonly DataPathSettings _dataPath;
    private readonly TaskCompletionSource<int> _exit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _completed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FlowSpec> _specs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _undeployWaiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _stopping = new(StringComparer.Ordinal);
    private readonly bool _keepRunning;
    private IActorRef _flows = ActorRefs.Nobody;
    private int _exitCode;
    private bool _shuttingDown;
    private readonly Dictionary<long, PendingSwap> _swaps = [];
    private long _swapIds;

    /// <summary>Deploy a flow (validated here; a bad one is answered with <see cref="DeployFailed"/> and nothing starts).</summary>
    public sealed record DeployFlow(FlowSpec Spec);

    /// <summary>The flow is deploying.</summary>
    public sealed record FlowDeployed(string Name);

    /// <summary>The flow was refused.</summary>
    public sealed record DeployFailed(string Name, string Reason);

    /// <summary>Drain everything, then end the run with <paramref name="ExitCode"/>.</summary>
    public sealed record ShutdownRequested(int ExitCode, string Reason);

    /// <summary>Drain a flow, then stop it; answered with <see cref="FlowUndeployed"/> or <see cref="UndeployFailed"/>.</summary>
    public sealed record UndeployFlow(string Name);

    /// <summary>The flow drained and stopped.</summary>
    public sealed record FlowUndeployed(string Name);

    /// <summary>The flow could not be undeployed.</summary>
    public sealed record UndeployFailed(string Name, string Reason);

    /// <summary>Ask for the deployed flows.</summary>
    public sealed record ListFlows;

    /// <summary>The deployed flows and whether each completed.</summary>
    public sealed record FlowList(IReadOnlyList<(FlowSpec Spec, bool Completed)> Flows);

    /// <summary>
    /// Hot swap of <paramref name="Plugin"/>, whose new version the catalog already provides: every running connector of
    /// one of <paramref name="Types"/> replaces its plugin instance by one of the new version; links, pipelines and the
    /// other connectors stay up. Answered with <see cref="PluginSwapped"/> once each released its old instance, or
    /// after the drain timeout.
    /// </summary>
    public sealed record SwapPlugin(string Plugin, IReadOnlyCollection<string> Types);

    /// <summary>The connectors (aliases) that now run the new version, and those that had not let go of the old one in time.</summary>
    public sealed record PluginSwapped(string Plugin, IReadOnlyList<string> Restarted, IReadOnlyList<string> StillSwapping);

    private sealed record SwapTimedOut(long Id);

    private sealed record DrainTimedOut;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props; <paramref name="exit"/> completes with the exit code when the run ends.</summary>
    /// <remarks>With <paramref name="keepRunning"/> (a management API is serving), the run does not end when every flow completed.</remarks>
    public static Props Props(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, TaskCompletionSource<int> exit, bool keepRunning = false) =>
        Akka.Actor.Props.Create(() => new World(catalog, services, dataPath, exit, keepRunning));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public World(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, TaskCompletionSource<int> exit, bool keepRunning)
    {
        _keepRunning = keepRunning;
        _catalog = catalog;
        _services = services;
        _dataPath = dataPath;
        _exit = exit;

        Receive<DeployFlow>(m =>
        {
            if (_specs.ContainsKey(m.Spec.Name) || _stopping.ContainsKey(m.Spec.Name))
            {
                Sender.Tell(new DeployFailed(m.Spec.Name, $"{m.Spec.Path}: a flow named '{m.Spec.Name}' is already deployed"));
                return;
            }
            IReadOnlyDictionary<string, IConnectorFactory> factories;
            try
            {
                factories = FlowValidator.Validate(m.Spec, _catalog);
            }
            catch (ConfigException e)
            {
                Sender.Tell(new DeployFailed(m.Spec.Name, e.Message));
                return;
            }
            _specs[m.Spec.Name] = m.Spec;
            _flows.Tell(new FlowManager.Deploy(m.Spec, factories));
            Sender.Tell(new FlowDeployed(m.Spec.Name));
        });
        Receive<FlowActor.FlowCompleted>(m =>
        {
            _completed.Add(m.Name);
            if (_undeployWaiters.Remove(m.Name, out var waiters)) Remove(m.Name, waiters);
            if (_completed.Count >= _specs.Count && (!_keepRunning || _shuttingDown))
            {
                Finish(_exitCode, _shuttingDown ? "drained" : "every flow completed");
            }
        });
        Receive<UndeployFlow>(m =>
        {
            if (!_specs.ContainsKey(m.Name))
            {
                Sender.Tell(new UndeployFailed(m.Name, $"no flow named '{m.Name}' is deployed (deployed: {string.Join(", ", _specs.Keys)})"));
                return;
            }
            if (_completed.Contains(m.Name))
            {
                Remove(m.Name, [Sender]);
                return;
            }
            if (!_undeployWaiters.TryGetValue(m.Name, out var waiters))
            {
                waiters = [];
                _undeployWaiters[m.Name] = waiters;
                _flows.Tell(new FlowManager.SendTo(m.Name, new FlowActor.DrainFlow()));
            }
            waiters.Add(Sender);
        });
        Receive<ListFlows>(_ => Sender.Tell(new FlowList(_specs.Values.Select(s => (s, _completed.Contains(s.Name))).ToList())));
        Receive<FlowManager.SendTo>(m => _flows.Forward(m));
        Receive<FlowManager.FlowStopped>(m =>
        {
            if (!_stopping.Remove(m.Name, out var waiters)) return;
            foreach (var w in waiters) w.Tell(new FlowUndeployed(m.Name));
        });
        Receive<ShutdownRequested>(m =>
        {
            if (_shuttingDown) return;
            _shuttingDown = true;
            _exitCode = m.ExitCode;
            _log.Info("shutdown requested ({0}): draining", m.Reason);
            if (_completed.Count >= _specs.Count)
            {
                Finish(_exitCode, m.Reason);
                return;
            }
            _flows.Tell(new FlowManager.Broadcast(new FlowActor.DrainFlow()));
            Timers.StartSingleTimer("drain", new DrainTimedOut(), _dataPath.DrainTimeout);
        });
        Receive<DrainTimedOut>(_ =>
        {
            _log.Warning("drain did not finish within {0}s; stopping anyway", _dataPath.DrainTimeout.TotalSeconds);
            Finish(_exitCode, "drain timed out");
        });
        Receive<SwapPlugin>(OnSwapPlugin);
        Receive<ConnectorActor.InstanceReplaced>(m =>
        {
            var entry = _swaps.FirstOrDefault(s => s.Value.Waiting.Remove(m.Alias));
            if (entry.Value is not { } swap) return;
            swap.Restarted.Add(m.Alias);
            if (swap.Waiting.Count == 0) FinishSwap(entry.Key);
        });
        Receive<SwapTimedOut>(m => FinishSwap(m.Id));
        Receive<PluginManager.ListPlugins>(m => _plugins.Forward(m));
        Receive<FlowManager.Broadcast>(m => _flows.Forward(m));
    }

    private IActorRef _plugins = ActorRefs.Nobody;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _services.World = Self;
        _plugins = Context.ActorOf(PluginManager.Props(_catalog), "plugins");
        var connectors = Context.ActorOf(ConnectorManager.Props(_catalog, _services, _dataPath), "connectors");
        var pipelines = Context.ActorOf(PipelineManager.Props(_dataPath), "pipelines");
        _flows = Context.ActorOf(FlowManager.Props(connectors, pipelines, Self), "flows");
    }

    private void OnSwapPlugin(SwapPlugin m)
    {
        var id = ++_swapIds;
        var swap = new PendingSwap(m.Plugin, Sender);
        foreach (var spec in _specs.Values.Where(s => !_completed.Contains(s.Name)))
        {
            var factories = new Dictionary<string, IConnectorFactory>(StringComparer.Ordinal);
            foreach (var c in spec.Connectors.Where(c => m.Types.Contains(c.Type)))
            {
                try
                {
                    factories[c.Name] = _catalog.Connector(c.Type, $"{c.Path}.type", c.Isolation);
                    swap.Waiting.Add(c.Alias);
                }
                catch (ConfigException e)
                {
                    // Checked before the swap; if it happens anyway the connector keeps its old instance.
                    _log.Error("{0}: keeps the old version of plugin '{1}': {2}", c.Alias, m.Plugin, e.Message);
                }
            }
            // The flow hands each connector its factory; the connectors answer here (the sender is kept).
            if (factories.Count > 0) _flows.Tell(new FlowManager.SendTo(spec.Name, new FlowActor.SwapConnectors(factories)));
        }
        _swaps[id] = swap;
        if (swap.Waiting.Count == 0)
        {
            FinishSwap(id);
            return;
        }
        Timers.StartSingleTimer($"swap-{id}", new SwapTimedOut(id), _dataPath.DrainTimeout);
    }

    private void FinishSwap(long id)
    {
        if (!_swaps.Remove(id, out var swap)) return;
        Timers.Cancel($"swap-{id}");
        if (swap.Waiting.Count > 0)
        {
            _log.Warning("plugin '{0}' swapped; still letting go of the old version: {1}", swap.Plugin, string.Join(", ", swap.Waiting));
        }
        swap.ReplyTo.Tell(new PluginSwapped(swap.Plugin, swap.Restarted.Order(StringComparer.Ordinal).ToList(), swap.Waiting.Order(StringComparer.Ordinal).ToList()));
    }

    /// <summary>A hot swap waiting for its connectors to release their old instances.</summary>
    private sealed class PendingSwap(string plugin, IActorRef replyTo)
    {
        public string Plugin { get; } = plugin;

        public IActorRef ReplyTo { get; } = replyTo;

        public HashSet<string> Waiting { get; } = new(StringComparer.Ordinal);

        public List<string> Restarted { get; } = [];
    }

    /// <summary>Stops a drained flow; the waiters hear <see cref="FlowUndeployed"/> once its actors are gone, so the name can be deployed again.</summary>
    private void Remove(string name, List<IActorRef> waiters)
    {
        _stopping[name] = waiters;
        _flows.Tell(new FlowManager.StopFlow(name));
        _completed.Remove(name);
        _specs.Remove(name);
    }

    private void Finish(int code, string reason)
    {
        _log.Info("runtime finished: {0}", reason);
        _exit.TrySetResult(code);
    }
}
