using Akka.Actor;
using Akka.Event;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Actors.Pipelines;
using Tremor.Pdk;

namespace Tremor.Actors.Flows;

/// <summary>The states of a flow.</summary>
public enum FlowState
{
    /// <summary>Its connectors and pipelines are being created.</summary>
    Deploying,
    /// <summary>Events are moving.</summary>
    Running,
    /// <summary>Paused by request.</summary>
    Paused,
    /// <summary>Asked to drain: sources pull nothing new.</summary>
    Draining,
    /// <summary>Every source finished and every sink delivered what it got.</summary>
    Completed,
    /// <summary>A part of it could not be created or died: it cannot finish (reported to the world as failed).</summary>
    Failed,
}

/// <summary>
/// One deployed flow: has the connector and pipeline managers create its parts, links their ports, starts the
/// connectors, and reports completion (every source finished and every sink drained) to the world, with what failed
/// on the way: a connector that failed for good (never connected, past its restart limit) fails the flow when it
/// completes; a part that could not be created or whose actor died fails it at once, since the events upstream of it
/// can go nowhere and the flow would never complete.
/// </summary>
public sealed class FlowActor : ReceiveActor, IWithUnboundedStash
{
    private readonly FlowSpec _spec;
    private readonly Dictionary<string, IConnectorFactory> _factories;
    private readonly IReadOnlyDictionary<string, Func<IPipelineProgram>> _programs;
    private readonly IActorRef _connectorManager;
    private readonly IActorRef _pipelineManager;
    private readonly IActorRef _world;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConnectorState> _connectorStates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sourcesFinished = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sinksDrained = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private FlowState _state = FlowState.Deploying;
    private bool _drainRequested;
    private int _created; // parts answered for (created or not): the links are made once all did
    private bool _stoppingNodes;

    /// <summary>Drain the flow (sources stop, in-flight events are delivered).</summary>
    internal sealed record DrainFlow;

    /// <summary>Pause every connector.</summary>
    public sealed record PauseFlow;

    /// <summary>Resume every connector.</summary>
    public sealed record ResumeFlow;

    /// <summary>Ask for a <see cref="FlowStatus"/>.</summary>
    public sealed record GetFlowStatus;

    /// <summary>A flow's state and the state of each connector.</summary>
    public sealed record FlowStatus(string Name, FlowState State, IReadOnlyDictionary<string, ConnectorState> Connectors);

    /// <summary>Stop every connector and pipeline of the flow, then the flow itself.</summary>
    internal sealed record StopNodes;

    /// <summary>
    /// Reported to the world when the flow completed, or failed (<paramref name="Failure"/> says what);
    /// <paramref name="Stalled"/> when it could not drain (its parts may still hold events).
    /// </summary>
    internal sealed record FlowCompleted(string Name, string? Failure = null, bool Stalled = false);

    /// <summary>
    /// Hot swap: the named connectors get instances from these factories (the new version of their plugin); links,
    /// pipelines and the other connectors stay as they are. Each connector answers the sender with
    /// <see cref="ConnectorActor.InstanceReplaced"/>.
    /// </summary>
    internal sealed record SwapConnectors(IReadOnlyDictionary<string, IConnectorFactory> Factories);

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props for a validated flow.</summary>
    /// <remarks>
    /// The factories are copied: a hot swap replaces entries, and Props must not keep an old plugin reachable (so the
    /// validated flow itself is not kept either, only its spec and compiled programs).
    /// </remarks>
    public static Props Props(ValidatedFlow flow, IActorRef connectorManager, IActorRef pipelineManager, IActorRef world) =>
        Akka.Actor.Props.Create(() => new FlowActor(flow.Spec, new Dictionary<string, IConnectorFactory>(flow.Factories, StringComparer.Ordinal), flow.Programs, connectorManager, pipelineManager, world));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public FlowActor(FlowSpec spec, Dictionary<string, IConnectorFactory> factories, IReadOnlyDictionary<string, Func<IPipelineProgram>> programs, IActorRef connectorManager, IActorRef pipelineManager, IActorRef world)
    {
        _spec = spec;
        _factories = factories;
        _programs = programs;
        _connectorManager = connectorManager;
        _pipelineManager = pipelineManager;
        _world = world;
        Deploying();
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        foreach (var c in _spec.Connectors)
        {
            _connectorManager.Tell(new ConnectorManager.CreateConnector(c, _factories[c.Name], Self));
        }
        foreach (var p in _spec.Pipelines)
        {
            _pipelineManager.Tell(new PipelineManager.CreatePipeline(p, _programs[p.Name], Self));
        }
    }

    private void Deploying()
    {
        Receive<ConnectorManager.ConnectorCreated>(m => Created(m.Name, m.Connector));
        Receive<PipelineManager.PipelineCreated>(m => Created(m.Name, m.Pipeline));
        Receive<ConnectorManager.CreateFailed>(m =>
        {
            _created++;
            FailNow(m.Reason);
        });
        Receive<DrainFlow>(_ => _drainRequested = true);
        Receive<SwapConnectors>(_ => Stash.Stash()); // once every connector exists
        Common();
    }

    private void Created(string name, IActorRef node)
    {
        _created++;
        _nodes[name] = node;
        Context.Watch(node);
        if (_state == FlowState.Failed)
        {
            // Another part could not be created: this one has nothing to take part in.
            node.Tell(PoisonPill.Instance);
            return;
        }
        if (_created < _spec.Connectors.Count + _spec.Pipelines.Count) return;

        foreach (var link in _spec.Links)
        {
            var from = _nodes[link.From];
            var to = _nodes[link.To];
            from.Tell(new LinkOutput(link.FromPort, to, link.ToPort));
            to.Tell(new LinkInput(from));
        }
        foreach (var c in _spec.Connectors) _nodes[c.Name].Tell(new ConnectorActor.Start());
        _state = FlowState.Running;
        _log.Info("flow '{0}' deployed: {1} connector(s), {2} pipeline(s), {3} link(s)", _spec.Name, _spec.Connectors.Count, _spec.Pipelines.Count, _spec.Links.Count);
        Become(Running);
        Stash.UnstashAll();
        if (_drainRequested) Self.Tell(new DrainFlow());
    }

    private void Running()
    {
        Receive<SwapConnectors>(m =>
        {
            foreach (var (name, factory) in m.Factories)
            {
                if (!_nodes.TryGetValue(name, out var node)) continue;
                _factories[name] = factory;
                node.Tell(new ConnectorActor.ReplaceInstance(factory), Sender);
            }
        });
        Receive<DrainFlow>(_ =>
        {
            if (_state is FlowState.Completed or FlowState.Failed) return;
            _state = FlowState.Draining;
            TellConnectors(new ConnectorActor.Drain());
        });
        Receive<PauseFlow>(_ =>
        {
            if (_state != FlowState.Running) return;
            _state = FlowState.Paused;
            TellConnectors(new ConnectorActor.Pause());
        });
        Receive<ResumeFlow>(_ =>
        {
            if (_state != FlowState.Paused) return;
            _state = FlowState.Running;
            TellConnectors(new ConnectorActor.Resume());
        });
        Common();
    }

    private void Common()
    {
        Receive<ConnectorActor.StateChanged>(m =>
        {
            _connectorStates[m.Alias] = m.State;
            // Failed for good (never connected, or past its restart limit): the rest of the flow goes on, but the
            // flow did not do what it was deployed for.
            if (m.State == ConnectorState.Failed) _failures.Add($"connector '{m.Alias}' failed: {m.Reason}");
        });
        Receive<ConnectorActor.SourceFinished>(m =>
        {
            _sourcesFinished.Add(m.Alias);
            CheckCompleted();
        });
        Receive<ConnectorActor.SinkDrained>(m =>
        {
            _sinksDrained.Add(m.Alias);
            CheckCompleted();
        });
        Receive<GetFlowStatus>(_ => Sender.Tell(new FlowStatus(_spec.Name, _state, new Dictionary<string, ConnectorState>(_connectorStates))));
        Receive<StopNodes>(_ =>
        {
            _stoppingNodes = true;
            if (_nodes.Count == 0) Context.Stop(Self);
            foreach (var node in _nodes.Values) node.Tell(PoisonPill.Instance);
        });
        Receive<Terminated>(t =>
        {
            if (_stoppingNodes)
            {
                var gone = _nodes.FirstOrDefault(kv => kv.Value.Equals(t.ActorRef)).Key;
                if (gone is not null) _nodes.Remove(gone);
                if (_nodes.Count == 0) Context.Stop(Self);
                return;
            }
            var name = _nodes.FirstOrDefault(kv => kv.Value.Equals(t.ActorRef)).Key;
            if (name is null) return;
            _nodes.Remove(name); // gone: StopNodes must not wait for it
            if (_state is FlowState.Completed or FlowState.Failed) return;
            // A connector or pipeline actor that died (not its plugin: that is handled inside) cannot take part any
            // more: what is upstream of it waits for credit forever, what is downstream for its end of stream.
            FailNow($"'{name}' stopped unexpectedly (its actor died; see the error logged before)");
        });
    }

    /// <summary>The flow cannot complete: report it failed now, and drain what is left so sources stop.</summary>
    private void FailNow(string reason)
    {
        if (_state is FlowState.Completed or FlowState.Failed) return;
        _failures.Add(reason);
        _state = FlowState.Failed;
        _log.Error("flow '{0}' failed: {1}", _spec.Name, reason);
        TellConnectors(new ConnectorActor.Drain());
        _world.Tell(new FlowCompleted(_spec.Name, Failure(), Stalled: true));
    }

    private void TellConnectors(object message)
    {
        foreach (var c in _spec.Connectors)
        {
            if (_nodes.TryGetValue(c.Name, out var node)) node.Tell(message);
        }
    }

    private string Failure() => $"flow '{_spec.Name}' failed: {string.Join("; ", _failures)}";

    private void CheckCompleted()
    {
        if (_state is FlowState.Completed or FlowState.Failed) return;
        if (_sourcesFinished.Count < _spec.Connectors.Count || _sinksDrained.Count < _spec.Connectors.Count) return;
        if (_failures.Count > 0)
        {
            _state = FlowState.Failed;
            _log.Error("flow '{0}' ended, failed: {1}", _spec.Name, string.Join("; ", _failures));
            _world.Tell(new FlowCompleted(_spec.Name, Failure()));
            return;
        }
        _state = FlowState.Completed;
        _log.Info("flow '{0}' completed", _spec.Name);
        _world.Tell(new FlowCompleted(_spec.Name));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var node in _nodes.Values) Context.Stop(node);
    }
}
