using Tremor.Pdk;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Operators;

/// <summary>The built-in operators by <c>namespace::name</c>, with their parameters checked at compile time.</summary>
internal static class BuiltinOperators
{
    private static readonly Dictionary<string, string[]> Params = new(StringComparer.Ordinal)
    {
        ["passthrough"] = [],
        ["generic::batch"] = ["count", "timeout"],
        ["generic::counter"] = [],
        ["grouper::bucket"] = ["cardinality"],
        ["qos::backpressure"] = ["timeout", "steps", "method"],
        ["qos::percentile"] = ["timeout", "step_up", "step_down"],
        ["qos::roundrobin"] = ["outputs"],
        ["debug::history"] = ["op", "name"],
    };

    public static IEnumerable<string> Kinds => Params.Keys;

    /// <summary>Validates a definition and returns a factory for fresh instances.</summary>
    public static Func<IOperatorInstance> Prepare(Source source, DefineOperatorStmt def, Dictionary<string, (Value Value, int Pos)> ps)
    {
        var kind = def.Kind.StartsWith("std::", StringComparison.Ordinal) ? def.Kind[5..] : def.Kind;
        if (!Params.TryGetValue(kind, out var allowed))
        {
            var nearest = Source.Nearest(kind, Params.Keys);
            throw source.Error(def.KindPos, $"unknown operator `{def.Kind}`",
                nearest is not null ? $"did you mean `{nearest}`?" : $"built-in operators: {string.Join(", ", Params.Keys)}");
        }
        foreach (var (name, (_, pos)) in ps)
        {
            if (!allowed.Contains(name))
            {
                var nearest = Source.Nearest(name, allowed);
                throw source.Error(pos, $"`{kind}` has no parameter `{name}`",
                    nearest is not null ? $"did you mean `{nearest}`?" : allowed.Length == 0 ? $"`{kind}` takes no parameters" : $"parameters: {string.Join(", ", allowed)}");
            }
        }
        switch (kind)
        {
            case "passthrough":
                return () => new Passthrough();
            case "qos::backpressure":
                {
                    var timeoutNs = Milliseconds(source, ps, "timeout", 100);
                    var steps = new List<ulong>();
                    if (ps.TryGetValue("steps", out var st))
                    {
                        if (st.Value.AsArray() is not { Count: > 0 } list || list.Any(x => !x.TryGetI64(out var ms) || ms <= 0))
                            throw source.Error(st.Pos, "`steps` must be a non-empty array of positive milliseconds", "with steps = [50, 100, 250, 500, 1000, 5000, 10000]");
                        steps.AddRange(list.Select(x => { x.TryGetI64(out var ms); return (ulong)ms * 1_000_000; }));
                    }
                    else steps.AddRange(new ulong[] { 50, 100, 250, 500, 1000, 5000, 10000 }.Select(ms => ms * 1_000_000));
                    var pause = false;
                    if (ps.TryGetValue("method", out var m))
                    {
                        pause = m.Value.AsString() switch
                        {
                            "discard" => false,
                            "pause" => true,
                            _ => throw source.Error(m.Pos, $"`method` must be \"discard\" or \"pause\", got {m.Value}"),
                        };
                    }
                    var stepArray = steps.ToArray();
                    return () => new Backpressure(timeoutNs, stepArray, pause);
                }
            case "qos::percentile":
                {
                    var timeoutNs = Milliseconds(source, ps, "timeout", 100);
                    var up = Fraction(source, ps, "step_up", 0.001);
                    var down = Fraction(source, ps, "step_down", 0.05);
                    return () => new Percentile(timeoutNs, up, down);
                }
            case "debug::history":
                {
                    var op = Text(source, ps, "op", def.Pos);
                    var name = Text(source, ps, "name", def.Pos);
                    return () => new History(op, name);
                }
            case "generic::counter":
                return () => new Counter();
            case "generic::batch":
                {
                    var count = PositiveInt(source, ps, "count", def.Pos, required: true)!.Value;
                    var timeout = PositiveInt(source, ps, "timeout", def.Pos, required: false);
                    return () => new Batch(count, timeout is { } t ? (ulong)t : null);
                }
            case "grouper::bucket":
                {
                    var cardinality = PositiveInt(source, ps, "cardinality", def.Pos, required: false) ?? 1000;
                    return () => new Bucket((int)cardinality);
                }
            case "qos::roundrobin":
                {
                    var outputs = new List<string>();
                    if (ps.TryGetValue("outputs", out var o))
                    {
                        if (o.Value.AsArray() is not { Count: > 0 } list || list.Any(x => x.AsString() is null))
                            throw source.Error(o.Pos, "`outputs` must be a non-empty array of port names", "with outputs = [\"a\", \"b\"]");
                        outputs.AddRange(list.Select(x => x.AsString()!));
                    }
                    else outputs.Add("out");
                    var ports = outputs.ToArray();
                    return () => new RoundRobin(ports);
                }
            default:
                throw source.Error(def.KindPos, $"unknown operator `{def.Kind}`");
        }
    }

    /// <summary>The output ports an operator kind may emit on, for wiring checks.</summary>
    public static IEnumerable<string> OutputPorts(string kind, Dictionary<string, (Value Value, int Pos)> ps)
    {
        kind = kind.StartsWith("std::", StringComparison.Ordinal) ? kind[5..] : kind;
        yield return "out";
        yield return "err";
        if (kind is "grouper::bucket" or "qos::backpressure" or "qos::percentile") yield return "overflow";
        if (kind == "qos::roundrobin" && ps.TryGetValue("outputs", out var o) && o.Value.AsArray() is { } list)
        {
            foreach (var p in list)
            {
                if (p.AsString() is { } s) yield return s;
            }
        }
    }

    private static long? PositiveInt(Source source, Dictionary<string, (Value Value, int Pos)> ps, string name, int defPos, bool required)
    {
        if (!ps.TryGetValue(name, out var p))
        {
            if (required) throw source.Error(defPos, $"missing parameter `{name}`", $"add `with {name} = ...`");
            return null;
        }
        if (!p.Value.TryGetI64(out var v) || v <= 0) throw source.Error(p.Pos, $"`{name}` must be a positive integer, got {p.Value}");
        return v;
    }

    private static ulong Milliseconds(Source source, Dictionary<string, (Value Value, int Pos)> ps, string name, long defaultMs)
    {
        if (!ps.TryGetValue(name, out var p)) return (ulong)defaultMs * 1_000_000;
        if (!p.Value.TryGetI64(out var ms) || ms <= 0) throw source.Error(p.Pos, $"`{name}` must be a positive integer of milliseconds, got {p.Value}");
        return (ulong)ms * 1_000_000;
    }

    private static double Fraction(Source source, Dictionary<string, (Value Value, int Pos)> ps, string name, double fallback)
    {
        if (!ps.TryGetValue(name, out var p)) return fallback;
        if (!p.Value.TryGetF64(out var f) || f <= 0 || f > 1) throw source.Error(p.Pos, $"`{name}` must be a number above 0.0 and at most 1.0, got {p.Value}");
        return f;
    }

    private static string Text(Source source, Dictionary<string, (Value Value, int Pos)> ps, string name, int defPos)
    {
        if (!ps.TryGetValue(name, out var p)) throw source.Error(defPos, $"missing parameter `{name}`", $"add `with {name} = \"...\"`");
        return p.Value.AsString() ?? throw source.Error(p.Pos, $"`{name}` must be a string, got {p.Value}");
    }

    private sealed class Passthrough : IOperatorInstance
    {
        public void Process(Event e, ulong nowNs, IEmitter output) => output.Emit("out", e);
    }

    /// <summary>
    /// qos::backpressure, as Tremor's: while the downstream is unhealthy (a delivery slower than <c>timeout</c>, or a
    /// failure) it backs off through <c>steps</c>; during a backoff at most one event per backoff period passes to
    /// <c>out</c> and the others go to <c>overflow</c> (<c>method = "discard"</c>), or every event passes and the
    /// upstream is paused until the backoff ends (<c>method = "pause"</c>). A healthy delivery resets it.
    /// </summary>
    private sealed class Backpressure(ulong timeoutNs, ulong[] steps, bool pause) : IOperatorInstance, IContraflow
    {
        private ulong _backoff;
        private ulong _next;

        public bool PausesUpstream => pause && _backoff > 0;

        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            if (_next <= e.IngestNs)
            {
                _next = e.IngestNs + _backoff;
                output.Emit("out", e);
            }
            else output.Emit(pause ? "out" : "overflow", e);
        }

        public void Delivered(ulong latencyNs, bool failed, ulong nowNs)
        {
            if (failed || latencyNs > timeoutNs)
            {
                // The next step above the current backoff; the last step once at the top.
                _backoff = steps.FirstOrDefault(b => b > _backoff, steps[^1]);
                _next = nowNs + _backoff;
            }
            else
            {
                _backoff = 0;
                _next = 0;
            }
        }

        public void Tick(ulong nowNs, IEmitter output)
        {
            // Paused: once the backoff has passed, the upstream may try again.
            if (pause && _backoff > 0 && nowNs > _next)
            {
                _backoff = 0;
                _next = 0;
            }
        }

        public TimeSpan? TickInterval => pause ? TimeSpan.FromTicks((long)Math.Max(1, steps[0] / 100)) : null;
    }

    /// <summary>
    /// qos::percentile, as Tremor's: passes a share of the events (all at first) and sends the rest to <c>overflow</c>;
    /// an unhealthy delivery lowers the share by <c>step_down</c>, a healthy one raises it by <c>step_up</c>. Which
    /// events pass is decided by their <c>ingest_ns</c> (deterministic, as Tremor's).
    /// </summary>
    private sealed class Percentile(ulong timeoutNs, double stepUp, double stepDown) : IOperatorInstance, IContraflow
    {
        private double _share = 1.0;

        public bool PausesUpstream => false;

        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            var r = (e.IngestNs % 0xFFFF) / (double)0xFFFF;
            output.Emit(r > _share ? "overflow" : "out", e);
        }

        public void Delivered(ulong latencyNs, bool failed, ulong nowNs) =>
            _share = failed || latencyNs > timeoutNs ? Math.Max(0, _share - stepDown) : Math.Min(1, _share + stepUp);
    }

    /// <summary>debug::history: appends <c>"evt: OP(ID)"</c> to the array in <c>$NAME</c>, to trace an event's way through operators.</summary>
    private sealed class History(string op, string name) : IOperatorInstance
    {
        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            var meta = e.Meta.Kind == ValueKind.Record ? ValueOps.ShallowCopy(e.Meta) : Value.NewRecord(1);
            var record = meta.AsRecord()!;
            var entry = Value.From($"evt: {op}({e.Id.SourceId}:{e.Id.StreamId}:{e.Id.Sequence})");
            var trail = record.TryGetValue(name, out var existing) && existing.AsArray() is { } list ? new List<Value>(list) { entry } : [entry];
            record.Set(name, Value.From(trail));
            output.Emit("out", new Event { Id = e.Id, IngestNs = e.IngestNs, Transactional = e.Transactional, Data = e.Data, Meta = meta });
        }
    }

    /// <summary>generic::counter: wraps each event as <c>{"count": n, "event": data}</c>.</summary>
    private sealed class Counter : IOperatorInstance
    {
        private long _count;

        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            _count++;
            var r = new ValueRecord(2);
            r.Append("count", Value.From(_count));
            r.Append("event", e.Data);
            output.Emit("out", new Event { Id = e.Id, IngestNs = e.IngestNs, Transactional = e.Transactional, Data = Value.From(r), Meta = e.Meta });
        }
    }

    /// <summary>
    /// generic::batch: collects <c>count</c> events into one whose data is the array of their data; with
    /// <c>timeout</c> (ns) a partial batch leaves once its first event is that old. The batch carries the first event's id.
    /// </summary>
    private sealed class Batch(long count, ulong? timeoutNs) : IOperatorInstance
    {
        private List<Value>? _items;
        private Event? _first;
        private bool _transactional;
        private ulong _startNs;

        public TimeSpan? TickInterval => timeoutNs is { } t ? TimeSpan.FromTicks(Math.Max(1, (long)(t / 100 / 2))) : null;

        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            if (_items is not null && timeoutNs is { } t && nowNs >= _startNs + t) Flush(output);
            if (_items is null)
            {
                _items = new List<Value>((int)Math.Min(count, 1024));
                _first = e;
                _startNs = nowNs;
                _transactional = false;
            }
            _items.Add(e.Data);
            _transactional |= e.Transactional;
            if (_items.Count >= count) Flush(output);
        }

        public void Tick(ulong nowNs, IEmitter output)
        {
            if (_items is not null && timeoutNs is { } t && nowNs >= _startNs + t) Flush(output);
        }

        public void Finish(ulong nowNs, IEmitter output)
        {
            if (_items is not null) Flush(output);
        }

        private void Flush(IEmitter output)
        {
            var first = _first!;
            var e = new Event { Id = first.Id, IngestNs = first.IngestNs, Transactional = _transactional, Data = Value.From(_items), Meta = first.Meta };
            _items = null;
            _first = null;
            output.Emit("out", e);
        }
    }

    /// <summary>qos::roundrobin: spreads events over its <c>outputs</c> ports in turn.</summary>
    private sealed class RoundRobin(string[] ports) : IOperatorInstance
    {
        private int _next;

        public void Process(Event e, ulong nowNs, IEmitter output)
        {
            var port = ports[_next];
            _next = (_next + 1) % ports.Length;
            output.Emit(port, e);
        }
    }
}
