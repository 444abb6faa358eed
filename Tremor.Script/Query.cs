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

    /// <summary>The pipeline's args, read by <c>args.NAME</c> in selects (null when it has none): a troy pipeline's, or a created sub-pipeline's.</summary>
    internal Value Args { get; private set; }

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
        var query = new Query(new Source(source, origin));
        // In the definitions, so `args` also reads them where values must be constant (a create's `with`).
        query.Build(Parser.ParseQuery(query.Source), new Definitions(null, moduleDirectory) { Args = args });
        return query;
    }

    /// <summary>
    /// Compiles a script file (<c>.tremor</c>) as a query of one script: events from <c>in</c> run through it, its
    /// result goes to <c>out</c>, <c>emit =&gt; "PORT"</c> to that port, errors to <c>err</c>; <c>state</c> persists
    /// across events. <c>use</c> loads modules beside <paramref name="origin"/> when it is a file path.
    /// </summary>
    /// <exception cref="ScriptException">On any syntax or semantic error.</exception>
    public static Query CompileScript(string source, string origin)
    {
        var query = new Query(new Source(source, origin));
        var body = Parser.ParseScript(query.Source);
        query.Build(ScriptQuery(body), new Definitions(null, Path.IsPathRooted(origin) ? Path.GetDirectoryName(origin) : null));
        return query;
    }

    // The statements `define script s script BODY end; create script s; select event from in into s; ...` would be,
    // built directly so positions stay those of the script file.
    private static List<Stmt> ScriptQuery(List<Expr> body)
    {
        const string name = "script";
        var stmts = new List<Stmt>
        {
            new DefineScriptStmt(0, name, [], [], body),
            new CreateStmt(0, "script", name, name, 0, []),
            Forward(new StreamRef(0, "in", null), new StreamRef(0, name, null)),
        };
        foreach (var port in ScriptPlan.EmitPortsOf(body).Append("out").Append("err").Distinct(StringComparer.Ordinal))
        {
            stmts.Add(Forward(new StreamRef(0, name, port), new StreamRef(0, port is "out" or "err" ? port : "out", port is "out" or "err" ? null : port)));
        }
        return stmts;

        static SelectStmt Forward(StreamRef from, StreamRef into) =>
            new(0, new PathExpr(0, PathRoot.Event, null, null, []), from, [], null, null, into, null);
    }

    /// <summary>A fresh instance: its own windows, script state and operator state.</summary>
    public QueryInstance Instantiate() => new(this);

    /// <summary>
    /// Compiles <paramref name="stmts"/> into this query's nodes and selects. A sub-pipeline passes its declared ports
    /// (<paramref name="declaredInputs"/>, <paramref name="declaredOutputs"/>); the top level has <c>in</c>, and
    /// <c>out</c> and <c>err</c>, each with <c>/PORT</c> for further pipeline ports.
    /// </summary>
    private void Build(List<Stmt> stmts, Definitions definitions, List<(int Pos, string Name)>? declaredInputs = null, List<(int Pos, string Name)>? declaredOutputs = null)
    {
        var src = Source;
        Args = definitions.Args;
        _declaredInputs = declaredInputs?.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        _declaredOutputs = declaredOutputs?.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        definitions.Register(src, stmts.Where(s => s is FnStmt or ConstStmt or ModStmt or UseStmt or AggregateStmt), "");
        var windows = new Dictionary<string, WindowPlan>(StringComparer.Ordinal);
        var scripts = new Dictionary<string, DefineScriptStmt>(StringComparer.Ordinal);
        var operators = new Dictionary<string, (Source Source, DefineOperatorStmt Def, Definitions Definitions)>(StringComparer.Ordinal);
        var pipelines = new Dictionary<string, (Source Source, DefinePipelineStmt Def, Definitions Definitions)>(StringComparer.Ordinal);
        var nodeIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var compiledScripts = new Dictionary<string, ScriptPlan>(StringComparer.Ordinal);

        // A definition is known by its name, or `module::name` when a used module file holds it; it compiles in its file.
        void Define(Source defSrc, string prefix, Stmt stmt, Definitions defs)
        {
            switch (stmt)
            {
                case DefineWindowStmt w:
                    if (windows.ContainsKey(prefix + w.Name)) throw defSrc.Error(w.Pos, $"window `{prefix + w.Name}` is already defined");
                    windows[prefix + w.Name] = WindowPlan.From(defSrc, w, defs);
                    break;
                case DefineScriptStmt s:
                    if (!scripts.TryAdd(prefix + s.Name, s)) throw defSrc.Error(s.Pos, $"script `{prefix + s.Name}` is already defined");
                    // Compiled where it is defined, even if never created (as Tremor checks it).
                    compiledScripts[prefix + s.Name] = ScriptPlan.Compile(defSrc, s, defs);
                    break;
                case DefinePipelineStmt p:
                    if (!pipelines.TryAdd(prefix + p.Name, (defSrc, p, defs))) throw defSrc.Error(p.StatementPos, $"pipeline `{prefix + p.Name}` is already defined");
                    // Checked where it is defined, even if never created.
                    foreach (var (pos, name) in (p.From ?? []).Concat(p.Into ?? []))
                    {
                        if (p.Body.OfType<CreateStmt>().FirstOrDefault(c => c.Name == name) is not { } clash) continue;
                        var (line, col) = defSrc.Locate(pos);
                        throw defSrc.Error(clash.StatementPos, $"`{name}` is a port of pipeline `{p.Name}`: a stream or node cannot have its name", $"rename the {clash.What} or the port (declared at {line}:{col})");
                    }
                    break;
                case DefineOperatorStmt o:
                    if (!operators.TryAdd(prefix + o.Name, (defSrc, o, defs))) throw defSrc.Error(o.Pos, $"operator `{prefix + o.Name}` is already defined");
                    // Checked where it is defined, even if never created (with its default arguments).
                    BuiltinOperators.Prepare(defSrc, o, OperatorParams(defSrc, o, null, defs));
                    break;
            }
        }

        foreach (var (moduleSrc, prefix, stmt) in definitions.QueryDefinitions)
        {
            Define(moduleSrc, prefix, stmt, new Definitions(definitions, null) { Args = definitions.Args, Prefix = prefix });
        }

        foreach (var stmt in stmts)
        {
            switch (stmt)
            {
                case DefineWindowStmt or DefineScriptStmt or DefinePipelineStmt or DefineOperatorStmt:
                    Define(src, "", stmt, definitions);
                    break;
                case CreateStmt c:
                    {
                        if (IsPipelinePort(c.Name))
                            throw src.Error(c.StatementPos, $"`{c.Name}` is a port of this pipeline and cannot be created", $"name it differently: create {c.What} {c.Name}_{c.What} ...;");
                        if (nodeIndex.ContainsKey(c.Name)) throw src.Error(c.StatementPos, $"`{c.Name}` is already created", "every created node needs its own name");
                        if (c.Name == "metrics")
                            throw src.Error(c.StatementPos, "`metrics` is reserved for the pipeline's built-in metrics node, as in Tremor", $"name it differently: create {c.What} {c.What}_metrics ...;");
                        NodePlan node;
                        if (c.What == "stream") node = new NodePlan(c.Name, () => new StreamNode(), ["out", "err"]) { AnyInPort = true };
                        else if (c.What == "script")
                        {
                            if (!scripts.TryGetValue(c.Definition, out var def))
                                throw src.Error(c.DefinitionPos, $"unknown script `{c.Definition}`", Hint(c.Definition, scripts.Keys, $"define it first: define script {c.Definition} script event end;"));
                            var p = compiledScripts[c.Definition];
                            var plan = p;
                            var args = plan.ArgsFor(src, c, definitions);
                            var state = plan.InitialState(p.Source, args, p.Definitions);
                            node = new NodePlan(c.Name, () => new ScriptNode(p, p.Source, args, state), ["out", "err", .. plan.EmitPorts]) { AnyPort = true, InPorts = plan.InPorts };
                        }
                        else if (c.What == "pipeline")
                        {
                            if (!pipelines.TryGetValue(c.Definition, out var def))
                                throw src.Error(c.StatementPos, $"unknown pipeline `{c.Definition}`", Hint(c.Definition, pipelines.Keys, $"define it first: define pipeline {c.Definition} pipeline select event from in into out; end;"));
                            var sub = CompilePipeline(src, def, c, definitions);
                            node = new NodePlan(c.Name, () => new PipelineNode(sub.Instantiate()), [.. sub.OutputPorts]) { InPorts = [.. sub.InputPorts] };
                        }
                        else
                        {
                            if (!operators.TryGetValue(c.Definition, out var op))
                                throw src.Error(c.DefinitionPos, $"unknown operator `{c.Definition}`", Hint(c.Definition, operators.Keys, $"define it first: define operator {c.Definition} from passthrough end;"));
                            var (opSrc, def, opDefs) = op;
                            var ps = OperatorParams(opSrc, def, c, opDefs, src, definitions);
                            node = new NodePlan(c.Name, BuiltinOperators.Prepare(opSrc, def, ps), [.. BuiltinOperators.OutputPorts(def.Kind, ps)]);
                        }
                        nodeIndex[c.Name] = Nodes.Count;
                        Nodes.Add(node);
                        break;
                    }
            }
        }

        // A pipeline defined and never created is still checked (as Tremor does), when its arguments all have defaults.
        var created = stmts.OfType<CreateStmt>().Where(c => c.What == "pipeline").Select(c => c.Definition).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, unused) in pipelines.Where(p => !created.Contains(p.Key) && p.Value.Def.Args.All(a => a.Default is not null)))
        {
            CompilePipeline(unused.Source, unused, new CreateStmt(unused.Def.StatementPos, "pipeline", name, name, unused.Def.Pos, []), unused.Definitions);
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
            if (into.Node >= 0 && !Nodes[into.Node].AnyInPort && !Nodes[into.Node].InPorts.Contains(into.Port))
                throw src.Error(s.Into.Pos, $"`{s.Into.Name}` has no input port `{into.Port}`", Hint(into.Port, Nodes[into.Node].InPorts, $"its input ports: {string.Join(", ", Nodes[into.Node].InPorts)}"));
            var ws = new List<WindowPlan>();
            foreach (var w in s.Windows)
            {
                if (!windows.TryGetValue(w.Name, out var plan))
                    throw src.Error(w.Pos, $"unknown window `{w.Name}`", Hint(w.Name, windows.Keys, $"define it first: define window {w.Name} from tumbling with size = 10 end;"));
                ws.Add(plan);
            }
            Selects.Add(SelectPlan.Compile(src, s, from, into, ws, definitions));
        }
        // A sub-pipeline has the ports it declares, used or not: a select into an unused one is still valid.
        if (declaredInputs is not null) inputs = [.. declaredInputs.Select(p => p.Name)];
        if (declaredOutputs is not null) outputs = [.. declaredOutputs.Select(p => p.Name)];
        if (inputs.Count == 0) inputs.Add("in");
        if (!outputs.Contains("err")) outputs.Add("err");
        InputPorts = inputs;
        OutputPorts = outputs;
    }

    /// <summary>
    /// A created pipeline: its definition compiled as a query of its own with the create's arguments (the definition's
    /// defaults overridden by <c>with</c>), run as one node of this query.
    /// </summary>
    private static Query CompilePipeline(Source src, (Source Source, DefinePipelineStmt Def, Definitions Definitions) defined, CreateStmt create, Definitions definitions)
    {
        // The create is the creating query's text; the definition (defaults, body), its own file's.
        var (defSrc, def, defDefinitions) = defined;
        var given = ConstantParams(src, create.Params, definitions);
        var args = new ValueRecord();
        foreach (var a in def.Args)
        {
            if (given.TryGetValue(a.Name, out var v)) args.Set(a.Name, v.Item1);
            else if (a.Default is not null) args.Set(a.Name, Compiler.EvaluateConstant(defSrc, a.Default, defDefinitions));
            else throw src.Error(create.StatementPos, $"pipeline `{def.Name}` needs the argument `{a.Name}`", $"create pipeline {create.Name} from {def.Name} with {a.Name} = ... end;");
        }
        foreach (var (name, (_, pos)) in given)
        {
            if (!def.Args.Any(a => a.Name == name))
                throw src.Error(pos, $"pipeline `{def.Name}` has no argument `{name}`", Hint(name, def.Args.Select(a => a.Name), $"declare it: define pipeline {def.Name} args {name} = ... pipeline ... end;"));
        }
        var query = new Query(defSrc);
        var inner = new Definitions(defDefinitions, null) { Args = Value.From(args) };
        query.Build(def.Body, inner, def.From ?? [(def.Pos, "in")], def.Into ?? [(def.Pos, "out"), (def.Pos, "err")]);
        return query;
    }

    /// <summary>
    /// An operator's parameters. A definition with <c>args</c> computes its <c>with</c> parameters from them, and a
    /// create's <c>with</c> sets those args; without <c>args</c>, a create's <c>with</c> overrides parameters directly.
    /// </summary>
    private static Dictionary<string, (Value Value, int Pos)> OperatorParams(Source src, DefineOperatorStmt def, CreateStmt? create, Definitions definitions, Source? createSrc = null, Definitions? createDefinitions = null)
    {
        // The definition is `src`'s text; the create (when the definition comes from a module file), `createSrc`'s.
        createSrc ??= src;
        createDefinitions ??= definitions;
        var given = create is null ? [] : ConstantParams(createSrc, create.Params, createDefinitions);
        if (def.Args.Count == 0)
        {
            var ps = ConstantParams(src, def.Params, definitions);
            foreach (var (k, v) in given) ps[k] = v;
            return ps;
        }
        var args = new ValueRecord();
        foreach (var a in def.Args)
        {
            if (given.TryGetValue(a.Name, out var v)) args.Set(a.Name, v.Item1);
            else if (a.Default is not null) args.Set(a.Name, Compiler.EvaluateConstant(src, a.Default, definitions));
            else if (create is not null) throw createSrc.Error(create.StatementPos, $"operator `{def.Name}` needs the argument `{a.Name}`", $"create operator {create.Name} from {def.Name} with {a.Name} = ... end;");
        }
        foreach (var (name, (_, pos)) in given)
        {
            if (!def.Args.Any(a => a.Name == name))
                throw createSrc.Error(pos, $"operator `{def.Name}` has no argument `{name}`", Hint(name, def.Args.Select(a => a.Name), $"declare it: define operator {def.Name} from {def.Kind} args {name} = ... end;"));
        }
        return ConstantParams(src, def.Params, new Definitions(definitions, null) { Args = Value.From(args) });
    }

    private HashSet<string>? _declaredInputs;
    private HashSet<string>? _declaredOutputs;


    private bool IsPipelinePort(string name) =>
        _declaredInputs is null ? name is "in" or "out" or "err" : _declaredInputs.Contains(name) || _declaredOutputs!.Contains(name);

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
        if (nodeIndex.TryGetValue(r.Name, out var node)) return new Endpoint(node, r.Port ?? (isSource ? "out" : "in"));
        if (_declaredInputs is not null)
        {
            // A sub-pipeline: its declared ports, read and written by name.
            if (isSource && _declaredInputs.Contains(r.Name) && r.Port is null) return new Endpoint(-1, r.Name);
            if (!isSource && _declaredOutputs!.Contains(r.Name) && r.Port is null) return new Endpoint(-1, r.Name);
            var ports = isSource ? _declaredInputs : _declaredOutputs!;
            throw Source.Error(r.Pos, $"unknown stream `{r.Name}{(r.Port is null ? "" : "/" + r.Port)}` in this pipeline", Hint(r.Name, nodeIndex.Keys.Concat(ports), $"its {(isSource ? "input" : "output")} ports: {string.Join(", ", ports)}"));
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

    /// <summary>The ports a select may write into (<c>into node/PORT</c>).</summary>
    public string[] InPorts { get; init; } = ["in"];

    /// <summary>A stream takes events on any port.</summary>
    public bool AnyInPort { get; init; }
}

/// <summary>A created stream: forwards what it receives.</summary>
internal sealed class StreamNode : IOperatorInstance
{
    public void Process(Event e, ulong nowNs, IEmitter output) => output.Emit("out", e);
}

/// <summary>
/// A tumbling window: by event count (<c>size</c>) or by time (<c>interval</c>, ns of the events' <c>ingest_ns</c>).
/// <see cref="MaxGroups"/> (0: unbounded) bounds the groups a select keeps open over this window.
/// </summary>
internal sealed record WindowPlan(string Name, long Size, ulong IntervalNs, bool EmitEmpty, long MaxGroups = 0)
{
    /// <summary>
    /// The window's <c>script</c> section, if any: for an interval window the event's time in ns (instead of its
    /// <c>ingest_ns</c>; ticks then never close the window, as in Tremor), for a size window how much the event counts.
    /// </summary>
    public WindowScript? Script { get; init; }

    /// <summary>A state window: <see cref="Script"/> says, per event, whether to emit (and include the event first).</summary>
    public bool IsStateWindow { get; init; }

    /// <summary>The <c>state</c> each group's state window starts with (and returns to when the group is forgotten).</summary>
    public Value InitialState { get; init; }

    /// <summary>A state window's <c>script from tick</c>: whether to emit, on ticks.</summary>
    public WindowScript? TickScript { get; init; }

    private static readonly string[] Known = ["interval", "size", "emit_empty_windows", "max_groups", "eviction_period"];

    public static WindowPlan From(Source src, DefineWindowStmt w, Definitions definitions)
    {
        if (w.Kind != "tumbling")
            throw src.Error(w.Pos, $"unknown window kind `{w.Kind}`", "only tumbling windows are supported: define window w from tumbling with size = 10 end;");
        var ps = Query.ConstantParams(src, w.Params, definitions);
        foreach (var (name, (_, pos)) in ps)
        {
            if (!Known.Contains(name)) throw src.Error(pos, $"unknown window parameter `{name}`", Query.Hint(name, Known, "parameters: interval, size, emit_empty_windows, max_groups"));
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
        if (w.State is not null)
        {
            // A state window: its script decides when it emits, from the state it keeps per group.
            if (size > 0 || interval > 0) throw src.Error(w.Pos, $"window `{w.Name}` has a `state` section: its script decides when it emits, so it takes no `size` or `interval`");
            if (w.Script is null) throw src.Error(w.Pos, $"state window `{w.Name}` needs a `script` that says whether to emit", "state 0 script let state = state + 1; state % 2 == 0 end;");
        }
        else if ((size > 0) == (interval > 0))
            throw src.Error(w.Pos, $"window `{w.Name}` needs exactly one of `size` or `interval`", "define window w from tumbling with interval = nanos::from_seconds(1) end;");
        else if (w.Tick is not null) throw src.Error(w.Tick.Value.Pos, "`script from tick` belongs to a state window (one with a `state` section)");
        var emitEmpty = false;
        if (ps.TryGetValue("emit_empty_windows", out var e) && !e.Item1.TryGetBool(out emitEmpty))
            throw src.Error(e.Item2, "`emit_empty_windows` must be true or false");
        long maxGroups = 0;
        if (ps.TryGetValue("max_groups", out var g) && (!g.Item1.TryGetI64(out maxGroups) || maxGroups <= 0))
            throw src.Error(g.Item2, $"window `max_groups` must be a positive integer, got {g.Item1}", "max_groups = 10000");
        WindowScript? Compile((int Pos, List<Expr> Body)? section)
        {
            if (section is not { } ws) return null;
            var scope = new Scope(ScopeKind.Script);
            var body = new Compiler(src, scope, definitions.Child()).Block(ws.Body, yieldsEventAfterLet: true);
            return new WindowScript(body, scope.LocalCount, scope.ScratchCount, ws.Pos);
        }
        var initial = w.State is null ? Value.Null : Compiler.EvaluateConstant(src, w.State, definitions);
        return new WindowPlan(w.Name, size, interval, emitEmpty, maxGroups)
        {
            Script = Compile(w.Script),
            IsStateWindow = w.State is not null,
            InitialState = initial,
            TickScript = Compile(w.Tick),
        };
    }
}

/// <summary>A window's compiled <c>script</c> section.</summary>
internal sealed record WindowScript(Eval Body, int Locals, int Scratch, int Pos);

/// <summary>
/// A compiled script definition: the closure of its plain <c>script</c> block (events on <c>in</c>), one per
/// <c>script from PORT</c> block, and the slots an instance needs (the largest of its blocks).
/// </summary>
internal sealed record ScriptPlan(string Name, Eval? Body, IReadOnlyDictionary<string, Eval> PortBodies, int Locals, int Scratch, DefineScriptStmt Def, string[] EmitPorts)
{
    /// <summary>The file the script is defined in (the query, or a module it uses): its errors render from there.</summary>
    public required Source Source { get; init; }

    /// <summary>What the definition sees: the query's definitions, or its module's.</summary>
    public required Definitions Definitions { get; init; }

    public static ScriptPlan Compile(Source src, DefineScriptStmt def, Definitions definitions)
    {
        var locals = 0;
        var scratch = 0;
        Eval CompileBlock(List<Expr> body)
        {
            // A block's own fn/const/use stay inside it: another block of the script does not see them (as in Tremor).
            var scope = new Scope(ScopeKind.Script);
            var eval = new Compiler(src, scope, definitions.Child()).Block(body, yieldsEventAfterLet: true);
            locals = Math.Max(locals, scope.LocalCount);
            scratch = Math.Max(scratch, scope.ScratchCount);
            return eval;
        }
        // Blocks compile in the order they are written, so the first mistake in the text is the one reported.
        Eval? main = null;
        var ports = new Dictionary<string, Eval>(StringComparer.Ordinal);
        var mainPos = def.Body.Count > 0 ? def.Body[0].Pos : int.MaxValue;
        foreach (var block in def.PortBodies.Select(p => (p.Pos, Port: (string?)p.Port, p.Body)).Append((mainPos, null, def.Body)).OrderBy(b => b.Item1))
        {
            if (block.Port is { } port) ports[port] = CompileBlock(block.Body);
            else if (def.HasMain) main = CompileBlock(block.Body);
        }
        var emits = def.PortBodies.Select(p => p.Body).Prepend(def.Body).SelectMany(EmitPortsOf).Distinct(StringComparer.Ordinal).ToArray();
        return new ScriptPlan(def.Name, main, ports, locals, scratch, def, emits) { Source = src, Definitions = definitions };
    }

    /// <summary>The ports a select may write into: <c>in</c> when there is a plain <c>script</c> block, and each <c>script from PORT</c>.</summary>
    public string[] InPorts => [.. (Body is null ? [] : new[] { "in" }), .. PortBodies.Keys];

    /// <summary>The script's <c>state</c> before its first event: its <c>state</c> section evaluated with the created script's args, else null.</summary>
    public Value InitialState(Source src, Value args, Definitions definitions)
    {
        if (Def.State is null) return Value.Null;
        var scope = new Scope(ScopeKind.Script);
        var eval = new Compiler(src, scope, definitions.Child()).Compile(Def.State);
        var c = new Context(scope.LocalCount, scope.ScratchCount) { Args = args };
        try
        {
            return eval(c);
        }
        catch (RuntimeError err)
        {
            throw src.Error(err.Pos, $"the state of script `{Def.Name}`: {err.Message}");
        }
    }

    /// <summary>
    /// The <c>args</c> of one created script: the definition's defaults (<c>args x = 1</c>, or the older
    /// <c>with x = 1</c>) overridden by the create's <c>with</c>; a required argument left out is an error there.
    /// </summary>
    public Value ArgsFor(Source src, CreateStmt create, Definitions definitions)
    {
        var given = Query.ConstantParams(src, create.Params, definitions);
        var args = new ValueRecord();
        // The definition's defaults are its file's expressions; the create's values, the creating query's.
        foreach (var (name, (v, _)) in Query.ConstantParams(Source, Def.Params, Definitions)) args.Set(name, v);
        foreach (var a in Def.Args)
        {
            if (given.ContainsKey(a.Name)) continue;
            if (a.Default is null)
                throw src.Error(create.Pos, $"script `{Def.Name}` needs the argument `{a.Name}`", $"create script {create.Name} from {Def.Name} with {a.Name} = ... end;");
            args.Set(a.Name, Compiler.EvaluateConstant(Source, a.Default, Definitions));
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

    /// <summary>The literal ports a script body emits to: they make <c>from script/port</c> checkable.</summary>
    public static string[] EmitPortsOf(List<Expr> body) => body.SelectMany(Emits).Distinct(StringComparer.Ordinal).ToArray();

    // Computed ports are accepted at run time.
    private static IEnumerable<string> Emits(Expr e) => e switch
    {
        EmitExpr { Port: LiteralExpr l } when l.Value.AsString() is { } p => [p],
        MatchExpr m => m.Cases.SelectMany(c => c.Body).SelectMany(Emits),
        _ => [],
    };
}
