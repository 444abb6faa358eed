using Tremor.Pdk;
using Tremor.Script.Aggregates;
using Tremor.Script.Runtime;

namespace Tremor.Script.Compilation;

/// <summary>
/// One select in one query instance. Without windows each event is filtered, mapped and passed on. With
/// windows each group keeps a chain of tumbling windows: events accumulate into the first; when a window
/// closes it emits (the output carries the id of the window's last event) and merges its aggregates into the next.
/// </summary>
internal sealed class SelectRunner
{
    private readonly QueryInstance _owner;
    private readonly Context _c;
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);

    public SelectRunner(SelectPlan plan, QueryInstance owner)
    {
        Plan = plan;
        _owner = owner;
        _c = new Context(plan.Locals, plan.Scratch);
    }

    public SelectPlan Plan { get; }

    public void Process(Event e, ulong nowNs)
    {
        var c = _c;
        c.Begin(e.Data, e.Meta, e.IngestNs);
        c.NowNs = nowNs;
        try
        {
            if (Plan.Where is { } where && !ValueOps.Bool(where(c), Plan.WherePos, "the where clause")) return;
            if (Plan.GroupKind is null)
            {
                Handle(e, Value.Null, nowNs);
                return;
            }
            var group = GroupValue(c);
            if (Plan.GroupKind == "each")
            {
                if (group.AsArray() is not { } items) throw new RuntimeError(Plan.Pos, $"group by each(...) needs an array, got {ValueOps.TypeName(group)}");
                foreach (var item in items) Handle(e, item, nowNs);
            }
            else Handle(e, group, nowNs);
        }
        catch (RuntimeError err)
        {
            _owner.Error(e, err);
        }
    }

    private Value GroupValue(Context c)
    {
        var exprs = Plan.GroupExprs;
        if (Plan.GroupKind == "set")
        {
            var list = new List<Value>(exprs.Length);
            foreach (var g in exprs) list.Add(g(c));
            return Value.From(list);
        }
        return exprs[0](c);
    }

    private void Handle(Event e, Value group, ulong nowNs)
    {
        var c = _c;
        c.Group = group;
        if (Plan.Windows.Length == 0)
        {
            var value = Plan.Target(c);
            if (Plan.Having is { } having)
            {
                var data = c.Event;
                c.Event = value;
                var keep = ValueOps.Bool(having(c), Plan.HavingPos, "the having clause");
                c.Event = data;
                if (!keep) return;
            }
            _owner.Deliver(Plan.Into, Plan.TargetIsEvent ? Output.Event(e, value, e.Meta) : Output.Event(e, value, c.Meta));
            return;
        }
        var key = group.Kind == ValueKind.String ? group.AsString()! : group.ToString();
        if (!_groups.TryGetValue(key, out var state))
        {
            state = new GroupState(group, Plan);
            _groups[key] = state;
        }
        var first = state.Windows[0];
        if (first.Plan.IntervalNs > 0)
        {
            if (first.Open && nowNs >= first.StartNs + first.Plan.IntervalNs)
            {
                Close(state, 0, nowNs);
                // Emitting evaluated the target over the closed window; this event is next.
                c.Begin(e.Data, e.Meta, e.IngestNs);
                c.Group = group;
            }
            if (!first.Open)
            {
                first.Open = true;
                first.StartNs = nowNs;
            }
        }
        // Aggregate arguments see the event itself.
        var sites = Plan.Aggregates;
        for (var i = 0; i < sites.Length; i++)
        {
            var site = sites[i];
            var n = site.Args.Length;
            for (var j = 0; j < n; j++) c.Scratch[site.ScratchOffset + j] = site.Args[j](c);
            try
            {
                first.Aggregates[i].Accumulate(new ReadOnlySpan<Value>(c.Scratch, site.ScratchOffset, n));
            }
            catch (FunctionError err)
            {
                throw new RuntimeError(site.Pos, err.Message);
            }
        }
        first.Count++;
        state.Last = e;
        if (first.Plan.Size > 0 && first.Count >= first.Plan.Size) Close(state, 0, nowNs);
    }

    /// <summary>Closes window <paramref name="level"/> of a group: emit, merge upward, reset; cascades when the next fills up.</summary>
    private void Close(GroupState state, int level, ulong nowNs)
    {
        var w = state.Windows[level];
        if (w.Count > 0 || w.Plan.EmitEmpty) Emit(state, w);
        if (level + 1 < state.Windows.Length && w.Count > 0)
        {
            var next = state.Windows[level + 1];
            for (var i = 0; i < w.Aggregates.Length; i++) next.Aggregates[i].Merge(w.Aggregates[i]);
            next.Count++;
            if (next.Plan.IntervalNs > 0 && !next.Open)
            {
                next.Open = true;
                next.StartNs = nowNs;
            }
        }
        foreach (var a in w.Aggregates) a.Reset();
        w.Count = 0;
        if (w.Plan.IntervalNs > 0)
        {
            // With emit_empty_windows the window keeps its cadence; otherwise the next event opens it.
            w.Open = w.Plan.EmitEmpty;
            w.StartNs = w.Plan.EmitEmpty ? w.StartNs + w.Plan.IntervalNs : 0;
        }
        if (level + 1 < state.Windows.Length)
        {
            var next = state.Windows[level + 1];
            if (next.Plan.Size > 0 && next.Count >= next.Plan.Size) Close(state, level + 1, nowNs);
        }
    }

    private void Emit(GroupState state, WindowState w)
    {
        var c = _c;
        var last = state.Last;
        c.Begin(last?.Data ?? Value.Null, last?.Meta ?? Value.Null, last?.IngestNs ?? 0);
        c.Group = state.Group;
        c.Window = Value.From(w.Plan.Name);
        c.Aggregates = w.Aggregates;
        c.GroupCount = Plan.GroupKind is null ? 0 : _groups.Count;
        try
        {
            var value = Plan.Target(c);
            if (Plan.Having is { } having)
            {
                c.Event = value;
                if (!ValueOps.Bool(having(c), Plan.HavingPos, "the having clause")) return;
            }
            var e = new Event
            {
                Id = last?.Id ?? default,
                IngestNs = last?.IngestNs ?? c.NowNs,
                Transactional = last?.Transactional ?? false,
                Data = value,
                Meta = last?.Meta ?? Value.Null,
            };
            _owner.Deliver(Plan.Into, e);
        }
        catch (RuntimeError err)
        {
            if (last is not null) _owner.Error(last, err);
        }
        finally
        {
            c.Aggregates = null;
            c.Window = Value.Null;
        }
    }

    public void Tick(ulong nowNs)
    {
        if (_groups.Count == 0) return;
        List<string>? idle = null;
        foreach (var (key, state) in _groups)
        {
            for (var level = 0; level < state.Windows.Length; level++)
            {
                var w = state.Windows[level];
                while (w.Plan.IntervalNs > 0 && w.Open && nowNs >= w.StartNs + w.Plan.IntervalNs)
                {
                    _c.NowNs = nowNs;
                    Close(state, level, nowNs);
                    if (!w.Plan.EmitEmpty) break;
                }
            }
            if (state.Windows.All(w => w.Count == 0 && !w.Open)) (idle ??= []).Add(key);
        }
        if (idle is not null)
        {
            foreach (var key in idle) _groups.Remove(key);
        }
    }

    public void Finish(ulong nowNs)
    {
        foreach (var state in _groups.Values)
        {
            for (var level = 0; level < state.Windows.Length; level++)
            {
                var w = state.Windows[level];
                if (w.Count > 0) Close(state, level, nowNs);
            }
        }
        _groups.Clear();
    }

    private sealed class GroupState
    {
        public GroupState(Value group, SelectPlan plan)
        {
            Group = group;
            Windows = plan.Windows.Select(w => new WindowState(w, plan.Aggregates.Select(a => a.Def.Create()).ToArray())).ToArray();
        }

        public Value Group { get; }
        public WindowState[] Windows { get; }
        public Event? Last { get; set; }
    }

    private sealed class WindowState(WindowPlan plan, IAggregator[] aggregates)
    {
        public WindowPlan Plan { get; } = plan;
        public IAggregator[] Aggregates { get; } = aggregates;
        public long Count { get; set; }
        public bool Open { get; set; }
        public ulong StartNs { get; set; }
    }
}
