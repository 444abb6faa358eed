using Akka.Actor;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Pipelines;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Flows;

/// <summary>Creates and supervises every connector actor.</summary>
public sealed class ConnectorManager : ReceiveActor
{
    /// <summary>Create a connector for <paramref name="Flow"/>.</summary>
    internal sealed record CreateConnector(ConnectorSpec Spec, IConnectorFactory Factory, IActorRef Flow);

    /// <summary>The created connector.</summary>
    internal sealed record ConnectorCreated(string Name, IActorRef Connector);

    /// <summary>A connector or pipeline of the flow could not be created; the deploy fails with <paramref name="Reason"/>.</summary>
    internal sealed record CreateFailed(string Name, string Reason);

    /// <summary>Forward a message to the connector <paramref name="Alias"/> (answered by it, or with <see cref="NoSuchConnector"/>).</summary>
    public sealed record SendTo(string Alias, object Message);

    /// <summary>There is no connector of that alias (never deployed, or stopped).</summary>
    public sealed record NoSuchConnector(string Alias);

    /// <summary>Props.</summary>
    public static Props Props(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath) =>
        Akka.Actor.Props.Create(() => new ConnectorManager(catalog, services, dataPath));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public ConnectorManager(PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath)
    {
        Receive<CreateConnector>(m =>
        {
            // Thrown here, the create message would be lost with the restart and the flow would wait for it forever.
            IActorRef child;
            try
            {
                child = Context.ActorOf(ConnectorActor.Props(m.Spec, m.Factory, catalog, services, dataPath, m.Flow), ActorName(m.Spec.Alias));
            }
            catch (Exception e)
            {
                m.Flow.Tell(new CreateFailed(m.Spec.Name, $"{m.Spec.Path}: could not create connector '{m.Spec.Name}': {e.Message}"));
                return;
            }
            m.Flow.Tell(new ConnectorCreated(m.Spec.Name, child));
        });
        Receive<SendTo>(m =>
        {
            var child = Context.Child(ActorName(m.Alias));
            if (child.IsNobody()) Sender.Tell(new NoSuchConnector(m.Alias));
            else child.Forward(m.Message);
        });
    }

    /// <summary>A connector actor that throws has a bug, not a plugin failure: stop it; its flow notices.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>The actor name of a connector, pipeline or flow (its alias, escaped).</summary>
    public static string ActorName(string alias) => Uri.EscapeDataString(alias.Replace("::", "."));
}

/// <summary>Creates and supervises every pipeline actor.</summary>
internal sealed class PipelineManager : ReceiveActor
{
    /// <summary>Create a pipeline for <paramref name="Flow"/> running the program the validation compiled.</summary>
    internal sealed record CreatePipeline(PipelineSpec Spec, Func<IPipelineProgram> Program, IActorRef Flow);

    /// <summary>The created pipeline.</summary>
    internal sealed record PipelineCreated(string Name, IActorRef Pipeline);

    /// <summary>Props.</summary>
    public static Props Props(DataPathSettings dataPath, RuntimeServices services) => Akka.Actor.Props.Create(() => new PipelineManager(dataPath, services));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public PipelineManager(DataPathSettings dataPath, RuntimeServices services)
    {
        Receive<CreatePipeline>(m =>
        {
            IActorRef child;
            try
            {
                child = Context.ActorOf(PipelineActor.Props(m.Spec, m.Program(), dataPath, services.Ledger, services), ConnectorManager.ActorName(m.Spec.Alias));
            }
            catch (Exception e)
            {
                m.Flow.Tell(new ConnectorManager.CreateFailed(m.Spec.Name, $"{m.Spec.Path}: could not create pipeline '{m.Spec.Name}': {e.Message}"));
                return;
            }
            m.Flow.Tell(new PipelineCreated(m.Spec.Name, child));
        });
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}

/// <summary>Owns the flows: deploys validated flows and forwards requests to them.</summary>
public sealed class FlowManager : ReceiveActor
{
    private readonly Dictionary<string, IActorRef> _flows = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, (string Name, IActorRef ReplyTo)> _stoppingFlows = [];

    /// <summary>Deploy a validated flow.</summary>
    internal sealed record Deploy(ValidatedFlow Flow);

    /// <summary>Send a message to every flow.</summary>
    internal sealed record Broadcast(object Message);

    /// <summary>Forward a message to one flow (answered by it, or with <see cref="NoSuchFlow"/>).</summary>
    public sealed record SendTo(string Name, object Message);

    /// <summary>Stop one flow's actors (after it drained).</summary>
    internal sealed record StopFlow(string Name);

    /// <summary>The flow's actors (its connectors and pipelines, then the flow itself) stopped.</summary>
    internal sealed record FlowStopped(string Name);

    /// <summary>There is no flow of that name.</summary>
    internal sealed record NoSuchFlow(string Name);

    /// <summary>Props.</summary>
    public static Props Props(IActorRef connectorManager, IActorRef pipelineManager, IActorRef world) =>
        Akka.Actor.Props.Create(() => new FlowManager(connectorManager, pipelineManager, world));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public FlowManager(IActorRef connectorManager, IActorRef pipelineManager, IActorRef world)
    {
        Receive<Deploy>(m =>
        {
            try
            {
                _flows[m.Flow.Spec.Name] = Context.ActorOf(FlowActor.Props(m.Flow, connectorManager, pipelineManager, world), ConnectorManager.ActorName(m.Flow.Spec.Name));
            }
            catch (Exception e)
            {
                // Thrown here, the deploy would be lost with the restart: the world hears the flow failed instead.
                world.Tell(new FlowActor.FlowCompleted(m.Flow.Spec.Name, $"flow '{m.Flow.Spec.Name}' could not be created: {e.Message}", Stalled: true));
            }
        });
        Receive<Broadcast>(m =>
        {
            foreach (var f in _flows.Values) f.Forward(m.Message);
        });
        Receive<SendTo>(m =>
        {
            if (_flows.TryGetValue(m.Name, out var f)) f.Forward(m.Message);
            else Sender.Tell(new NoSuchFlow(m.Name));
        });
        Receive<StopFlow>(m =>
        {
            if (!_flows.Remove(m.Name, out var f))
            {
                Sender.Tell(new FlowStopped(m.Name));
                return;
            }
            _stoppingFlows[f] = (m.Name, Sender);
            Context.Watch(f);
            f.Tell(new FlowActor.StopNodes());
        });
        Receive<Terminated>(t =>
        {
            if (_stoppingFlows.Remove(t.ActorRef, out var entry)) entry.ReplyTo.Tell(new FlowStopped(entry.Name));
        });
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
