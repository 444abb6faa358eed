using Tremor.Actors.Configuration;

namespace Tremor.Cluster;

/// <summary>A node as placement sees it.</summary>
/// <param name="Address">The node's address (<c>akka.tcp://tremor@host:port</c>), which also orders ties.</param>
/// <param name="Roles">Its cluster roles.</param>
/// <param name="Inventory">What it can run (<see cref="Tremor.Actors.Plugins.PluginCatalog.Inventory"/>).</param>
/// <param name="Eligible">Up and reachable: may receive flows.</param>
/// <param name="Present">A member that is not leaving or removed (unreachable counts): its flows stay where they are until it is downed.</param>
public sealed record PlacementNode(string Address, IReadOnlyList<string> Roles, IReadOnlySet<string> Inventory, bool Eligible, bool Present);

/// <summary>A desired flow as placement sees it.</summary>
public sealed record PlacementFlow(string Name, FlowPlacement Placement, IReadOnlyList<string> Requirements);

/// <summary>
/// Decides which node runs which flow: deterministic, so tests and operators can predict it. A one-node flow stays
/// where it runs while that node is present (no reshuffling when a node joins); otherwise it goes to the eligible node
/// with the fewest flows, ties broken by address. An <c>all</c> flow runs on every eligible node. A node is eligible
/// for a flow when it is Up and reachable, has the flow's role (if any) and every plugin the flow needs, and did not
/// refuse that flow before.
/// </summary>
public static class Placement
{
    /// <summary>The new assignment: flow name → the addresses that should run it.</summary>
    /// <param name="flows">The desired flows.</param>
    /// <param name="nodes">The known nodes.</param>
    /// <param name="current">Where flows run now (or were assigned).</param>
    /// <param name="refused">flow → addresses that failed to deploy it.</param>
    public static Dictionary<string, SortedSet<string>> Decide(
        IEnumerable<PlacementFlow> flows,
        IReadOnlyCollection<PlacementNode> nodes,
        IReadOnlyDictionary<string, SortedSet<string>> current,
        IReadOnlyDictionary<string, HashSet<string>> refused)
    {
        var byAddress = nodes.ToDictionary(n => n.Address, StringComparer.Ordinal);
        var load = nodes.ToDictionary(n => n.Address, _ => 0, StringComparer.Ordinal);
        var ordered = flows.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        // Flows that stay put count first, so a moved flow goes to the least loaded node.
        foreach (var flow in ordered)
        {
            if (!current.TryGetValue(flow.Name, out var where)) continue;
            foreach (var a in where)
            {
                if (load.ContainsKey(a) && byAddress[a].Present) load[a]++;
            }
        }
        var result = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var flow in ordered)
        {
            refused.TryGetValue(flow.Name, out var refusedBy);
            bool Fits(PlacementNode n) =>
                (flow.Placement.Role is null || n.Roles.Contains(flow.Placement.Role, StringComparer.Ordinal)) &&
                flow.Requirements.All(n.Inventory.Contains) &&
                (refusedBy is null || !refusedBy.Contains(n.Address));
            var eligible = nodes.Where(n => n.Eligible && Fits(n)).Select(n => n.Address).Order(StringComparer.Ordinal).ToList();
            current.TryGetValue(flow.Name, out var now);
            // A present but unreachable node keeps its flows: moving them before it is downed could run them twice.
            var kept = (now ?? []).Where(a => byAddress.TryGetValue(a, out var n) && n.Present && (!n.Eligible || Fits(n))).ToList();
            var target = new SortedSet<string>(StringComparer.Ordinal);
            if (flow.Placement.Everywhere)
            {
                target.UnionWith(eligible);
                target.UnionWith(kept);
            }
            else if (kept.Count > 0)
            {
                target.Add(kept.OrderBy(a => byAddress[a].Eligible ? 0 : 1).ThenBy(a => a, StringComparer.Ordinal).First());
                foreach (var extra in kept.Where(a => !target.Contains(a))) load[extra]--;
            }
            else if (eligible.Count > 0)
            {
                var pick = eligible.OrderBy(a => load[a]).ThenBy(a => a, StringComparer.Ordinal).First();
                target.Add(pick);
                load[pick]++;
            }
            result[flow.Name] = target;
        }
        return result;
    }
}
