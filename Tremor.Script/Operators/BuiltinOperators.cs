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
        ["qos::roundrobin"] = ["outputs"],
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
            case "qos::backpressure":
                return () => new Passthrough();
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
        if (kind == "grouper::bucket") yield return "overflow";
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

    private sealed class Passthrough : IOperatorInstance
    {
        // qos::backpressure also lands here: flow control is the runtime's job in Tremor.NET (see README).
        public void Process(Event e, ulong nowNs, IEmitter output) => output.Emit("out", e);
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
