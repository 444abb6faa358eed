using Akka.Actor;
using Akka.DistributedData;
using Akka.Event;
using Tremor.Actors;
using Tremor.Actors.Configuration;
using Tremor.Pdk;
using Tremor.Actors.Plugins;

namespace Tremor.Cluster;

/// <summary>
/// One per cluster node (<c>/user/tremor-node</c>): submits the node's configured flows to the desired state,
/// answers the placement coordinator with what this node can run and runs, and deploys / undeploys the flows the
/// coordinator assigns through the local <see cref="World"/>.
/// </summary>
public sealed class NodeAgent : ReceiveActor
{
    /// <summary>The agent's actor name on every node; the coordinator finds agents by it.</summary>
    public const string Name = "tremor-node";

    private readonly IActorRef _world;
    private readonly PluginCatalog _catalog;
    private readonly IReadOnlyList<FlowDefinition> _submit;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, FlowDefinition> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FlowDefinition?> _stopping = new(StringComparer.Ordinal);
    private readonly string _address;
    private IActorRef _coordinator = ActorRefs.Nobody;

    /// <summary>The coordinator asks what this node can run and runs; answered with <see cref="NodeReport"/>.</summary>
    public sealed record ReportRequested;

    /// <summary>This node's inventory and the flows it runs (or is starting) for the cluster.</summary>
    public sealed record NodeReport(string Address, IReadOnlyList<string> Inventory, IReadOnlyList<string> Running);

    /// <summary>Run this flow here.</summary>
    public sealed record Assign(FlowDefinition Definition);

    /// <summary>Stop running this flow here (drain, then stop).</summary>
    public sealed record Unassign(string Name);

    /// <summary>An assigned flow is deploying on <paramref name="Address"/>.</summary>
    public sealed record FlowStarted(string Name, string Address);

    /// <summary>An assigned flow cannot run on <paramref name="Address"/> (its plugins refused its config, ...).</summary>
    public sealed record FlowRefused(string Name, string Address, string Reason);

    /// <summary>An unassigned flow drained and stopped on <paramref name="Address"/>.</summary>
    public sealed record FlowStopped(string Name, string Address);

    private sealed record Submit;

    /// <summary>Props; <paramref name="submit"/> are the flows of this node's file, added to the desired state once the node is Up.</summary>
    public static Props Props(IActorRef world, PluginCatalog catalog, IReadOnlyList<FlowDefinition> submit) =>
        Akka.Actor.Props.Create(() => new NodeAgent(world, catalog, submit));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public NodeAgent(IActorRef world, PluginCatalog catalog, IReadOnlyList<FlowDefinition> submit)
    {
        _world = world;
        _catalog = catalog;
        _submit = submit;
        _address = _cluster.SelfAddress.ToString();

        Receive<Submit>(_ => SubmitFlows());
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateFailure>(f => _log.Warning("submitting flows to the cluster's desired state did not reach a majority yet ({0}); it spreads by gossip", f));
        Receive<ReportRequested>(_ => Sender.Tell(new NodeReport(_address, _catalog.Inventory, _running.Keys.Concat(_stopping.Keys).Distinct().Order(StringComparer.Ordinal).ToList())));
        Receive<Assign>(m =>
        {
            _coordinator = Sender;
            var name = m.Definition.Name;
            if (_stopping.ContainsKey(name))
            {
                _stopping[name] = m.Definition;
                return;
            }
            if (_running.TryGetValue(name, out var running))
            {
                if (running.Text == m.Definition.Text)
                {
                    Sender.Tell(new FlowStarted(name, _address));
                    return;
                }
                // A changed definition: drain the old one, then deploy the new one.
                Stop(name, m.Definition);
                return;
            }
            Deploy(m.Definition);
        });
        Receive<Unassign>(m =>
        {
            _coordinator = Sender;
            if (_stopping.ContainsKey(m.Name))
            {
                _stopping[m.Name] = null;
                return;
            }
            if (!_running.ContainsKey(m.Name))
            {
                Sender.Tell(new FlowStopped(m.Name, _address));
                return;
            }
            Stop(m.Name, null);
        });
        Receive<World.FlowDeployed>(m =>
        {
            _log.Info("cluster: flow {0} runs on this node", m.Name);
            _coordinator.Tell(new FlowStarted(m.Name, _address));
        });
        Receive<World.DeployFailed>(m =>
        {
            _running.Remove(m.Name);
            _log.Warning("cluster: flow {0} cannot run on this node: {1}", m.Name, m.Reason);
            _coordinator.Tell(new FlowRefused(m.Name, _address, m.Reason));
        });
        Receive<World.FlowUndeployed>(m => Stopped(m.Name));
        Receive<World.UndeployFailed>(m => Stopped(m.Name));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        var self = Self;
        _cluster.RegisterOnMemberUp(() => self.Tell(new Submit()));
    }

    private void SubmitFlows()
    {
        if (_submit.Count == 0) return;
        var replicator = DistributedData.Get(Context.System).Replicator;
        var cluster = _cluster;
        var flows = _submit;
        // A union keyed by name: a flow another node already submitted (or the API removed) is left as it is, so
        // nodes starting with the same file add each flow once.
        replicator.Tell(Dsl.Update(
            PlacementCoordinator.FlowsKey,
            LWWDictionary<string, string>.Empty,
            new WriteMajority(TimeSpan.FromSeconds(5)),
            d =>
            {
                foreach (var f in flows.Where(f => !d.ContainsKey(f.Name))) d = d.SetItem(cluster, f.Name, f.Text);
                return d;
            }));
    }

    private void Deploy(FlowDefinition definition)
    {
        FlowSpec spec;
        try
        {
            spec = definition.Parse();
        }
        catch (ConfigException e)
        {
            _coordinator.Tell(new FlowRefused(definition.Name, _address, e.Message));
            return;
        }
        _running[definition.Name] = definition;
        _world.Tell(new World.DeployFlow(spec));
    }

    private void Stop(string name, FlowDefinition? next)
    {
        _running.Remove(name);
        _stopping[name] = next;
        _log.Info("cluster: flow {0} is moved off this node; draining it", name);
        _world.Tell(new World.UndeployFlow(name));
    }

    private void Stopped(string name)
    {
        if (!_stopping.Remove(name, out var next)) return;
        _coordinator.Tell(new FlowStopped(name, _address));
        if (next is not null) Deploy(next);
    }
}
