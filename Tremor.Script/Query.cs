using Tremor.Pdk;
using Tremor.Script.Compilation;
using Tremor.Script.Operators;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script;

/// <summary>Where a query's events go: the runtime forwards each to the pipeline's output port.</summary>
public interface IQueryOutput
{
    void Emit(string port, Event e);
}

/// <summary>
/// A compiled trickle query: selects, windows, scripts and operators wired between the pipeline's ports.
/// Immutable and shareable; <see cref="Instantiate"/> gives each pipeline instance its own state.
/// </summary>
public sealed class Query
{
    internal Source Source { get; }
    internal List<NodePlan> Nodes { get; } = [];
    internal List<SelectPlan> Selects { get; } = [];

    /// <summary>The pipeline's args, read by <c>args.NAME</c> in selects (null when it has none).</summary>
    internal Value Args { get; private init; }

    private Query(Source source) => Source = source;

    /// <summary>Pipeline input ports the query reads, in order of first use.</summary>
    public IReadOnlyList<string> InputPorts { get; private set; } = [];

    /// <summary>Pipeline output ports the query writes, in order of first use; always includes <c>err</c>.</summary>
    public IReadOnlyList<string> OutputPorts { get; private set; } = [];

    /// <summary>Parses and compiles <paramref name="source"/>; <paramref name="origin"/> (file or HOCON key) names it in errors.</summary>
    /// <exception cref="ScriptException">On any syntax or semantic error.</exception>
    public static Query Compile(string source, string origin) =>
        Compile(source, origin, Path.IsPathRooted(origin) ? Path.GetDirectoryName(origin) : null);

    /// <summary>
    /// Parses and compiles <paramref name="source"/>; <c>use NAME;</c> loads <c>NAME.tremor</c> (<c>use a::b;</c>:
    /// <c>a/b.tremor</c>) from <paramref name="moduleDirectory"/>. Without one, only inline <c>mod</c>s can be used.
    /// </summary>
    /// <exception cref="ScriptException">On any syntax or semantic error, in the query or a module it uses.</exception>
    public static Query Compile(string source, string origin, string? moduleDirectory) => Compile(source, origin, moduleDirectory, default);

    /// <summary>
    /// As <see cref="Compile(string, string, string?)"/>, with the pipeline's <paramref name="args"/> (a record, as a
    /// troy <c>define pipeline NAME args ...</c> gives them): <c>args.NAME</c> in a select reads them.
    /// </summary>
    /// <exception cref="ScriptException">On any syntax or semantic error, in the query or a module it uses.</exception>
    public static Query Compile(string source, string origin, string? moduleDirectory, Value args)
    {
        var query = new Query(new Source(source, origin)) { Args = args };
        query.Build(Parser.ParseQuery(query.Source), new Definitions(null, moduleDirectory));
        return query;
    }

    /// <summary>A fresh instance: its own windows, script state and operator state.</summary>
    public QueryInstance Instantiate() => new(this);

    private void Build(List<Stmt> stmts, Definitions definitions)
    {
        var src = Source;
        definitions.Register(src, stmts.Where(s => s is FnStmt or ConstStmt or ModStmt or UseStmt), "");
        var windows = new Dictionary<string, WindowPlan>(StringComparer.Ordinal);
        var scripts = new Dictionary<string, DefineScriptStmt>(StringComparer.Ordinal);
        var operators = new Dictionary<string, DefineOperatorStmt>(StringComparer.Ordinal);
        var nodeIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var compiledScripts = new Dictionary<string, ScriptPlan>(StringComparer.Ordinal);

        foreach (var stmt in stmts)
        {
            switch (stmt)
            {
                case DefineWindowStmt w:
                    if (windows.ContainsKey(w.Name)) throw src.Error(w.Pos, $"window `{w.Name}` is already defined");
                    windows[w.Name] = WindowPlan.From(src, w);
                    break;
                case DefineScriptStmt s:
                    if (!scripts.TryAdd(s.Name, s)) throw src.Error(s.Pos, $"script `{s.Name}` is already defined");
                    break;
                case DefineOperatorStmt o:
                    if (!operators.TryAdd(o.Name, o)) throw src.Error(o.Pos, $"operator `{o.Name}` is already defined");
                    // Checked where it is defined, even if never created.
                    BuiltinOperators.Prepare(src, o, ConstantParams(src, o.Params));
                    break;
                case CreateStmt c:
                    {
                        if (c.Name is "in" or "out" or "err") throw src.Error(c.Pos, $"`{c.Name}` is a pipeline port and cannot be created");
                        if (nodeIndex.ContainsKey(c.Name)) throw src.Error(c.Pos, $"`{c.Name}` is already created");
                        NodePlan node;
                        if (c.What == "stream") node = new NodePlan(c.Name, () => new StreamNode(), ["out", "err"]);
                        else if (c.What == "script")
                        {
                            if (!scripts.TryGetValue(c.Definition, out var def))
                                throw src.Error(c.DefinitionPos, $"unknown script `{c.Definition}`", Hint(c.Definition, scripts.Keys, $"define it first: define script {c.Definition} script event end;"));
                            if (!compiledScripts.TryGetValue(def.Name, out var plan))
                            {
                                plan = ScriptPlan.Compile(src, def, definitions);
                                compiledScripts[def.Name] = plan;
                            }
                            var p = plan;
                            var args = plan.ArgsFor(src, c, definitions);
                            node = new NodePlan(c.Name, () => new ScriptNode(p, src, args), ["out", "err", .. plan.EmitPorts]) { AnyPort = true };
                        }
                        else
                        {
                            if (!operators.TryGetValue(c.Definition, out var def))
                                throw src.Error(c.DefinitionPos, $"unknown operator `{c.Definition}`", Hint(c.Definition, operators.Keys, $"define it first: define operator {c.Definition} from passthrough end;"));
                            var ps = ConstantParams(src, def.Params, definitions);
                            // `create operator o from d with k = v end` overrides the definition's parameters.
                            foreach (var (k, v) in ConstantParams(src, c.Params, definitions)) ps[k] = v;
                            node = new NodePlan(c.Name, BuiltinOperators.Prepare(src, def, ps), [.. BuiltinOperators.OutputPorts(def.Kind, ps)]);
                        }
                        nodeIndex[c.Name] = Nodes.Count;
                        Nodes.Add(node);
                        break;
                    }
            }
        }

        var inputs = new List<string>();
        var outputs = new List<string>();
        foreach (var stmt in stmts)
        {
            if (stmt is not SelectStmt s) continue;
            var from = Resolve(s.From, nodeIndex, isSource: true);
            var into = Resolve(s.Into, nodeIndex, isSource: false);
            if (from.Node < 0 && !inputs.Contains(from.Port)) inputs.Add(from.Port);
            if (into.Node < 0 && !outputs.Contains(into.Port)) outputs.Add(into.Port);
            if (from.Node >= 0 && !Nodes[from.Node].AnyPort && !Nodes[from.Node].Ports.Contains(from.Port))
                throw src.Error(s.From.Pos, $"`{s.From.Name}` has no output port `{from.Port}`", Hint(from.Port, Nodes[from.Node].Ports, $"its ports: {string.Join(", ", Nodes[from.Node].Ports)}"));
            var ws = new List<WindowPlan>();
            foreach (var w in s.Windows)
            {
                if (!windows.TryGetValue(w.Name, out var plan))
                    throw src.Error(w.Pos, $"unknown window `{w.Name}`", Hint(w.Name, windows.Keys, $"define it first: define window {w.Name} from tumbling with size = 10 end;"));
                ws.Add(plan);
            }
            Selects.Add(SelectPlan.Compile(src, s, from, into, ws, definitions));
        }
        if (inputs.Count == 0) inputs.Add("in");
        if (!outputs.Contains("err")) outputs.Add("err");
        InputPorts = inputs;
        OutputPorts = outputs;
    }

    internal static string? Hint(string name, IEnumerable<string> candidates, string otherwise) =>
        Source.Nearest(name, candidates) is { } nearest ? $"did you mean `{nearest}`?" : otherwise;

    internal static Dictionary<string, (Value, int)> ConstantParams(Source src, List<WithParam> ps, Definitions? definitions = null)
    {
        var result = new Dictionary<string, (Value, int)>(StringComparer.Ordinal);
        foreach (var p in ps)
        {
            if (!result.TryAdd(p.Name, (Compiler.EvaluateConstant(src, p.Value, definitions), p.Pos))) throw src.Error(p.Pos, $"parameter `{p.Name}` is given twice");
        }
        return result;
    }

    private Endpoint Resolve(StreamRef r, Dictionary<string, int> nodeIndex, bool isSource)
    {
        if (nodeIndex.TryGetValue(r.Name, out var node))
        {
            if (!isSource && r.Port is not null && r.Port != "in") throw Source.Error(r.Pos, $"nodes have a single input port `in`, not `{r.Port}`");
            return new Endpoint(node, r.Port ?? "out");
        }
        switch (r.Name)
        {
            case "in" when isSource: return new Endpoint(-1, r.Port ?? "in");
            case "in": throw Source.Error(r.Pos, "cannot select into `in`: it is the pipeline's input", "select ... into out;");
            case "out" or "err" when !isSource: return new Endpoint(-1, r.Port ?? r.Name);
            case "out" or "err": throw Source.Error(r.Pos, $"cannot select from `{r.Name}`: it is a pipeline output", "select ... from in ...;");
        }
        var hint = Hint(r.Name, nodeIndex.Keys.Concat(isSource ? ["in"] : ["out", "err"]), $"create it first: create stream {r.Name};");
        throw Source.Error(r.Pos, $"unknown stream `{r.Name}`", hint);
    }
}

/// <summary>A select's source or target: a created node (index) or, with index -1, a pipeline port.</summary>
internal readonly record struct Endpoint(int Node, string Port);

internal sealed record NodePlan(string Name, Func<IOperatorInstance> Create, string[] Ports)
{
    /// <summary>Scripts may emit to ports computed at run time, so any port name is accepted.</summary>
    public bool AnyPort { get; init; }
}

/// <summary>A created stream: forwards what it receives.</summary>
internal sealed class StreamNode : IOperatorInstance
{
    public void Process(Event e, ulong nowNs, IEmitter output) => output.Emit("out", e);
}

/// <summary>A tumbling window: by event count (<c>size</c>) or by time (<c>interval</c>, ns of processing time).</summary>
internal sealed record WindowPlan(string Name, long Size, ulong IntervalNs, bool EmitEmpty)
{
    private static readonly string[] Known = ["interval", "size", "emit_empty_windows", "max_groups", "eviction_period"];

    public static WindowPlan From(Source src, DefineWindowStmt w)
    {
        if (w.Kind != "tumbling")
            throw src.Error(w.Pos, $"unknown window kind `{w.Kind}`", "only tumbling windows are supported: define window w from tumbling with size = 10 end;");
        var ps = Query.ConstantParams(src, w.Params);
        foreach (var (name, (_, pos)) in ps)
        {
            if (!Known.Contains(name)) throw src.Error(pos, $"unknown window parameter `{name}`", Query.Hint(name, Known, "parameters: interval, size, emit_empty_windows"));
        }
        long size = 0;
        ulong interval = 0;
        if (ps.TryGetValue("size", out var s) && (!s.Item1.TryGetI64(out size) || size <= 0))
            throw src.Error(s.Item2, $"window `size` must be a positive integer, got {s.Item1}");
        if (ps.TryGetValue("interval", out var i))
        {
            if (!i.Item1.TryGetI64(out var ns) || ns <= 0) throw src.Error(i.Item2, $"window `interval` must be a positive integer of nanoseconds, got {i.Item1}", "interval = nanos::from_seconds(10) or 10s");
            interval = (ulong)ns;
        }
        if ((size > 0) == (interval > 0))
            throw src.Error(w.Pos, $"window `{w.Name}` needs exactly one of `size` or `interval`", "define window w from tumbling with interval = nanos::from_seconds(1) end;");
        var emitEmpty = false;
        if (ps.TryGetValue("emit_empty_windows", out var e) && !e.Item1.TryGetBool(out emitEmpty))
            throw src.Error(e.Item2, "`emit_empty_windows` must be true or false");
        return new WindowPlan(w.Name, size, interval, emitEmpty);
    }
}

/// <summary>A compiled script definition: its body closure and the slots an instance needs.</summary>
internal sealed record ScriptPlan(string Name, Eval Body, int Locals, int Scratch, DefineScriptStmt Def, string[] EmitPorts)
{
    public static ScriptPlan Compile(Source src, DefineScriptStmt def, Definitions definitions)
    {
        var scope = new Scope(ScopeKind.Script);
        // The script's own fn/const/use stay inside it.
        var body = new Compiler(src, scope, definitions.Child()).Block(def.Body, yieldsEventAfterLet: true);
        var ports = def.Body.SelectMany(Emits).Distinct().ToArray();
        return new ScriptPlan(def.Name, body, scope.LocalCount, scope.ScratchCount, def, ports);
    }

    /// <summary>
    /// The <c>args</c> of one created script: the definition's defaults (<c>args x = 1</c>, or the older
    /// <c>with x = 1</c>) overridden by the create's <c>with</c>; a required argument left out is an error there.
    /// </summary>
    public Value ArgsFor(Source src, CreateStmt create, Definitions definitions)
    {
        var given = Query.ConstantParams(src, create.Params, definitions);
        var args = new ValueRecord();
        foreach (var (name, (v, _)) in Query.ConstantParams(src, Def.Params, definitions)) args.Set(name, v);
        foreach (var a in Def.Args)
        {
            if (given.ContainsKey(a.Name)) continue;
            if (a.Default is null)
                throw src.Error(create.Pos, $"script `{Def.Name}` needs the argument `{a.Name}`", $"create script {create.Name} from {Def.Name} with {a.Name} = ... end;");
            args.Set(a.Name, Compiler.EvaluateConstant(src, a.Default, definitions));
        }
        var known = Def.Args.Select(a => a.Name).Concat(Def.Params.Select(p => p.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, (v, pos)) in given)
        {
            if (!known.Contains(name))
                throw src.Error(pos, $"script `{Def.Name}` has no argument `{name}`", Query.Hint(name, known, $"declare it: define script {Def.Name} args {name} = ... script ... end;"));
            args.Set(name, v);
        }
        return Value.From(args);
    }

    // Literal emit ports make `from script/port` checkable; computed ports are accepted at run time.
    private static IEnumerable<string> Emits(Expr e) => e switch
    {
        EmitExpr { Port: LiteralExpr l } when l.Value.AsString() is { } p => [p],
        MatchExpr m => m.Cases.SelectMany(c => c.Body).SelectMany(Emits),
        _ => [],
    };
}
