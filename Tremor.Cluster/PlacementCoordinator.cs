using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Cluster;

/// <summary>
/// The cluster singleton that decides which node runs which flow. The desired state (flow name → definition) lives in
/// Distributed Data under <see cref="FlowsKey"/>, so a new coordinator on another node starts from it; where flows
/// run is re-learned from the nodes' reports. Placement is re-decided when a member comes up, leaves, is removed or
/// becomes (un)reachable, when the desired state changes, and when a report shows a changed inventory.
/// </summary>
public sealed class PlacementCoordinator : ReceiveActor, IWithTimers
{
    /// <summary>The desired state: flow name → <see cref="FlowDefinition.Text"/>, or <see cref="Removed"/>.</summary>
    public static readonly LWWDictionaryKey<string, string> FlowsKey = new("tremor-flows");

    /// <summary>The text of a removed flow: it stays removed until submitted again through the API.</summary>
    public const string Removed = "";

    private readonly TremorClusterSettings _settings;
    private readonly TimeSpan _reportInterval;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Desired> _desired = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _assigned = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Flow, string Address), string> _states = [];
    private readonly Dictionary<string, HashSet<string>> _refused = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Flow, string Address), string> _refusals = [];
    private readonly HashSet<(string Flow, string Address)> _unassigning = [];
    private bool _settled;

    /// <summary>
    /// Add or replace flows in the desired state (the management API); answered with <see cref="FlowsSubmitted"/>
    /// once a majority has them (or the write timed out and the flows spread by gossip).
    /// </summary>
    public sealed record SubmitFlows(IReadOnlyList<FlowDefinition> Flows);

    /// <summary>The flows are in the desired state.</summary>
    public sealed record FlowsSubmitted(IReadOnlyList<string> Names, bool Majority);

    /// <summary>Remove a flow from the desired state: it is drained and stopped wherever it runs; answered with <see cref="FlowRemoved"/> or <see cref="NoSuchFlow"/>.</summary>
    public sealed record RemoveFlow(string Name);

    /// <summary>The flow left the desired state.</summary>
    public sealed record FlowRemoved(string Name, bool Majority);

    /// <summary>No flow of that name is desired.</summary>
    public sealed record NoSuchFlow(string Name, IReadOnlyList<string> Known);

    /// <summary>Ask for the cluster's nodes and flows; answered with <see cref="ClusterStatus"/>.</summary>
    public sealed record GetClusterStatus;

    /// <summary>Every member and every desired flow, and where each runs.</summary>
    public sealed record ClusterStatus(string Coordinator, IReadOnlyList<NodeStatus> Nodes, IReadOnlyList<FlowStatus> Flows);

    /// <summary>One member: its status (up, leaving, ...), reachability, roles, plugin inventory and flows.</summary>
    public sealed record NodeStatus(string Address, string Status, bool Reachable, IReadOnlyList<string> Roles, IReadOnlyList<string> Inventory, IReadOnlyList<string> Flows);

    /// <summary>One desired flow: its placement, where it runs, and whether its resources are node-local.</summary>
    public sealed record FlowStatus(string Name, string Placement, IReadOnlyList<FlowInstance> Instances, bool NodeLocal, string? Note);

    /// <summary>A flow on one node: <c>starting</c>, <c>running</c> or <c>stopping</c>.</summary>
    public sealed record FlowInstance(string Address, string State);

    private sealed record Desired(FlowDefinition Definition, PlacementFlow? Placement, IReadOnlyList<string> NodeLocal, string? Error);

    private sealed record Node(IActorRef Agent, IReadOnlySet<string> Inventory);

    private sealed record RequestReports;

    private sealed record PendingReply(IActorRef ReplyTo, Func<bool, object> Answer);

    private sealed record Settle;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props; <paramref name="reportInterval"/> is how often the nodes are asked for their inventory and flows (the reconciliation).</summary>
    public static Props Props(TremorClusterSettings settings, TimeSpan? reportInterval = null) =>
        Akka.Actor.Props.Create(() => new PlacementCoordinator(settings, reportInterval ?? TimeSpan.FromSeconds(2)));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public PlacementCoordinator(TremorClusterSettings settings, TimeSpan reportInterval)
    {
        _settings = settings;
        _reportInterval = reportInterval;

        Receive<ClusterEvent.MemberUp>(m => { _members[Key(m.Member)] = m.Member; RequestReport(m.Member.Address); Evaluate(); });
        Receive<ClusterEvent.IMemberEvent>(m =>
        {
            if (m is ClusterEvent.MemberRemoved removed)
            {
                var key = Key(removed.Member);
                _members.Remove(key);
                _nodes.Remove(key);
                _unreachable.Remove(key);
                foreach (var where in _assigned.Values) where.Remove(key);
                foreach (var k in _states.Keys.Where(k => k.Address == key).ToList()) _states.Remove(k);
                _unassigning.RemoveWhere(k => k.Address == key);
                // A node that comes back at this address (restarted, maybe with other plugins) is asked afresh.
                foreach (var k in _refusals.Keys.Where(k => k.Address == key).ToList()) _refusals.Remove(k);
                foreach (var by in _refused.Values) by.Remove(key);
                _log.Info("cluster: {0} removed; placing its flows elsewhere", key);
            }
            else
            {
                _members[Key(m.Member)] = m.Member;
            }
            Evaluate();
        });
        Receive<ClusterEvent.UnreachableMember>(m => { _unreachable.Add(Key(m.Member)); Evaluate(); });
        Receive<ClusterEvent.ReachableMember>(m => { _unreachable.Remove(Key(m.Member)); Evaluate(); });
        Receive<Changed>(c => { Desire(c.Get(FlowsKey)); Evaluate(); });
        Receive<GetSuccess>(g => { Desire(g.Get(FlowsKey)); Evaluate(); });
        Receive<NotFound>(_ => { });
        Receive<GetFailure>(_ => { });
        Receive<NodeAgent.NodeReport>(Report);
        Receive<NodeAgent.FlowStarted>(m =>
        {
            if (_assigned.TryGetValue(m.Name, out var where) && where.Contains(m.Address)) _states[(m.Name, m.Address)] = "running";
        });
        Receive<NodeAgent.FlowRefused>(m =>
        {
            _log.Warning("cluster: {0} refused flow {1}: {2}", m.Address, m.Name, m.Reason);
            if (!_refused.TryGetValue(m.Name, out var by)) _refused[m.Name] = by = new HashSet<string>(StringComparer.Ordinal);
            by.Add(m.Address);
            _refusals[(m.Name, m.Address)] = m.Reason;
            if (_assigned.TryGetValue(m.Name, out var where)) where.Remove(m.Address);
            _states.Remove((m.Name, m.Address));
            Evaluate();
        });
        Receive<NodeAgent.FlowStopped>(m =>
        {
            _unassigning.Remove((m.Name, m.Address));
            if (!(_assigned.TryGetValue(m.Name, out var where) && where.Contains(m.Address))) _states.Remove((m.Name, m.Address));
        });
        Receive<RequestReports>(_ =>
        {
            foreach (var m in _members.Values.Where(m => m.Status == MemberStatus.Up)) RequestReport(m.Address);
        });
        Receive<Settle>(_ =>
        {
            if (_settled) return;
            _settled = true;
            _log.Info("cluster: not every node reported within the settle time; placing flows with what is known");
            Evaluate();
        });
        Receive<GetClusterStatus>(_ => Sender.Tell(Status()));
        Receive<SubmitFlows>(m =>
        {
            var flows = m.Flows;
            var names = flows.Select(f => f.Name).ToList();
            Write(new PendingReply(Sender, majority => new FlowsSubmitted(names, majority)), d =>
            {
                foreach (var f in flows) d = d.SetItem(_cluster, f.Name, f.Text);
                return d;
            });
        });
        Receive<RemoveFlow>(m =>
        {
            if (!_desired.ContainsKey(m.Name))
            {
                Sender.Tell(new NoSuchFlow(m.Name, _desired.Keys.Order(StringComparer.Ordinal).ToList()));
                return;
            }
            var name = m.Name;
            // A tombstone rather than a removal: an observed-remove would lose against a node's concurrent submission
            // of the same flow from its file, and the flow would come back.
            Write(new PendingReply(Sender, majority => new FlowRemoved(name, majority)), d => d.SetItem(_cluster, name, Removed));
        });
        Receive<UpdateSuccess>(u =>
        {
            if (u.Request is PendingReply p) p.ReplyTo.Tell(p.Answer(true));
        });
        Receive<IUpdateFailure>(u =>
        {
            // The local replica has the change; it reaches the others by gossip.
            _log.Warning("cluster: a desired-state change did not reach a majority in time ({0}); it spreads by gossip", u);
            if (u is UpdateTimeout { Request: PendingReply p }) p.ReplyTo.Tell(p.Answer(false));
        });
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        _replicator.Tell(new Subscribe(FlowsKey, Self));
        _replicator.Tell(Dsl.Get(FlowsKey, ReadLocal.Instance));
        Timers.StartPeriodicTimer("reports", new RequestReports(), _reportInterval);
        // A new coordinator first learns where flows already run, so a failover of the coordinator moves nothing.
        Timers.StartSingleTimer("settle", new Settle(), _reportInterval + _reportInterval);
        _log.Info("cluster: placement coordinator started on {0}", _cluster.SelfAddress);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        _replicator.Tell(new Unsubscribe(FlowsKey, Self));
    }

    private void Write(PendingReply reply, Func<LWWDictionary<string, string>, LWWDictionary<string, string>> modify) =>
        _replicator.Tell(Dsl.Update(FlowsKey, LWWDictionary<string, string>.Empty, new WriteMajority(TimeSpan.FromSeconds(5)), reply, modify));

    private static string Key(Member member) => member.Address.ToString();

    private void RequestReport(Address address) =>
        Context.ActorSelection(new RootActorPath(address) / "user" / NodeAgent.Name).Tell(new NodeAgent.ReportRequested());

    private void Desire(LWWDictionary<string, string> flows)
    {
        foreach (var gone in _desired.Keys.Where(k => !flows.TryGetValue(k, out var t) || t == Removed).ToList()) _desired.Remove(gone);
        foreach (var (name, text) in flows.Entries)
        {
            if (text == Removed) continue;
            if (_desired.TryGetValue(name, out var known) && known.Definition.Text == text) continue;
            var definition = new FlowDefinition(name, text);
            if (known is not null && _assigned.TryGetValue(name, out var running))
            {
                // A changed definition: the agents drain the old one and deploy the new one where it runs.
                foreach (var address in running.Where(_nodes.ContainsKey))
                {
                    _states[(name, address)] = "starting";
                    _nodes[address].Agent.Tell(new NodeAgent.Assign(definition));
                }
            }
            _refused.Remove(name);
            foreach (var k in _refusals.Keys.Where(k => k.Flow == name).ToList()) _refusals.Remove(k);
            try
            {
                var spec = definition.Parse();
                _desired[name] = new Desired(
                    definition,
                    new PlacementFlow(name, spec.Placement ?? FlowPlacement.One, FlowDefinition.Requirements(spec)),
                    FlowDefinition.NodeLocalConnectors(spec, _settings.NodeLocalConnectors),
                    null);
            }
            catch (ConfigException e)
            {
                _desired[name] = new Desired(definition, null, [], e.Message);
            }
        }
    }

    private void Report(NodeAgent.NodeReport report)
    {
        if (!_members.ContainsKey(report.Address)) return;
        var inventory = report.Inventory.ToHashSet(StringComparer.Ordinal);
        var changed = !_nodes.TryGetValue(report.Address, out var known) || !known.Inventory.SetEquals(inventory);
        _nodes[report.Address] = new Node(Sender, inventory);
        foreach (var name in report.Running)
        {
            if (_unassigning.Contains((name, report.Address))) continue;
            if (!_assigned.TryGetValue(name, out var where)) _assigned[name] = where = new SortedSet<string>(StringComparer.Ordinal);
            // Adopted: it runs there (after a coordinator failover, or a partition that healed); placement trims doubles.
            if (where.Add(report.Address)) changed = true;
            _states.TryAdd((name, report.Address), "running");
        }
        foreach (var (name, where) in _assigned)
        {
            // Assigned but not running there (the Assign was lost): ask again.
            if (where.Contains(report.Address) && !report.Running.Contains(name) && _states.GetValueOrDefault((name, report.Address)) == "running" &&
                _desired.TryGetValue(name, out var d))
            {
                _states[(name, report.Address)] = "starting";
                Sender.Tell(new NodeAgent.Assign(d.Definition));
            }
        }
        if (!_settled && _members.Values.Where(m => m.Status == MemberStatus.Up && !_unreachable.Contains(Key(m))).All(m => _nodes.ContainsKey(Key(m))))
        {
            _settled = true;
            changed = true;
        }
        if (changed) Evaluate();
    }

    private void Evaluate()
    {
        if (!_settled) return;
        var nodes = _members.Values
            .Where(m => _nodes.ContainsKey(Key(m)))
            .Select(m =>
            {
                var key = Key(m);
                var up = m.Status == MemberStatus.Up;
                return new PlacementNode(key, m.Roles.ToList(), _nodes[key].Inventory, up && !_unreachable.Contains(key), up);
            })
            .ToList();
        var flows = _desired.Values.Where(d => d.Placement is not null).Select(d => d.Placement!).ToList();
        var decided = Placement.Decide(flows, nodes, _assigned, _refused);
        foreach (var (name, target) in decided)
        {
            _assigned.TryGetValue(name, out var now);
            now ??= new SortedSet<string>(StringComparer.Ordinal);
            foreach (var add in target.Where(a => !now.Contains(a)))
            {
                _states[(name, add)] = "starting";
                _unassigning.Remove((name, add));
                _log.Info("cluster: flow {0} placed on {1}", name, add);
                _nodes[add].Agent.Tell(new NodeAgent.Assign(_desired[name].Definition));
            }
            foreach (var remove in now.Where(a => !target.Contains(a))) Unassign(name, remove);
            _assigned[name] = target;
        }
        foreach (var name in _assigned.Keys.Where(n => !decided.ContainsKey(n)).ToList())
        {
            foreach (var a in _assigned[name]) Unassign(name, a);
            _assigned.Remove(name);
        }
    }

    private void Unassign(string name, string address)
    {
        if (!_nodes.TryGetValue(address, out var node)) return;
        _states[(name, address)] = "stopping";
        _unassigning.Add((name, address));
        _log.Info("cluster: flow {0} taken off {1}", name, address);
        node.Agent.Tell(new NodeAgent.Unassign(name));
    }

    private ClusterStatus Status()
    {
        var nodes = _members.Values.OrderBy(Key, StringComparer.Ordinal).Select(m =>
        {
            var key = Key(m);
            return new NodeStatus(
                key,
                m.Status.ToString().ToLowerInvariant(),
                !_unreachable.Contains(key),
                m.Roles.Order(StringComparer.Ordinal).ToList(),
                _nodes.TryGetValue(key, out var n) ? n.Inventory.Order(StringComparer.Ordinal).ToList() : [],
                _assigned.Where(a => a.Value.Contains(key)).Select(a => a.Key).Order(StringComparer.Ordinal).ToList());
        }).ToList();
        var flows = _desired.Values.OrderBy(d => d.Definition.Name, StringComparer.Ordinal).Select(d =>
        {
            var name = d.Definition.Name;
            var instances = _states.Where(s => s.Key.Flow == name).OrderBy(s => s.Key.Address, StringComparer.Ordinal)
                .Select(s => new FlowInstance(s.Key.Address, s.Value)).ToList();
            string? note = null;
            if (d.Error is not null) note = $"invalid: {d.Error}";
            else if (d.NodeLocal.Count > 0) note = $"node-local: {string.Join(", ", d.NodeLocal)} use files or stdin of the node that runs it; on failover the flow restarts elsewhere without them";
            if (d.Placement is not null && instances.Count == 0)
            {
                var refusals = _refusals.Where(r => r.Key.Flow == name).Select(r => $"{r.Key.Address}: {r.Value}").ToList();
                note = (note is null ? "" : note + "; ") + $"not running: no eligible node (needs {string.Join(", ", d.Placement.Requirements)}" +
                       (d.Placement.Placement.Role is { } role ? $" and role {role}" : "") + ")" +
                       (refusals.Count > 0 ? $"; refused by {string.Join("; ", refusals)}" : "");
            }
            return new FlowStatus(name, d.Placement?.Placement.ToString() ?? "invalid", instances, d.NodeLocal.Count > 0, note);
        }).ToList();
        return new ClusterStatus(_cluster.SelfAddress.ToString(), nodes, flows);
    }
}
