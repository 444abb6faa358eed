using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.DistributedData;
using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;

namespace Tremor.Actors.Cluster;

/// <summary>Starts a node's part of cluster placement: the coordinator singleton (manager and proxy) and the node agent.</summary>
public static class TremorCluster
{
    /// <summary>The singleton manager's actor name (<c>/user/tremor-placement</c>).</summary>
    public const string ManagerName = "tremor-placement";

    /// <summary>The actors a node runs for placement.</summary>
    /// <param name="Coordinator">A proxy to the coordinator singleton, wherever it runs (ask it for <see cref="PlacementCoordinator.GetClusterStatus"/>).</param>
    /// <param name="Agent">This node's agent.</param>
    public sealed record Handles(IActorRef Coordinator, IActorRef Agent);

    /// <summary>Starts placement on <paramref name="system"/> (whose provider is <c>cluster</c>); <paramref name="submit"/> joins the desired state once this node is Up.</summary>
    public static Handles Start(ActorSystem system, IActorRef world, PluginCatalog catalog, TremorClusterSettings settings, IReadOnlyList<FlowDefinition> submit, TimeSpan? reportInterval = null)
    {
        // Started now, not on first use: the replicators of other nodes gossip to this one as soon as it is a member,
        // and Distributed Data's serializers are registered when its extension starts.
        DistributedData.Get(system);
        system.ActorOf(
            ClusterSingletonManager.Props(
                PlacementCoordinator.Props(settings, reportInterval),
                PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system).WithSingletonName("coordinator").WithRole(null)),
            ManagerName);
        var proxy = system.ActorOf(
            ClusterSingletonProxy.Props($"/user/{ManagerName}", ClusterSingletonProxySettings.Create(system).WithSingletonName("coordinator").WithRole(null)),
            ManagerName + "-proxy");
        var agent = system.ActorOf(NodeAgent.Props(world, catalog, submit), NodeAgent.Name);
        return new Handles(proxy, agent);
    }
}
