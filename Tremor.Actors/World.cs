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
    private readonly HashSet<string> _deployed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _completed = new(StringComparer.Ordinal);
    private IActorRef _flows = ActorRefs.Nobody;
    private int _exitCode;
    private bool _shuttingDown;

    /// <summary>Deploy a flow (validated here; a bad one is answered with <see cref="DeployFailed"/> and nothing starts).</summary>
    public sealed record DeployFlow(FlowSpec Spec);

    /// <summary>The flow is deploying.</summary>
    public sealed record FlowDeployed(string Name);

    /// <summary>The flow was refused.</summary>
    public sealed record DeployFailed(string Name, string Reason);

    /// <summary>Drain everything, then end the run with <paramref name="ExitCode"/>.</summary>
    public sealed record ShutdownRequested(int ExitCode, string Reason);

    private sealed record DrainTimedOut;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props; <paramref name="exit"/> completes with the exit code when the run ends.</summary>
    public static Props Props(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, TaskCompletionSource<int> exit) =>
        Akka.Actor.Props.Create(() => new World(catalog, services, dataPath, exit));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public World(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, TaskCompletionSource<int> exit)
    {
        _catalog = catalog;
        _services = services;
        _dataPath = dataPath;
        _exit = exit;

        Receive<DeployFlow>(m =>
        {
            if (_deployed.Contains(m.Spec.Name))
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
            _deployed.Add(m.Spec.Name);
            _flows.Tell(new FlowManager.Deploy(m.Spec, factories));
            Sender.Tell(new FlowDeployed(m.Spec.Name));
        });
        Receive<FlowActor.FlowCompleted>(m =>
        {
            _completed.Add(m.Name);
            if (_completed.Count >= _deployed.Count) Finish(_exitCode, _shuttingDown ? "drained" : "every flow completed");
        });
        Receive<ShutdownRequested>(m =>
        {
            if (_shuttingDown) return;
            _shuttingDown = true;
            _exitCode = m.ExitCode;
            _log.Info("shutdown requested ({0}): draining", m.Reason);
            if (_completed.Count >= _deployed.Count)
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

    private void Finish(int code, string reason)
    {
        _log.Info("runtime finished: {0}", reason);
        _exit.TrySetResult(code);
    }
}
