using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.DistributedData;
using Akka.Hosting;
using Tremor.Actors;
using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;

namespace Tremor.Cluster;

/// <summary>A node's part of cluster placement, registered on the Akka.Hosting builder beside the <see cref="World"/>.</summary>
public static class TremorCluster
{
    /// <summary>The singleton manager's actor name (<c>/user/tremor-placement</c>).</summary>
    public const string ManagerName = "tremor-placement";

    /// <summary>The singleton's name under its manager; the proxy is <c>/user/coordinator-proxy</c>.</summary>
    public const string SingletonName = "coordinator";

    /// <summary>
    /// Adds the coordinator singleton (manager and a proxy, registered as <see cref="PlacementCoordinator"/>) and this
    /// node's agent (registered as <see cref="NodeAgent"/>) to a system whose provider is <c>cluster</c>; the
    /// <see cref="World"/> must be registered by an earlier <c>WithActors</c>. <paramref name="submit"/> joins the
    /// desired state once this node is Up.
    /// </summary>
    public static AkkaConfigurationBuilder WithTremorCluster(this AkkaConfigurationBuilder builder, PluginCatalog catalog, TremorClusterSettings settings, IReadOnlyList<FlowDefinition> submit, TimeSpan? reportInterval = null)
    {
        // Started now, not on first use: the replicators of other nodes gossip to this one as soon as it is a member,
        // and Distributed Data's serializers are registered when its extension starts.
        builder.WithActors((system, _) => DistributedData.Get(system));
        builder.WithSingleton<PlacementCoordinator>(
            ManagerName,
            SingletonName,
            PlacementCoordinator.Props(settings, reportInterval),
            new ClusterSingletonOptions { TerminationMessage = PoisonPill.Instance },
            createProxyToo: true);
        builder.WithActors((system, registry) =>
            registry.Register<NodeAgent>(system.ActorOf(NodeAgent.Props(registry.Get<World>(), catalog, submit), NodeAgent.Name)));
        return builder;
    }
}
