using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors;

/// <summary>
/// The root of a running Tremor: owns the plugin, flow, connector and pipeline managers, deploys flows, and ends the
/// run when every flow completed or when a shutdown was asked for (drain first, bounded by the drain timeout). A deploy
/// is validated off this actor (plugin configs, query compilation), so it keeps answering meanwhile. At the end it
/// stops the flows that could not finish, so their connectors and pipelines report what they still held, and sets
/// the run's <see cref="RunSummary"/>: exit 0 only when every accepted event was delivered and no flow failed.
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
    private readonly HashSet<string> _validating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _cancelled = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private readonly HashSet<string> _stalledFlows = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flowsToStop = new(StringComparer.Ordinal);
    private readonly bool _keepRunning;
    private IActorRef _flows = ActorRefs.Nobody;
    private int _exitCode;
    private long _deadLettered;
    private bool _shuttingDown;
    private readonly Dictionary<long, PendingSwap> _swaps = [];
    private long _swapIds;

    /// <summary>
    /// Deploy a flow: validated off the world's thread unless <paramref name="Validated"/> (from
    /// <see cref="FlowValidator.Validate"/>) is given; a bad one is answered with <see cref="DeployFailed"/> and nothing
    /// starts.
    /// </summary>
    public sealed record DeployFlow(FlowSpec Spec, ValidatedFlow? Validated = null);

    /// <summary>The flow is deploying.</summary>
    public sealed record FlowDeployed(string Name);

    /// <summary>The flow was refused.</summary>
    public sealed record DeployFailed(string Name, string Reason);

    /// <summary>Drain everything, then end the run with <paramref name="ExitCode"/> (or 1, when events were lost).</summary>
    public sealed record ShutdownRequested(int ExitCode, string Reason);

    /// <summary>Stop at once, abandoning a drain under way (a second signal); the run ends non-zero.</summary>
    internal sealed record StopNow(string Reason);

    /// <summary>
    /// SIGINT or SIGTERM: drain, then stop; during a drain (a signal's, or one a connector asked for), stop at once.
    /// </summary>
    public sealed record SignalReceived(string Signal);

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

    private sealed record StopTimedOut;

    private sealed record Validated(FlowSpec Spec, ValidatedFlow? Flow, string? Error, IActorRef ReplyTo);

    /// <summary>How long the flows get to stop (and report their counts) once the run ended.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

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
            var name = m.Spec.Name;
            if (_specs.ContainsKey(name) || _stopping.ContainsKey(name) || _validating.Contains(name))
            {
                Sender.Tell(new DeployFailed(name, $"{m.Spec.Path}: a flow named '{name}' is already deployed"));
                return;
            }
            if (_shuttingDown)
            {
                Sender.Tell(new DeployFailed(name, $"{m.Spec.Path}: not deployed: the runtime is shutting down"));
                return;
            }
            if (m.Validated is { } validated)
            {
                StartFlow(validated, Sender);
                return;
            }
            // Validation creates plugin instances (whose Create checks the config) and compiles queries: not on the
            // root actor, which must keep answering the API and signals meanwhile.
            _validating.Add(name);
            var spec = m.Spec;
            var replyTo = Sender;
            var catalog = _catalog;
            Task.Run(() => FlowValidator.Validate(spec, catalog)).PipeTo(
                Self,
                success: flow => new Validated(spec, flow, null, replyTo),
                failure: e => new Validated(spec, null, (e is AggregateException { InnerException: { } inner } ? inner : e) switch
                {
                    ConfigException c => c.Message,
                    var other => $"{spec.Path}: validation failed: {other.Message}",
                }, replyTo));
        });
        Receive<Validated>(m =>
        {
            _validating.Remove(m.Spec.Name);
            if (_cancelled.Remove(m.Spec.Name, out var undeployed))
            {
                m.ReplyTo.Tell(new DeployFailed(m.Spec.Name, $"{m.Spec.Path}: not deployed: undeployed while it was being validated"));
                foreach (var w in undeployed) w.Tell(new FlowUndeployed(m.Spec.Name));
                return;
            }
            if (m.Flow is null)
            {
                m.ReplyTo.Tell(new DeployFailed(m.Spec.Name, m.Error!));
                return;
            }
            if (_shuttingDown)
            {
                m.ReplyTo.Tell(new DeployFailed(m.Spec.Name, $"{m.Spec.Path}: not deployed: the runtime is shutting down"));
                return;
            }
            StartFlow(m.Flow, m.ReplyTo);
        });
        Receive<FlowActor.FlowCompleted>(m =>
        {
            if (m.Failure is not null) _failures.Add(m.Failure);
            if (m.Stalled) _stalledFlows.Add(m.Name);
            _completed.Add(m.Name);
            if (_undeployWaiters.Remove(m.Name, out var waiters)) Remove(m.Name, waiters);
            if (_completed.Count >= _specs.Count && (!_keepRunning || _shuttingDown))
            {
                Finish(_exitCode, _shuttingDown ? "drained" : _failures.Count > 0 ? "every flow ended, not all of them well" : "every flow completed");
            }
        });
        Receive<UndeployFlow>(m =>
        {
            if (_validating.Contains(m.Name))
            {
                // Not deployed yet: it will not be, and the waiters hear so once its validation is done.
                if (!_cancelled.TryGetValue(m.Name, out var cancelWaiters)) _cancelled[m.Name] = cancelWaiters = [];
                cancelWaiters.Add(Sender);
                return;
            }
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
        Receive<ShutdownRequested>(m => Drain(m.ExitCode, m.Reason));
        Receive<DrainTimedOut>(_ =>
        {
            _log.Warning("drain did not finish within {0}s; stopping anyway", _dataPath.DrainTimeout.TotalSeconds);
            Finish(_exitCode, "drain timed out", $"the drain did not finish within {_dataPath.DrainTimeout.TotalSeconds}s (tremor.data-path.drain-timeout)");
        });
        Receive<SignalReceived>(m =>
        {
            if (_shuttingDown) StopNowBecause($"received {m.Signal} during the drain");
            else Drain(0, $"received {m.Signal}");
        });
        Receive<StopNow>(m => StopNowBecause(m.Reason));
        Receive<SwapPlugin>(OnSwapPlugin);
        Receive<ConnectorActor.InstanceReplaced>(OnInstanceReplaced);
        Receive<SwapTimedOut>(m => FinishSwap(m.Id));
        Receive<FlowManager.Broadcast>(m => _flows.Forward(m));
        Receive<DeadLetter>(CountDeadLetter);
    }

    /// <summary>A batch sent to an actor that was gone (a pipeline that died, a connector stopped at the end) is lost: counted.</summary>
    private void CountDeadLetter(DeadLetter d)
    {
        if (d.Message is Links.EventBatch batch) _deadLettered += batch.Events.Length;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _services.World = Self;
        _services.System = Context.System;
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        var connectors = Context.ActorOf(ConnectorManager.Props(_catalog, _services, _dataPath), "connectors");
        var pipelines = Context.ActorOf(PipelineManager.Props(_dataPath, _services), "pipelines");
        _flows = Context.ActorOf(FlowManager.Props(connectors, pipelines, Self), "flows");
        // Found by type through Akka.Hosting's registry (the management API asks them), never by path; a world restarted
        // by its supervisor registers its new managers over the old.
        var registry = ActorRegistry.For(Context.System);
        registry.Register<ConnectorManager>(connectors, overwrite: true);
        registry.Register<PipelineManager>(pipelines, overwrite: true);
        registry.Register<FlowManager>(_flows, overwrite: true);
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

    private void OnInstanceReplaced(ConnectorActor.InstanceReplaced m)
    {
        var entry = _swaps.FirstOrDefault(s => s.Value.Waiting.Remove(m.Alias));
        if (entry.Value is not { } swap) return;
        swap.Restarted.Add(m.Alias);
        if (swap.Waiting.Count == 0) FinishSwap(entry.Key);
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

    private void Drain(int exitCode, string reason)
    {
        if (_shuttingDown) return;
        _shuttingDown = true;
        _exitCode = exitCode;
        _log.Info("shutdown requested ({0}): draining", reason);
        if (_completed.Count >= _specs.Count)
        {
            Finish(_exitCode, reason);
            return;
        }
        _flows.Tell(new FlowManager.Broadcast(new FlowActor.DrainFlow()));
        Timers.StartSingleTimer("drain", new DrainTimedOut(), _dataPath.DrainTimeout);
    }

    private void StopNowBecause(string reason)
    {
        _log.Warning("{0}: stopping now{1}", reason, _shuttingDown ? ", abandoning the drain" : "");
        Finish(RunSummary.Lost, reason, $"{reason}: stopped without draining");
    }

    private void StartFlow(ValidatedFlow flow, IActorRef replyTo)
    {
        _specs[flow.Spec.Name] = flow.Spec;
        _flows.Tell(new FlowManager.Deploy(flow));
        replyTo.Tell(new FlowDeployed(flow.Spec.Name));
    }

    /// <summary>
    /// The run is over: set the summary and the exit code. Flows that completed reported their counts when they did;
    /// the others (stalled by a part that died, or cut off by a drain timeout or a second signal) are stopped first, so
    /// their connectors and pipelines report what they still held.
    /// </summary>
    private void Finish(int code, string reason, string? abandoned = null)
    {
        _log.Info("runtime finished: {0}", reason);
        Timers.Cancel("drain");
        _flowsToStop.UnionWith(_specs.Keys.Where(n => !_completed.Contains(n) || _stalledFlows.Contains(n)));
        foreach (var name in _flowsToStop) _flows.Tell(new FlowManager.StopFlow(name));
        if (_flowsToStop.Count == 0)
        {
            // Nothing to stop: the world keeps serving (what it is asked after the run is up to its owner).
            Summarize(code, abandoned);
            return;
        }
        Become(() => Stopping(code, abandoned));
        Timers.StartSingleTimer("stop", new StopTimedOut(), StopTimeout);
    }

    private void Stopping(int code, string? abandoned)
    {
        Receive<FlowManager.FlowStopped>(m =>
        {
            _flowsToStop.Remove(m.Name);
            if (_stopping.Remove(m.Name, out var waiters))
            {
                foreach (var w in waiters) w.Tell(new FlowUndeployed(m.Name));
            }
            if (_flowsToStop.Count == 0) Summarize(code, abandoned);
        });
        Receive<StopTimedOut>(_ =>
        {
            _failures.Add($"flow(s) {string.Join(", ", _flowsToStop.Order(StringComparer.Ordinal))} did not stop within {StopTimeout.TotalSeconds}s; their counts are missing");
            Summarize(code, abandoned);
        });
        Receive<FlowActor.FlowCompleted>(m =>
        {
            if (m.Failure is not null) _failures.Add(m.Failure);
        });
        Receive<DeployFlow>(m => Sender.Tell(new DeployFailed(m.Spec.Name, $"{m.Spec.Path}: not deployed: the runtime is stopping")));
        Receive<Validated>(m =>
        {
            m.ReplyTo.Tell(new DeployFailed(m.Spec.Name, $"{m.Spec.Path}: not deployed: the runtime is stopping"));
            if (_cancelled.Remove(m.Spec.Name, out var undeployed))
            {
                foreach (var w in undeployed) w.Tell(new FlowUndeployed(m.Spec.Name));
            }
        });
        Receive<UndeployFlow>(m => Sender.Tell(new UndeployFailed(m.Name, "the runtime is stopping")));
        // A swap under way still hears from its connectors (or times out); a new one has nothing left to swap.
        Receive<ConnectorActor.InstanceReplaced>(OnInstanceReplaced);
        Receive<SwapTimedOut>(m => FinishSwap(m.Id));
        Receive<SwapPlugin>(m => Sender.Tell(new PluginSwapped(m.Plugin, [], [])));
        Receive<ListFlows>(_ => Sender.Tell(new FlowList(_specs.Values.Select(s => (s, _completed.Contains(s.Name))).ToList())));
        Receive<FlowManager.SendTo>(m => _flows.Forward(m));
        Receive<FlowManager.Broadcast>(m => _flows.Forward(m));
        Receive<DeadLetter>(CountDeadLetter);
        ReceiveAny(_ => { });
    }

    private void Summarize(int code, string? abandoned)
    {
        if (_services.Ledger.Summary is not null) return;
        Timers.Cancel("stop");
        var summary = RunSummary.From(_services.Ledger.Tallies, _failures, code, abandoned, _deadLettered);
        _services.Ledger.Summary = summary; // the run command prints it as the run's last line
        _exit.TrySetResult(summary.ExitCode);
    }
}
