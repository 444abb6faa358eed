using Tremor.Pdk;
using Tremor.Script.Compilation;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Troy;

/// <summary>
/// Reads a troy deployment (Tremor's deployment language): parses it and the modules it uses, instantiates every
/// <c>deploy flow</c> with its args, and checks every name, port and embedded query. The result is the flows to run;
/// nothing is deployed when any part is wrong.
/// </summary>
public static class TroyDeployment
{
    /// <summary>The <c>with</c> parameters a connector definition may have, as Tremor's.</summary>
    public static readonly IReadOnlyList<string> ConnectorParameters = ["codec", "preprocessors", "postprocessors", "config", "reconnect", "metrics_interval_s"];

    /// <summary>
    /// Reads the deployment <paramref name="text"/>; <paramref name="origin"/> names it in errors and
    /// <paramref name="directory"/> is where <c>use NAME;</c> finds <c>NAME.troy</c> (null: only the standard modules).
    /// </summary>
    /// <exception cref="ScriptException">Any error, at its line and column, with the line, a caret and a hint.</exception>
    public static IReadOnlyList<TroyFlow> Load(string text, string origin, string? directory)
    {
        var loader = new Loader(directory);
        var root = loader.Read(new Source(text, origin), directory, [], isRoot: true);
        var flows = new List<TroyFlow>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var deploy in root.Deploys)
        {
            if (!names.Add(deploy.Name)) throw root.Source.Error(deploy.Pos, $"flow `{deploy.Name}` is deployed twice", "give each deployment its own name: deploy flow other from NAME;");
            flows.Add(loader.Deploy(root, deploy));
        }
        if (flows.Count == 0)
        {
            throw root.Source.Error(text.Length, "the deployment deploys no flow", "add a deploy statement: deploy flow main;");
        }
        return flows;
    }

    /// <summary>A definition together with the module whose text it is written in.</summary>
    private sealed record Defined<T>(T Definition, Module Module);

    private sealed class Scope(Module module, Scope? parent)
    {
        public Module Module { get; } = module;
        public Scope? Parent { get; } = parent;
        public Dictionary<string, Defined<TroyDefineConnector>> Connectors { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Defined<TroyDefinePipeline>> Pipelines { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Module> Uses { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Module(Source source, string? directory, string name)
    {
        /// <summary>How errors name it: <c>tremor::connectors</c>, <c>shared</c>, or the deployment's origin.</summary>
        public string Name { get; } = name;

        public Source Source { get; } = source;
        public string? Directory { get; } = directory;
        public Scope Scope { get; set; } = null!;
        public Dictionary<string, Defined<TroyDefineFlow>> Flows { get; } = new(StringComparer.Ordinal);
        public List<TroyDeploy> Deploys { get; } = [];
        public Definitions Definitions { get; } = new(null, directory);
    }

    private sealed class Loader(string? rootDirectory)
    {
        private readonly Dictionary<string, Module> _modules = new(StringComparer.Ordinal);
        private readonly HashSet<string> _loading = new(StringComparer.Ordinal);

        public Module Read(Source source, string? directory, List<string> name, bool isRoot)
        {
            var module = new Module(source, directory, isRoot ? source.Origin : string.Join("::", name));
            module.Scope = new Scope(module, null);
            foreach (var stmt in Parser.ParseTroy(source))
            {
                switch (stmt)
                {
                    case TroyUse u:
                        Use(module.Scope, u);
                        break;
                    case TroyDefineFlow f:
                        if (!module.Flows.TryAdd(f.Name, new(f, module))) throw source.Error(f.Pos, $"flow `{f.Name}` is already defined", "give each flow its own name");
                        break;
                    case TroyDeploy d:
                        if (!isRoot) throw source.Error(d.Pos, "a module cannot deploy flows", $"deploy it from the deployment file: use {string.Join("::", name)}; deploy flow NAME from {name[^1]}::FLOW;");
                        module.Deploys.Add(d);
                        break;
                    default:
                        Define(module.Scope, stmt);
                        break;
                }
            }
            return module;
        }

        private static void Define(Scope scope, TroyStmt stmt)
        {
            var src = scope.Module.Source;
            switch (stmt)
            {
                case TroyDefineConnector c:
                    if (!scope.Connectors.TryAdd(c.Name, new(c, scope.Module))) throw src.Error(c.Pos, $"connector `{c.Name}` is already defined here", "give each definition its own name");
                    break;
                case TroyDefinePipeline p:
                    if (!scope.Pipelines.TryAdd(p.Name, new(p, scope.Module))) throw src.Error(p.Pos, $"pipeline `{p.Name}` is already defined here", "give each definition its own name");
                    break;
            }
        }

        private void Use(Scope scope, TroyUse use)
        {
            var module = TryModule(use.Path, use.Pos, scope.Module.Source);
            // Script modules (std::time::nanos, ...) need no import: their functions are known everywhere.
            if (module is null) return;
            scope.Uses[use.Alias] = module;
        }

        /// <summary>A troy module: a standard one, or <c>a/b.troy</c> beside the deployment; null for a script module.</summary>
        private Module? TryModule(List<string> path, int pos, Source from)
        {
            var key = string.Join("::", path);
            if (_modules.TryGetValue(key, out var known)) return known;
            string? text = TroyStandardModules.Find(key);
            string origin = key;
            string? directory = null;
            if (text is null)
            {
                if (rootDirectory is not null)
                {
                    var file = Path.Combine(rootDirectory, Path.Combine([.. path])) + ".troy";
                    if (File.Exists(file))
                    {
                        text = File.ReadAllText(file);
                        origin = Path.GetFullPath(file);
                        directory = rootDirectory;
                    }
                }
                if (text is null)
                {
                    if (TroyStandardModules.IsScriptModule(path[0])) return null;
                    var where = rootDirectory is null ? "a request body can only use the standard modules" : $"looked for {Path.Combine(rootDirectory, Path.Combine([.. path]))}.troy";
                    throw from.Error(pos, $"no troy module `{key}` ({where})", "standard modules: tremor::connectors, tremor::pipelines; or put NAME.troy beside the deployment and write use NAME;");
                }
            }
            if (!_loading.Add(key)) throw from.Error(pos, $"module `{key}` uses itself (a cycle of use statements)", "remove one of the use statements of the cycle");
            var module = Read(new Source(text, origin), directory, path, isRoot: false);
            _loading.Remove(key);
            _modules[key] = module;
            return module;
        }

        private Defined<T> Find<T>(Scope scope, List<string> target, int pos, Source from, string kind, Func<Scope, Dictionary<string, Defined<T>>> table)
        {
            var name = target[^1];
            if (target.Count == 1)
            {
                for (var s = scope; s is not null; s = s.Parent)
                {
                    if (table(s).TryGetValue(name, out var found)) return found;
                }
                var known = new List<string>();
                for (var s = scope; s is not null; s = s.Parent) known.AddRange(table(s).Keys);
                throw from.Error(pos, $"no {kind} definition `{name}`", Query.Hint(name, known, $"define it first: define {kind} {name} ...; or use a module: use tremor::{kind}s; ... from {kind}s::NAME"));
            }
            Module? module = null;
            if (target.Count == 2)
            {
                for (var s = scope; s is not null && module is null; s = s.Parent)
                {
                    if (s.Uses.TryGetValue(target[0], out var m)) module = m;
                }
            }
            module ??= TryModule(target[..^1], pos, from)
                ?? throw from.Error(pos, $"`{string.Join("::", target[..^1])}` is a script module, not a troy module", $"troy modules hold {kind} definitions: tremor::{kind}s or a NAME.troy file");
            if (table(module.Scope).TryGetValue(name, out var def)) return def;
            throw from.Error(pos, $"module `{module.Name}` has no {kind} definition `{name}`", Query.Hint(name, table(module.Scope).Keys, $"it defines: {string.Join(", ", table(module.Scope).Keys)}"));
        }

        public TroyFlow Deploy(Module root, TroyDeploy deploy)
        {
            var src = root.Source;
            Defined<TroyDefineFlow> flow;
            if (deploy.Target.Count == 1 && root.Flows.TryGetValue(deploy.Target[0], out var local)) flow = local;
            else if (deploy.Target.Count == 1)
            {
                throw src.Error(deploy.TargetPos, $"no flow definition `{deploy.Target[0]}`", Query.Hint(deploy.Target[0], root.Flows.Keys, $"define it first: define flow {deploy.Target[0]} flow ... end;"));
            }
            else
            {
                Module? module = null;
                if (deploy.Target.Count == 2) root.Scope.Uses.TryGetValue(deploy.Target[0], out module);
                module ??= TryModule(deploy.Target[..^1], deploy.TargetPos, src) ?? throw src.Error(deploy.TargetPos, $"`{string.Join("::", deploy.Target[..^1])}` is not a troy module");
                if (!module.Flows.TryGetValue(deploy.Target[^1], out var f))
                    throw src.Error(deploy.TargetPos, $"module `{module.Name}` has no flow `{deploy.Target[^1]}`", Query.Hint(deploy.Target[^1], module.Flows.Keys, "define the flow in that module"));
                flow = f;
            }
            var def = flow.Definition;
            var fsrc = flow.Module.Source;
            var args = Arguments(def.Args, flow.Module, deploy.With, root, default, "flow", def.Name, deploy.Pos);
            var scope = new Scope(flow.Module, flow.Module.Scope);
            foreach (var stmt in def.Body)
            {
                if (stmt is TroyUse u) Use(scope, u);
                else if (stmt is TroyDefineConnector or TroyDefinePipeline) Define(scope, stmt);
            }
            var connectors = new List<TroyConnector>();
            var pipelines = new List<TroyPipeline>();
            var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var stmt in def.Body)
            {
                if (stmt is not TroyCreate c) continue;
                if (aliases.TryGetValue(c.Alias, out var taken))
                {
                    throw fsrc.Error(c.Pos, $"`{c.Alias}` is already created in flow `{def.Name}` (as a {taken})", $"names in a flow are unique across connectors and pipelines: create {c.Kind} {c.Alias}_{c.Kind} from {string.Join("::", c.Target)};");
                }
                aliases[c.Alias] = c.Kind;
                if (c.Kind == "connector")
                {
                    var cd = Find(scope, c.Target, c.TargetPos, fsrc, "connector", s => s.Connectors);
                    connectors.Add(Connector(c, cd, flow.Module, args));
                }
                else
                {
                    var pd = Find(scope, c.Target, c.TargetPos, fsrc, "pipeline", s => s.Pipelines);
                    pipelines.Add(Pipeline(c, pd, flow.Module, args));
                }
            }
            var links = new List<TroyLink>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var stmt in def.Body)
            {
                if (stmt is not TroyConnect k) continue;
                foreach (var end in new[] { k.From, k.To })
                {
                    if (!aliases.TryGetValue(end.Alias, out var kind))
                    {
                        var same = aliases.Where(a => a.Value == end.Kind).Select(a => a.Key);
                        throw fsrc.Error(end.Pos, $"no {end.Kind} `{end.Alias}` is created in flow `{def.Name}`", Query.Hint(end.Alias, same, $"create it first: create {end.Kind} {end.Alias};"));
                    }
                    if (kind != end.Kind) throw fsrc.Error(end.Pos, $"`{end.Alias}` is a {kind}, not a {end.Kind}", $"write /{kind}/{end.Alias}");
                }
                if (k.From.Kind == "connector" && k.To.Kind == "connector")
                {
                    throw fsrc.Error(k.Pos, "a connector cannot be connected to a connector", "put a pipeline in between: connect /connector/a to /pipeline/p; connect /pipeline/p to /connector/b;");
                }
                var link = new TroyLink(k.From.Kind, k.From.Alias, k.From.Port, k.To.Kind, k.To.Alias, k.To.Port, Locate(fsrc, k.Pos), Locate(fsrc, k.From.PortPos), Locate(fsrc, k.To.PortPos));
                if (!seen.Add($"{link.From}/{link.FromPort}->{link.To}/{link.ToPort}"))
                {
                    throw fsrc.Error(k.Pos, $"/{k.From.Kind}/{k.From.Alias}/{k.From.Port} is connected to /{k.To.Kind}/{k.To.Alias}/{k.To.Port} twice", "remove one: every event would be delivered twice");
                }
                links.Add(link);
            }
            if (connectors.Count == 0) throw fsrc.Error(def.Pos, $"flow `{def.Name}` creates no connector", "create connector NAME from DEFINITION;");
            if (links.Count == 0) throw fsrc.Error(def.Pos, $"flow `{def.Name}` connects nothing", "connect /connector/in to /pipeline/main; connect /pipeline/main to /connector/out;");
            return new TroyFlow(deploy.Name, Locate(src, deploy.Pos), connectors, pipelines, links);
        }

        private TroyConnector Connector(TroyCreate create, Defined<TroyDefineConnector> defined, Module caller, Value callerArgs)
        {
            var def = defined.Definition;
            var dsrc = defined.Module.Source;
            var args = Arguments(def.Args, defined.Module, create.With, caller, callerArgs, "connector", def.Name, create.Pos);
            var settings = new List<TroySetting>();
            foreach (var p in def.With)
            {
                if (!ConnectorParameters.Contains(p.Name))
                {
                    throw dsrc.Error(p.Pos, $"connector definition `{def.Name}` has no parameter `{p.Name}`", Query.Hint(p.Name, ConnectorParameters, $"its parameters: {string.Join(", ", ConnectorParameters)}"));
                }
                var fields = new Dictionary<string, TroyLocation>(StringComparer.Ordinal);
                if (p.Value is RecordExpr r)
                {
                    foreach (var (k, _) in r.Fields)
                    {
                        if (k is LiteralExpr { } l && l.Value.AsString() is { } key) fields[key] = Locate(dsrc, k.Pos);
                    }
                }
                settings.Add(new TroySetting(p.Name, Evaluate(dsrc, p.Value, args, defined.Module.Definitions), Locate(dsrc, p.Pos), fields));
            }
            return new TroyConnector(create.Alias, def.Kind, settings, Locate(caller.Source, create.Pos), Locate(dsrc, def.KindPos));
        }

        private TroyPipeline Pipeline(TroyCreate create, Defined<TroyDefinePipeline> defined, Module caller, Value callerArgs)
        {
            var def = defined.Definition;
            var dsrc = defined.Module.Source;
            var args = Arguments(def.Args, defined.Module, create.With, caller, callerArgs, "pipeline", def.Name, create.Pos);
            // The query is compiled here against the troy text with everything around it blanked out, so an error
            // in it points at its line and column in the troy file.
            var masked = string.Create(dsrc.Text.Length, (dsrc.Text, def.BodyStart, def.BodyEnd), static (span, s) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = (i >= s.BodyStart && i < s.BodyEnd) || s.Text[i] == '\n' ? s.Text[i] : ' ';
                }
            });
            Query.Compile(masked, dsrc.Origin, defined.Module.Directory, args);
            var body = dsrc.Text[def.BodyStart..def.BodyEnd];
            return new TroyPipeline(create.Alias, Dedent(body), args, Locate(caller.Source, create.Pos));
        }

        /// <summary>A definition's args: its defaults overridden by what the create (or deploy) gives; a required one left out is an error.</summary>
        private static Value Arguments(List<ArgParam> declared, Module definedIn, List<WithParam> given, Module caller, Value callerArgs, string kind, string name, int createPos)
        {
            var result = new ValueRecord();
            var names = declared.Select(a => a.Name).ToList();
            foreach (var g in given)
            {
                if (!names.Contains(g.Name))
                {
                    var hint = Query.Hint(g.Name, names, names.Count == 0
                        ? $"{kind} `{name}` declares no args; declare it: define {kind} {name} args {g.Name} = ... "
                        : $"its args: {string.Join(", ", names)}");
                    throw caller.Source.Error(g.Pos, $"{kind} `{name}` has no argument `{g.Name}`", hint);
                }
                result.Set(g.Name, Evaluate(caller.Source, g.Value, callerArgs, caller.Definitions));
            }
            foreach (var a in declared)
            {
                if (result.TryGetValue(a.Name, out _)) continue;
                if (a.Default is null)
                {
                    throw caller.Source.Error(createPos, $"{kind} `{name}` needs the argument `{a.Name}`", $"give it: ... with {a.Name} = VALUE end;");
                }
                result.Set(a.Name, Evaluate(definedIn.Source, a.Default, Value.From(new ValueRecord()), definedIn.Definitions));
            }
            return Value.From(result);
        }

        private static Value Evaluate(Source source, Expr e, Value args, Definitions definitions)
        {
            var scope = new Compilation.Scope(ScopeKind.Constant);
            var eval = new Compiler(source, scope, definitions).Compile(e);
            var c = new Context(scope.LocalCount, scope.ScratchCount) { Args = args.IsNull ? Value.From(new ValueRecord()) : args };
            try
            {
                return eval(c);
            }
            catch (RuntimeError err)
            {
                throw source.Error(err.Pos, err.Message);
            }
        }
    }

    private static TroyLocation Locate(Source source, int pos)
    {
        var (line, column) = source.Locate(Math.Min(pos, source.Text.Length));
        return new TroyLocation(source.Origin, line, column, source.LineText(line));
    }

    /// <summary>The query text without the indentation its lines share, so it reads well where it is printed.</summary>
    private static string Dedent(string body)
    {
        var lines = body.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ', '\t').Length).DefaultIfEmpty(0).Min();
        var trimmed = lines.Select(l => l.Trim().Length == 0 ? "" : l[indent..].TrimEnd());
        return string.Join("\n", trimmed).Trim('\n') + "\n";
    }
}
