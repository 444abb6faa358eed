using Tremor.Pdk;
using Tremor.Script.Aggregates;
using Tremor.Script.Runtime;

namespace Tremor.Script.Compilation;

/// <summary>
/// One select in one query instance. Without windows each event is filtered, mapped and passed on. With
/// windows each group keeps a chain of tumbling windows: events accumulate into the first; when a window
/// closes it emits (the output carries the id of the window's last event) and merges its aggregates into the next.
/// Interval windows run on the events' <c>ingest_ns</c> (an event at or past the window's end closes it and opens the
/// next at its own time, as Tremor's); <see cref="Tick"/> closes windows no event came to close. With the window's
/// <c>max_groups</c>, a new group beyond the bound first closes the least recently used group (its windows emit what
/// they hold), so memory stays bounded and no accepted event is lost.
/// </summary>
internal sealed class SelectRunner
{
    private readonly QueryInstance _owner;
    private readonly Context _c;
    private readonly Dictionary<Value, GroupState> _groups = new(GroupKeyComparer.Instance);

    // Groups forgotten with their windows reset, for the next new group: a group of chained windows is forgotten each
    // time its last window emits, and its aggregators are worth keeping.
    private readonly Stack<GroupState> _spare = new();
    private const int MaxSpare = 64;

    // Least recently used first: the group to close when max_groups is reached.
    private readonly LinkedList<GroupState> _recency = [];
    private readonly long _maxGroups;

    // A windowed select grouped by one expression keys its groups by that value: the group `[value]` is made once,
    // when the group opens, not per event.
    private readonly bool _oneDimension;

    public SelectRunner(SelectPlan plan, QueryInstance owner)
    {
        Plan = plan;
        _owner = owner;
        _c = new Context(plan.Locals, plan.Scratch) { Args = owner.Args };
        _maxGroups = plan.Windows.Length > 0 ? plan.Windows[0].MaxGroups : 0;
        _oneDimension = plan.Windows.Length > 0 && plan.GroupExprs.Length == 1 && plan.GroupKind is "expr" or "set" && !plan.GroupEach.Contains(true);
    }

    public SelectPlan Plan { get; }

    /// <summary>Groups with open windows (bounded by <c>max_groups</c>).</summary>
    public int GroupCount => _groups.Count;

    public void Process(Event e, ulong nowNs)
    {
        // `select event from a into b;` evaluates nothing: the event itself goes on.
        if (Plan.IsForward)
        {
            _owner.Deliver(Plan.Into, e);
            return;
        }
        var c = _c;
        c.Begin(e.Data, e.Meta, e.IngestNs);
        c.NowNs = nowNs;
        try
        {
            if (Plan.Where is { } where && !ValueOps.Bool(where(c), Plan.WherePos, "the where clause")) return;
            switch (Plan.GroupKind)
            {
                case null:
                    Handle(e, Value.Null, Value.Null);
                    return;
                case "each":
                    // As in Tremor, a group is the array of its dimensions' values: `each(x)` gives `[element]`.
                    foreach (var item in Each(Plan.GroupExprs[0](c)))
                    {
                        var group = Value.From(new List<Value> { item });
                        Handle(e, group, group);
                    }
                    return;
                case "set" when Plan.GroupEach.Contains(true):
                    foreach (var group in SetWithEach(c)) Handle(e, group, group);
                    return;
                default:
                    if (_oneDimension) Handle(e, Plan.GroupExprs[0](c), default);
                    else
                    {
                        var group = GroupValue(c);
                        Handle(e, group, group);
                    }
                    return;
            }
        }
        catch (RuntimeError err)
        {
            _owner.Error(e, err);
        }
    }

    /// <summary>The groups of <c>each(x)</c>: the elements of an array, the <c>[key, value]</c> pairs of a record.</summary>
    private List<Value> Each(Value v)
    {
        if (v.AsArray() is { } items) return items;
        if (v.AsRecord() is { } record)
        {
            var pairs = new List<Value>(record.Count);
            foreach (var (k, x) in record) pairs.Add(Value.From(new List<Value> { Value.From(k), x }));
            return pairs;
        }
        throw new RuntimeError(Plan.Pos, $"group by each(...) needs an array or a record, got {ValueOps.TypeName(v)}");
    }

    /// <summary><c>set(a, each(b), ...)</c>: one group per combination, each an array of the dimensions' values.</summary>
    private List<Value> SetWithEach(Context c)
    {
        var combinations = new List<List<Value>> { new() };
        for (var i = 0; i < Plan.GroupExprs.Length; i++)
        {
            var v = Plan.GroupExprs[i](c);
            var choices = Plan.GroupEach[i] ? Each(v) : [v];
            var next = new List<List<Value>>(combinations.Count * Math.Max(1, choices.Count));
            foreach (var prefix in combinations)
            {
                foreach (var choice in choices) next.Add([.. prefix, choice]);
            }
            combinations = next;
        }
        return combinations.Select(Value.From).ToList();
    }

    // `group by x` is the group `[x]`, `set(a, b)` the group `[a, b]`: Tremor's group is always an array.
    private Value GroupValue(Context c)
    {
        var exprs = Plan.GroupExprs;
        var list = new List<Value>(exprs.Length);
        foreach (var g in exprs) list.Add(g(c));
        return Value.From(list);
    }

    /// <summary>
    /// One event in one group. <paramref name="key"/> finds the group: the group value itself, or for a select grouped
    /// by one expression that expression's value, with <paramref name="group"/> left default (it is <c>[key]</c>).
    /// </summary>
    private void Handle(Event e, Value key, Value group)
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
        if (_groups.TryGetValue(key, out var state))
        {
            if (_maxGroups > 0 && state.Recency != _recency.Last)
            {
                _recency.Remove(state.Recency);
                _recency.AddLast(state.Recency);
            }
            // This event's own group value: the group's when it is the same value (it renders alike in any case).
            if (_oneDimension)
            {
                group = Same(state.Key, key) ? state.Group : OneDimension(key);
                c.Group = group;
            }
        }
        else
        {
            if (_maxGroups > 0 && _groups.Count >= _maxGroups) Evict(_recency.First!.Value);
            if (_oneDimension) group = OneDimension(key);
            state = NewGroup(key, group);
            _groups[key] = state;
            // Closing the evicted group evaluated its target; this event's context comes back.
            c.Begin(e.Data, e.Meta, e.IngestNs);
            c.Group = group;
        }
        var first = state.Windows[0];
        var emitAfter = false;
        ulong? measure = null;
        if (first.Plan.IsStateWindow)
        {
            // A state window: its script says whether to emit, and whether this event is in what it emits.
            var (emit, include) = RunStateScript(first, first.Plan.Script!, e.Data, e.Meta, e.IngestNs);
            if (emit && !include)
            {
                Close(state, 0, e.IngestNs);
                c.Begin(e.Data, e.Meta, e.IngestNs);
                c.Group = group;
            }
            emitAfter = emit && include;
        }
        // A window script gives the event's time (interval) or how much it counts (size).
        else if (first.Plan.Script is { } script) measure = RunWindowScript(first.Plan, script, e);
        if (first.Plan.IntervalNs > 0)
        {
            // Event time: the event's ingest_ns (or its script's time) decides which window it belongs to.
            var time = measure ?? e.IngestNs;
            var closed = false;
            while (first.Open && time >= first.StartNs + first.Plan.IntervalNs)
            {
                Close(state, 0, time);
                closed = true;
                if (!first.Plan.EmitEmpty) break;
            }
            if (closed)
            {
                // Emitting evaluated the target over the closed window; this event is next.
                c.Begin(e.Data, e.Meta, e.IngestNs);
                c.Group = group;
            }
            if (!first.Open)
            {
                first.Open = true;
                first.StartNs = time;
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
        if (emitAfter) Close(state, 0, e.IngestNs);
        if (first.Plan.Size > 0)
        {
            first.Units += measure ?? 1;
            if (first.Units >= (ulong)first.Plan.Size)
            {
                // What the event counted beyond the size starts the next window (as Tremor's).
                var carry = first.Units - (ulong)first.Plan.Size;
                Close(state, 0, e.IngestNs);
                first.Units = carry;
            }
        }
        // A group whose windows emitted all they held is forgotten at once, as Tremor's: win::cardinality counts the
        // groups that hold something, and a state window starts again from its initial state.
        if (IsEmpty(state)) Forget(state);
    }

    private static Value OneDimension(Value key) => Value.From(new List<Value>(1) { key });

    // Values that are one group are the same value unless their kinds differ (1 and 1.0), or a float's bits
    // (rendered alike) or a container's contents (1 and 1.0 inside) might.
    private static bool Same(Value a, Value b) => a.Kind == b.Kind && a.Kind switch
    {
        ValueKind.F64 => a.RawI64 == b.RawI64,
        ValueKind.Array => ReferenceEquals(a.AsArray(), b.AsArray()),
        ValueKind.Record => ReferenceEquals(a.AsRecord(), b.AsRecord()),
        _ => true,
    };

    private GroupState NewGroup(Value key, Value group)
    {
        var state = _spare.Count > 0 ? _spare.Pop() : new GroupState(Plan);
        state.Key = key;
        state.Group = group;
        _recency.AddLast(state.Recency);
        return state;
    }

    /// <summary>The group leaves: its windows hold nothing (their aggregators were reset when they closed).</summary>
    private void Forget(GroupState state)
    {
        _groups.Remove(state.Key);
        _recency.Remove(state.Recency);
        state.Key = default;
        state.Group = default;
        state.Last = null;
        if (_spare.Count >= MaxSpare) return;
        foreach (var w in state.Windows) w.Clear();
        _spare.Push(state);
    }

    private static bool IsEmpty(GroupState state)
    {
        foreach (var w in state.Windows)
        {
            if (w.Count > 0 || w.Open || w.Units > 0) return false;
        }
        return true;
    }

    private readonly Dictionary<WindowScript, Context> _windowContexts = [];

    private Context ContextFor(WindowScript script)
    {
        if (!_windowContexts.TryGetValue(script, out var wc))
        {
            wc = new Context(script.Locals, script.Scratch) { Args = _owner.Args };
            _windowContexts[script] = wc;
        }
        return wc;
    }

    /// <summary>
    /// Runs a state window's script (or its tick script, with a null event) on the group's window state: <c>true</c> or
    /// <c>false</c> (emit, the event included), or <c>[emit, include]</c>, as Tremor's.
    /// </summary>
    private (bool Emit, bool Include) RunStateScript(WindowState w, WindowScript script, Value data, Value meta, ulong ingestNs)
    {
        var wc = ContextFor(script);
        wc.Begin(data, meta, ingestNs);
        wc.State = w.State;
        var v = script.Body(wc);
        w.State = wc.State;
        if (wc.Flow == Flow.Emit) v = wc.EmitValue;
        if (wc.Flow != Flow.Drop)
        {
            if (v.TryGetBool(out var emit)) return (emit, true);
            if (v.AsArray() is [var e, var i] && e.TryGetBool(out var emitFirst) && i.TryGetBool(out var include)) return (emitFirst, include);
        }
        throw new RuntimeError(script.Pos, $"the script of state window `{w.Plan.Name}` must give true, false or [emit, include], got {(wc.Flow == Flow.Drop ? "drop" : v.ToString())}");
    }

    /// <summary>Runs a window's script for one event: a non-negative integer, or an error at the script.</summary>
    private ulong RunWindowScript(WindowPlan plan, WindowScript script, Event e)
    {
        var wc = ContextFor(script);
        wc.Begin(e.Data, e.Meta, e.IngestNs);
        var v = script.Body(wc);
        if (wc.Flow == Flow.Emit) v = wc.EmitValue;
        if (wc.Flow != Flow.Drop && v.TryGetI64(out var n) && n >= 0) return (ulong)n;
        if (wc.Flow != Flow.Drop && v.TryGetU64(out var u)) return u;
        throw new RuntimeError(script.Pos, $"the script of window `{plan.Name}` must give a non-negative integer ({(plan.IntervalNs > 0 ? "the event's time in ns" : "how much the event counts")}), got {(wc.Flow == Flow.Drop ? "drop" : ValueOps.TypeName(v))}");
    }

    /// <summary>max_groups reached: the least recently used group closes now, emitting what its windows hold.</summary>
    private void Evict(GroupState state)
    {
        Flush(state, state.Last?.IngestNs ?? 0);
        Forget(state);
    }

    /// <summary>Closes every window of a group that holds something, first to last (a flush cascades upward).</summary>
    private void Flush(GroupState state, ulong timeNs)
    {
        for (var level = 0; level < state.Windows.Length; level++)
        {
            if (state.Windows[level].Count > 0) Close(state, level, timeNs);
        }
    }

    /// <summary>Closes window <paramref name="level"/> of a group: emit, merge upward, reset; cascades when the next fills up.</summary>
    private void Close(GroupState state, int level, ulong timeNs)
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
                next.StartNs = timeNs;
            }
        }
        foreach (var a in w.Aggregates) a.Reset();
        w.Count = 0;
        w.Units = 0;
        if (w.Plan.IntervalNs > 0)
        {
            // With emit_empty_windows the window keeps its cadence; otherwise the next event opens it.
            w.Open = w.Plan.EmitEmpty;
            w.StartNs = w.Plan.EmitEmpty ? w.StartNs + w.Plan.IntervalNs : 0;
        }
        if (level + 1 < state.Windows.Length)
        {
            var next = state.Windows[level + 1];
            if (next.Plan.Size > 0 && next.Count >= next.Plan.Size) Close(state, level + 1, timeNs);
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

    /// <summary>Closes interval windows whose end <paramref name="nowNs"/> passed with no event to close them; drops idle groups.</summary>
    public void Tick(ulong nowNs)
    {
        if (_groups.Count == 0) return;
        List<GroupState>? idle = null;
        foreach (var state in _groups.Values)
        {
            var first = state.Windows[0];
            if (first.Plan.TickScript is { } tick)
            {
                try
                {
                    // A state window's tick script decides on ticks; there is no event, and nothing to emit if empty.
                    var (emit, _) = RunStateScript(first, tick, Value.Null, Value.Null, nowNs);
                    if (emit && first.Count > 0) Close(state, 0, nowNs);
                }
                catch (RuntimeError err)
                {
                    _owner.Error(new Event { IngestNs = nowNs, Data = Value.Null, Meta = Value.NewRecord(0) }, err);
                }
            }
            for (var level = 0; level < state.Windows.Length; level++)
            {
                var w = state.Windows[level];
                // A window whose script gives its time runs on that time only: ticks do not close it (as in Tremor).
                while (w.Plan.IntervalNs > 0 && w.Plan.Script is null && w.Open && nowNs >= w.StartNs + w.Plan.IntervalNs)
                {
                    _c.NowNs = nowNs;
                    Close(state, level, nowNs);
                    if (!w.Plan.EmitEmpty) break;
                }
            }
            if (IsEmpty(state)) (idle ??= []).Add(state);
        }
        if (idle is not null)
        {
            foreach (var state in idle) Forget(state);
        }
    }

    public void Finish(ulong nowNs)
    {
        // Least recently used first: a deterministic order, whatever the dictionary's.
        foreach (var state in _recency) Flush(state, nowNs);
        _groups.Clear();
        _recency.Clear();
    }

    private sealed class GroupState
    {
        public GroupState(SelectPlan plan)
        {
            Windows = plan.Windows.Select(w => new WindowState(w, plan.Aggregates.Select(a => a.Def.Create()).ToArray())).ToArray();
            Recency = new LinkedListNode<GroupState>(this);
        }

        /// <summary>Its key in the select's groups: the group value, or the value of its one dimension.</summary>
        public Value Key { get; set; }

        /// <summary>The group's value, that of the event that opened it.</summary>
        public Value Group { get; set; }
        public WindowState[] Windows { get; }
        public LinkedListNode<GroupState> Recency { get; }
        public Event? Last { get; set; }
    }

    private sealed class WindowState(WindowPlan plan, IAggregator[] aggregates)
    {
        public WindowPlan Plan { get; } = plan;

        /// <summary>A state window's <c>state</c> for this group.</summary>
        public Value State { get; set; } = plan.InitialState;
        public IAggregator[] Aggregates { get; } = aggregates;
        public long Count { get; set; }

        /// <summary>What a size window counted so far (events, or what its script said they count).</summary>
        public ulong Units { get; set; }
        public bool Open { get; set; }
        public ulong StartNs { get; set; }

        /// <summary>As new, for the next group: a state window starts again from its initial state.</summary>
        public void Clear()
        {
            foreach (var a in Aggregates) a.Reset();
            State = Plan.InitialState;
            Count = 0;
            Units = 0;
            Open = false;
            StartNs = 0;
        }
    }
}
