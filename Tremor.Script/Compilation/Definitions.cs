using Tremor.Pdk;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>
/// A user function: compiled once, on first need, in its own scope. Call sites hold this object, so a function
/// may call itself (or a later one) before its body is compiled.
/// </summary>
internal sealed class UserFunction(FnDef def, Source source, string modulePrefix, Definitions definitions)
{
    public FnDef Def { get; } = def;

    public Source Source { get; } = source;

    public string QualifiedName { get; } = modulePrefix + def.Name;

    public Eval? Body { get; private set; }

    public int Locals { get; private set; }

    public int Scratch { get; private set; }

    /// <summary>The slot of <c>args</c> (the extra arguments) of an open function <c>fn f(a, ...)</c>.</summary>
    public int VarArgsSlot { get; private set; } = -1;

    private bool _compiling;

    public void EnsureCompiled()
    {
        if (Body is not null || _compiling || Def.Intrinsic is not null) return;
        _compiling = true;
        var scope = new Scope(ScopeKind.Function) { Function = this };
        foreach (var p in Def.Params)
        {
            if (scope.Lookup(p) is not null) throw Source.Error(Def.Pos, $"argument `{p}` of `{Def.Name}` is given twice");
            scope.Declare(p);
        }
        if (Def.Open) VarArgsSlot = scope.Declare("\0args");
        var compiler = new Compiler(Source, scope, definitions, modulePrefix);
        var body = compiler.Block(Def.Body, yieldsEventAfterLet: false, tail: true);
        Locals = Math.Max(scope.LocalCount, 1);
        Scratch = Math.Max(scope.ScratchCount, 1);
        Body = body;
    }
}

/// <summary>
/// What a query (or a script inside it) has defined: functions and constants by module-qualified name
/// (<c>f</c>, <c>m::f</c>), and the module files it used. A script's own definitions live in a child, so
/// they do not leak into other scripts.
/// </summary>
internal sealed class Definitions(Definitions? parent, string? moduleDirectory)
{
    // The standard modules are always in scope; `use std::string;` and `use string;` change nothing.
    private static readonly HashSet<string> StandardModules = new(StringComparer.Ordinal)
    {
        "std", "string", "math", "array", "record", "type", "json", "re", "integer", "float", "nanos", "system", "aggr",
        "base64", "url", "range", "path", "win", "time", "datetime", "binary", "random", "tremor", "test",
    };

    private readonly Dictionary<string, UserFunction> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Value> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UserAggregate> _aggregates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _modules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _loading = parent?._loading ?? new(StringComparer.Ordinal);
    private readonly Definitions? _parent = parent;

    public string? ModuleDirectory { get; } = moduleDirectory ?? parent?.ModuleDirectory;


    /// <summary>The <c>args</c> of the pipeline being compiled (a created sub-pipeline's <c>with</c> values), else null.</summary>
    public Value Args { get; init; }

    /// <summary>The module (<c>alias::</c>) whose definitions are compiled: its names resolve there first.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>
    /// The query definitions (define window, script, operator, pipeline) of the module files used, in order, with the
    /// file they come from and the prefix they are known by (<c>alias::</c>): the query creates them by that name.
    /// </summary>
    public List<(Source Source, string Prefix, Stmt Definition)> QueryDefinitions { get; } = [];

    public Definitions Child() => new(this, null) { Prefix = Prefix };

    public UserFunction? FindFunction(string name, string prefix) => Resolve(name, prefix, d => d._functions);

    public UserAggregate? FindAggregate(string name, string prefix) => Resolve(name, prefix, d => d._aggregates);

    public (bool Found, Value Value) FindConstant(string name, string prefix)
    {
        foreach (var candidate in Candidates(name, prefix))
        {
            for (var d = this; d is not null; d = d._parent)
            {
                if (d._constants.TryGetValue(candidate, out var v)) return (true, v);
            }
        }
        return (false, default);
    }

    public IEnumerable<string> FunctionNames
    {
        get
        {
            for (var d = this; d is not null; d = d._parent)
            {
                foreach (var n in d._functions.Keys) yield return n;
            }
        }
    }

    private T? Resolve<T>(string name, string prefix, Func<Definitions, Dictionary<string, T>> table)
        where T : class
    {
        foreach (var candidate in Candidates(name, prefix))
        {
            for (var d = this; d is not null; d = d._parent)
            {
                if (table(d).TryGetValue(candidate, out var v)) return v;
            }
        }
        return null;
    }

    // Inside module `a::b::`, `f` may mean `a::b::f`, `a::f` or `f`: the innermost wins.
    private static IEnumerable<string> Candidates(string name, string prefix)
    {
        while (prefix.Length > 0)
        {
            yield return prefix + name;
            var cut = prefix.LastIndexOf("::", prefix.Length - 3, StringComparison.Ordinal);
            prefix = cut < 0 ? "" : prefix[..(cut + 2)];
        }
        yield return name;
    }

    /// <summary>Registers definitions in order (a constant sees the ones before it), then compiles the functions.</summary>
    public void Register(Source source, IEnumerable<Stmt> stmts, string prefix)
    {
        var added = new List<UserFunction>();
        RegisterAll(source, stmts, prefix, added);
        foreach (var f in added) f.EnsureCompiled();
    }

    private void RegisterAll(Source source, IEnumerable<Stmt> stmts, string prefix, List<UserFunction> added)
    {
        foreach (var stmt in stmts)
        {
            switch (stmt)
            {
                case FnStmt f:
                    {
                        var fn = new UserFunction(f.Fn, source, prefix, this);
                        if (!_functions.TryAdd(fn.QualifiedName, fn)) throw source.Error(f.Pos, $"function `{fn.QualifiedName}` is already defined");
                        added.Add(fn);
                        break;
                    }
                case AggregateStmt a:
                    {
                        UserFunction Part(FnDef f)
                        {
                            var fn = new UserFunction(f, source, prefix, this);
                            added.Add(fn);
                            return fn;
                        }
                        var aggregate = new UserAggregate(prefix + a.Name, Part(a.Init), Part(a.Aggregate), Part(a.MergeIn), Part(a.Emit));
                        if (!_aggregates.TryAdd(aggregate.QualifiedName, aggregate)) throw source.Error(a.Pos, $"aggregate `{aggregate.QualifiedName}` is already defined");
                        break;
                    }
                case ConstStmt c:
                    {
                        var name = prefix + c.Name;
                        if (_constants.ContainsKey(name)) throw source.Error(c.Pos, $"constant `{name}` is already defined");
                        _constants[name] = Compiler.EvaluateConstant(source, c.Value, this, prefix);
                        break;
                    }
                case ModStmt m:
                    _modules.Add(prefix + m.Name);
                    RegisterAll(source, m.Body, prefix + m.Name + "::", added);
                    break;
                case UseStmt u:
                    Use(source, u, prefix, added);
                    break;
            }
        }
    }

    private bool KnowsModule(string name)
    {
        for (var d = this; d is not null; d = d._parent)
        {
            if (d._modules.Contains(name)) return true;
        }
        return false;
    }

    private void Use(Source source, UseStmt u, string prefix, List<UserFunction> added)
    {
        var dotted = string.Join("::", u.Path);
        if (StandardModules.Contains(u.Path[0]) && !ModuleFileExists(u.Path)) return;
        if (KnowsModule(prefix + dotted) || KnowsModule(dotted)) return;
        if (ModuleDirectory is null)
            throw source.Error(u.Pos, $"module `{dotted}` not found: this query has no directory to load module files from",
                "give the query as a file (query-file) with the module beside it, or define it inline: mod NAME with ... end;");
        var file = ModuleFile(u.Path);
        if (file is null)
            throw source.Error(u.Pos, $"module `{dotted}` not found: no file {Path.Combine([ModuleDirectory, .. u.Path])}.tremor (or .trickle)",
                $"create {string.Join('/', u.Path)}.tremor next to the query file, or define it inline: mod {u.Path[^1]} with ... end;");
        var full = Path.GetFullPath(file);
        if (!_loading.Add(full)) throw source.Error(u.Pos, $"module `{dotted}` uses itself (a cycle through {full})");
        try
        {
            var moduleSource = new Source(File.ReadAllText(full), full);
            var stmts = Parser.ParseModule(moduleSource);
            var alias = prefix + u.Alias;
            _modules.Add(alias);
            RegisterAll(moduleSource, stmts, alias + "::", added);
            foreach (var d in stmts.Where(s => s is DefineWindowStmt or DefineScriptStmt or DefineOperatorStmt or DefinePipelineStmt))
                QueryDefinitions.Add((moduleSource, alias + "::", d));
        }
        finally
        {
            _loading.Remove(full);
        }
    }

    private bool ModuleFileExists(List<string> path) => ModuleFile(path) is not null;

    // Tremor's module files are `.tremor`; its older query modules, `.trickle`.
    private string? ModuleFile(List<string> path)
    {
        if (ModuleDirectory is null) return null;
        var stem = Path.Combine([ModuleDirectory, .. path]);
        return new[] { stem + ".tremor", stem + ".trickle" }.FirstOrDefault(File.Exists);
    }
}
