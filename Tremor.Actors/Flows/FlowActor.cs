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
}

/// <summary>
/// One deployed flow: has the connector and pipeline managers create its parts, links their ports, starts the
/// connectors, and reports completion (every source finished and every sink drained) to the world.
/// </summary>
public sealed class FlowActor : ReceiveActor, IWithUnboundedStash
{
    private readonly FlowSpec _spec;
    private readonly Dictionary<string, IConnectorFactory> _factories;
    private readonly IActorRef _connectorManager;
    private readonly IActorRef _pipelineManager;
    private readonly IActorRef _world;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConnectorState> _connectorStates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sourcesFinished = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sinksDrained = new(StringComparer.Ordinal);
    private FlowState _state = FlowState.Deploying;
    private bool _drainRequested;
    private bool _stoppingNodes;

    /// <summary>Drain the flow (sources stop, in-flight events are delivered).</summary>
    public sealed record DrainFlow;

    /// <summary>Pause every connector.</summary>
    public sealed record PauseFlow;

    /// <summary>Resume every connector.</summary>
    public sealed record ResumeFlow;

    /// <summary>Ask for a <see cref="FlowStatus"/>.</summary>
    public sealed record GetFlowStatus;

    /// <summary>A flow's state and the state of each connector.</summary>
    public sealed record FlowStatus(string Name, FlowState State, IReadOnlyDictionary<string, ConnectorState> Connectors);

    /// <summary>Stop every connector and pipeline of the flow, then the flow itself.</summary>
    public sealed record StopNodes;

    /// <summary>Reported to the world when the flow completed.</summary>
    public sealed record FlowCompleted(string Name);

    /// <summary>
    /// Hot swap: the named connectors get instances from these factories (the new version of their plugin); links,
    /// pipelines and the other connectors stay as they are. Each connector answers the sender with
    /// <see cref="ConnectorActor.InstanceReplaced"/>.
    /// </summary>
    public sealed record SwapConnectors(IReadOnlyDictionary<string, IConnectorFactory> Factories);

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props for a validated flow.</summary>
    /// <remarks>The factories are copied: a hot swap replaces entries, and Props must not keep an old plugin reachable.</remarks>
    public static Props Props(FlowSpec spec, IReadOnlyDictionary<string, IConnectorFactory> factories, IActorRef connectorManager, IActorRef pipelineManager, IActorRef world) =>
        Akka.Actor.Props.Create(() => new FlowActor(spec, new Dictionary<string, IConnectorFactory>(factories, StringComparer.Ordinal), connectorManager, pipelineManager, world));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public FlowActor(FlowSpec spec, Dictionary<string, IConnectorFactory> factories, IActorRef connectorManager, IActorRef pipelineManager, IActorRef world)
    {
        _spec = spec;
        _factories = factories;
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
            _pipelineManager.Tell(new PipelineManager.CreatePipeline(p, Self));
        }
    }

    private void Deploying()
    {
        Receive<ConnectorManager.ConnectorCreated>(m => Created(m.Name, m.Connector));
        Receive<PipelineManager.PipelineCreated>(m => Created(m.Name, m.Pipeline));
        Receive<DrainFlow>(_ => _drainRequested = true);
        Receive<SwapConnectors>(_ => Stash.Stash()); // once every connector exists
        Common();
    }

    private void Created(string name, IActorRef node)
    {
        _nodes[name] = node;
        Context.Watch(node);
        if (_nodes.Count < _spec.Connectors.Count + _spec.Pipelines.Count) return;

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
            if (_state == FlowState.Completed) return;
            _state = FlowState.Draining;
            foreach (var c in _spec.Connectors) _nodes[c.Name].Tell(new ConnectorActor.Drain());
        });
        Receive<PauseFlow>(_ =>
        {
            if (_state != FlowState.Running) return;
            _state = FlowState.Paused;
            foreach (var c in _spec.Connectors) _nodes[c.Name].Tell(new ConnectorActor.Pause());
        });
        Receive<ResumeFlow>(_ =>
        {
            if (_state != FlowState.Paused) return;
            _state = FlowState.Running;
            foreach (var c in _spec.Connectors) _nodes[c.Name].Tell(new ConnectorActor.Resume());
        });
        Common();
    }

    private void Common()
    {
        Receive<ConnectorActor.StateChanged>(m => _connectorStates[m.Alias] = m.State);
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
        Receive<PipelineActor.PipelineFinished>(_ => { });
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
            if (name is null || _state == FlowState.Completed) return;
            // A connector or pipeline actor that died (not its plugin: that is handled inside) cannot take part any more.
            _log.Error("flow '{0}': '{1}' stopped unexpectedly", _spec.Name, name);
            var alias = $"{_spec.Name}::{name}";
            _sourcesFinished.Add(alias);
            _sinksDrained.Add(alias);
            CheckCompleted();
        });
    }

    private void CheckCompleted()
    {
        if (_state == FlowState.Completed) return;
        if (_sourcesFinished.Count < _spec.Connectors.Count || _sinksDrained.Count < _spec.Connectors.Count) return;
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
