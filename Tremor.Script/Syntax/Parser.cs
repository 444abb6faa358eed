using Tremor.Pdk;

namespace Tremor.Script.Syntax;

/// <summary>Recursive-descent parser for trickle queries and the script language inside them.</summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "event", "state", "group", "window", "args", "match", "of", "case", "when", "end", "default", "let", "patch",
        "merge", "for", "emit", "drop", "present", "absent", "true", "false", "null", "not", "and", "or", "xor",
        "select", "from", "where", "into", "having", "define", "create", "with", "script", "operator", "stream",
        "fn", "const", "mod", "use", "intrinsic", "recur",
    };

    private static readonly HashSet<string> FoldOperators = new(StringComparer.Ordinal) { "+", "-", "*", "/", "%", "and", "or", "xor", "&", "|", "^" };

    private readonly Source _source;
    private readonly List<Token> _tokens;
    private int _i;

    private Parser(Source source, int start, int end)
    {
        _source = source;
        _tokens = new Lexer(source, start, end).Tokenize();
    }

    public static List<Stmt> ParseQuery(Source source)
    {
        var p = new Parser(source, 0, source.Text.Length);
        var stmts = new List<Stmt>();
        while (p.Peek.Kind != TokenKind.End) stmts.Add(p.Statement());
        return stmts;
    }

    /// <summary>A standalone expression (tests, and <c>#{...}</c> interpolations).</summary>
    public static Expr ParseExpression(Source source, int start, int end)
    {
        var p = new Parser(source, start, end);
        var e = p.Expression();
        if (p.Peek.Kind != TokenKind.End) throw p.Unexpected("the end of the expression");
        return e;
    }

    private Token Peek => _tokens[_i];

    private Token PeekAt(int n) => _tokens[Math.Min(_i + n, _tokens.Count - 1)];

    private Token Advance() => _tokens[_i++ < _tokens.Count - 1 ? _i - 1 : _tokens.Count - 1];

    private bool Accept(string s)
    {
        if (!Peek.Is(s)) return false;
        _i++;
        return true;
    }

    private Token Expect(string s, string? hint = null)
    {
        if (Peek.Is(s)) return Advance();
        // Tremor reports the token it found, where it found it.
        if (s == ";") throw _source.Error(Peek.Start, $"expected `;` after the statement, found {Peek.Describe()}", hint ?? "end every statement with `;`");
        throw _source.Error(Peek.Start, $"expected `{s}`, found {Peek.Describe()}", hint);
    }

    private ScriptException Unexpected(string expected, string? hint = null) =>
        _source.Error(Peek.Start, $"expected {expected}, found {Peek.Describe()}", hint);

    private string Ident(string what)
    {
        if (Peek.Kind != TokenKind.Ident) throw Unexpected(what);
        return Advance().Text;
    }

    /// <summary>A name, possibly in a module: <c>name</c>, <c>module::name</c> (a definition a <c>use</c>d file holds).</summary>
    private string QualifiedIdent(string what)
    {
        var name = Ident(what);
        while (Accept("::")) name += "::" + Ident($"a name after `{name}::`");
        return name;
    }

    // ---- query statements ----

    private Stmt Statement()
    {
        var t = Peek;
        if (Accept("select")) return Select(t.Start);
        if (Accept("define")) return Define(t.Start);
        if (Accept("create")) return Create(t.Start);
        if (IsDefinitionStart)
        {
            var d = Definition();
            Accept(";");
            return d;
        }
        throw Unexpected("`select`, `define`, `create`, `use`, `fn`, `const` or `mod`");
    }

    /// <summary>A script file (<c>.tremor</c>): a script body, statements and definitions separated by `;`.</summary>
    public static List<Expr> ParseScript(Source source)
    {
        var p = new Parser(source, 0, source.Text.Length);
        var body = p.Block();
        if (p.Peek.Kind != TokenKind.End) throw p.Unexpected("`;` or the end of the script");
        return body;
    }

    /// <summary>
    /// A module file: definitions (use, const, fn, intrinsic, mod) and, as in Tremor, query definitions (define window,
    /// script, operator, pipeline) that a query using the module creates by their qualified name; separated by `;`.
    /// </summary>
    public static List<Stmt> ParseModule(Source source)
    {
        var p = new Parser(source, 0, source.Text.Length);
        var stmts = new List<Stmt>();
        while (p.Peek.Kind != TokenKind.End)
        {
            if (p.Peek.Is("define"))
            {
                stmts.Add(p.Statement());
                continue;
            }
            if (!p.IsDefinitionStart) throw p.Unexpected("`use`, `const`, `fn`, `intrinsic`, `mod` or `define` in a module file");
            stmts.Add(p.Definition());
            p.Accept(";");
        }
        return stmts;
    }

    private bool IsDefinitionStart => Peek.Kind == TokenKind.Ident && (Peek.Text is "fn" or "intrinsic" or "const" or "mod" or "use"
        || (Peek.Text == "aggregate" && PeekAt(1).Kind == TokenKind.Ident && PeekAt(2).Is("of")));

    private Stmt Definition()
    {
        var t = Advance();
        switch (t.Text)
        {
            case "use":
                {
                    var path = new List<string> { Ident("a module name") };
                    while (Accept("::")) path.Add(Ident("a module name after `::`"));
                    var alias = Accept("as") ? Ident("a name after `as`") : path[^1];
                    return new UseStmt(t.Start, path, alias);
                }
            case "aggregate":
                {
                    var np = Peek.Start;
                    var name = Ident("an aggregate name");
                    Expect("of", "aggregate NAME of init() => ... aggregate(st, x) => ... mergein(st, other) => ... emit(st) => ... end;");
                    var parts = new Dictionary<string, FnDef>(StringComparer.Ordinal);
                    while (!Accept("end"))
                    {
                        var pp = Peek.Start;
                        var part = Ident("`init`, `aggregate`, `mergein` or `emit`");
                        if (part is not ("init" or "aggregate" or "mergein" or "emit"))
                            throw _source.Error(pp, $"an aggregate has `init`, `aggregate`, `mergein` and `emit`, not `{part}`");
                        Expect("(");
                        var ps = List(")", () => Ident("a parameter name"));
                        Expect("=>");
                        if (!parts.TryAdd(part, new FnDef(pp, $"{name}::{part}", ps, false, [Expression()], null)))
                            throw _source.Error(pp, $"`{part}` is given twice in aggregate `{name}`");
                    }
                    foreach (var (part, arity) in new[] { ("init", 0), ("aggregate", -1), ("mergein", 2), ("emit", 1) })
                    {
                        if (!parts.TryGetValue(part, out var f)) throw _source.Error(np, $"aggregate `{name}` has no `{part}`", "aggregate NAME of init() => ... aggregate(st, x) => ... mergein(st, other) => ... emit(st) => ... end;");
                        if (arity >= 0 && f.Params.Count != arity) throw _source.Error(f.Pos, $"`{part}` of an aggregate takes {arity} parameter{(arity == 1 ? "" : "s")}, got {f.Params.Count}");
                        if (arity < 0 && f.Params.Count < 1) throw _source.Error(f.Pos, "`aggregate` takes the state and the call's arguments: aggregate(st, x)");
                    }
                    return new AggregateStmt(t.Start, name, parts["init"], parts["aggregate"], parts["mergein"], parts["emit"]);
                }
            case "const":
                {
                    var name = Ident("a constant name");
                    Expect("=", "const NAME = value;");
                    // Tremor places a constant, and a second definition of it, at the `const` keyword.
                    return new ConstStmt(t.Start, name, Expression());
                }
            case "mod":
                {
                    var np = Peek.Start;
                    var name = Ident("a module name");
                    Expect("with", "mod NAME with fn f(x) with x end; end;");
                    var body = new List<Stmt>();
                    while (!Accept("end"))
                    {
                        if (!IsDefinitionStart) throw Unexpected("`use`, `const`, `fn`, `intrinsic`, `mod` or `end` in a module");
                        body.Add(Definition());
                        Accept(";");
                    }
                    return new ModStmt(np, name, body);
                }
            case "intrinsic":
                {
                    Expect("fn");
                    var np = Peek.Start;
                    var name = Ident("a function name");
                    var (ps, open) = FnParams();
                    Expect("as", "intrinsic fn len(s) as string::len;");
                    var target = QualifiedName();
                    return new FnStmt(np, new FnDef(np, name, ps, open, [], target));
                }
            default:
                {
                    var np = Peek.Start;
                    var name = Ident("a function name");
                    var (ps, open) = FnParams();
                    if (Accept("with"))
                    {
                        var body = Block("end");
                        if (body.Count == 0) throw Unexpected("a function body");
                        Expect("end");
                        return new FnStmt(np, new FnDef(np, name, ps, open, body, null));
                    }
                    var op = Peek.Start;
                    Expect("of", "fn f(x) with x + 1 end; or fn f(x) of case (0) => 1 default => x end;");
                    // `of` cases match the arguments as a tuple.
                    var subject = new ArrayExpr(op, ps.Select(n => (Expr)new PathExpr(op, PathRoot.Local, n, null, [])).ToList());
                    var cases = new List<MatchCase>();
                    while (!Accept("end"))
                    {
                        var cp = Peek.Start;
                        // Tremor's grammar: the cases of a `fn ... of` end with exactly one `default`.
                        if (cases.Count > 0 && cases[^1].Pattern is AnyPattern)
                            throw _source.Error(cp, $"expected `end` after the `default` case of `{name}`, found {Peek.Describe()}", "`default` is the last case of a fn ... of");
                        Pattern pattern;
                        if (Accept("default")) pattern = new AnyPattern(cp);
                        // `case _` takes whatever is left, as `default` does (Tremor accepts both).
                        else if (Peek.Is("case") && PeekAt(1).Is("_") && !PeekAt(2).Is("when"))
                        {
                            Advance();
                            Advance();
                            pattern = new AnyPattern(cp);
                        }
                        else
                        {
                            if (!Accept("case")) throw Unexpected("`case`, `default` or `end`", "fn f(x) of case (0) => \"zero\" default => \"other\" end;");
                            var pp = Peek.Start;
                            Expect("(", "a function case matches its arguments: case (a, b) => ...");
                            pattern = new TuplePattern(pp, List(")", Pattern));
                        }
                        Expr? guard = Accept("when") ? Expression() : null;
                        Expect("=>");
                        var block = Block("case", "default", "end");
                        if (block.Count == 0) throw Unexpected("an expression after `=>`");
                        cases.Add(new MatchCase(cp, pattern, guard, block));
                    }
                    if (cases.Count == 0 || cases[^1].Pattern is not AnyPattern)
                        throw _source.Error(_tokens[_i - 1].Start, $"`fn {name}(...) of` needs a `default` case before its `end`", "fn f(x) of case (0) => \"zero\" default => \"other\" end;");
                    return new FnStmt(np, new FnDef(np, name, ps, open, [new MatchExpr(op, subject, cases)], null));
                }
        }
    }

    private (List<string> Params, bool Open) FnParams()
    {
        Expect("(");
        var ps = new List<string>();
        var open = false;
        while (!Accept(")"))
        {
            if (Accept("."))
            {
                Expect(".");
                Expect(".");
                open = true;
                Expect(")", "`...` ends the argument list: fn f(a, ...)");
                break;
            }
            ps.Add(Ident("an argument name"));
            if (!Accept(",") && !Peek.Is(")")) throw Unexpected("`,` or `)`");
        }
        return (ps, open);
    }

    private SelectStmt Select(int pos)
    {
        var target = Expression();
        Expect("from", "a select reads `from` a stream: select event from in into out;");
        var from = StreamReference();
        var windows = new List<WindowRef>();
        if (Accept("["))
        {
            do
            {
                var wp = Peek.Start;
                windows.Add(new WindowRef(wp, QualifiedIdent("a window name")));
            }
            while (Accept(","));
            Expect("]");
        }
        Expr? where = null;
        GroupBy? group = null;
        Expr? having = null;
        if (Accept("where")) where = Expression();
        if (Peek.Is("group"))
        {
            var gp = Advance().Start;
            Expect("by");
            group = GroupByClause(gp);
        }
        Expect("into", "a select ends with `into` a stream: ... into out;");
        var into = StreamReference();
        if (Accept("having")) having = Expression();
        Expect(";");
        return new SelectStmt(pos, target, from, windows, where, group, into, having);
    }

    private GroupBy GroupByClause(int pos)
    {
        if ((Peek.Is("set") || Peek.Is("each")) && PeekAt(1).Is("("))
        {
            var kind = Advance().Text;
            Expect("(");
            var exprs = new List<Expr>();
            if (!Peek.Is(")"))
            {
                do exprs.Add(Expression());
                while (Accept(","));
            }
            Expect(")");
            return new GroupBy(pos, kind, exprs);
        }
        return new GroupBy(pos, "expr", [Expression()]);
    }

    private StreamRef StreamReference()
    {
        var pos = Peek.Start;
        var name = Ident("a stream name (in, out, err or a created node)");
        string? port = null;
        if (Accept("/")) port = Ident("a port name");
        return new StreamRef(pos, name, port);
    }

    private Stmt Define(int pos)
    {
        if (Accept("window"))
        {
            var np = Peek.Start;
            var name = Ident("a window name");
            Expect("from");
            var kind = Ident("a window kind (tumbling)");
            var ps = WithParams();
            var script = WindowScript();
            Expect("end");
            Expect(";");
            return new DefineWindowStmt(np, name, kind, ps) { Script = script.Script, State = script.State, Tick = script.Tick };
        }
        if (Accept("script"))
        {
            var np = Peek.Start;
            var name = Ident("a script name");
            var args = Args();
            var ps = Peek.Is("with") ? WithParams() : [];
            Expr? state = Accept("state") ? Expression() : null;
            // `script from PORT` blocks run for events arriving on PORT; the plain `script` block for `in`.
            List<Expr>? body = null;
            var ports = new List<ScriptPortBody>();
            var sp = Peek.Start;
            Expect("script", $"define script {name} script ... end;");
            do
            {
                if (Accept("from"))
                {
                    var pp = Peek.Start;
                    var port = Ident("a port name after `script from`");
                    if (port == "in") throw _source.Error(pp, "script port `in` is reserved: the plain `script` block handles `in`", $"script from {name}_in ... or put it in the plain `script` block");
                    if (ports.Any(x => x.Port == port)) throw _source.Error(pp, $"script port `{port}` is already defined", "one `script from PORT` block per port");
                    ports.Add(new ScriptPortBody(pp, port, Block("script", "end")));
                }
                else
                {
                    if (body is not null) throw _source.Error(sp, "the plain `script` block is already defined", "one `script` block (for `in`) and one `script from PORT` block per other port");
                    body = Block("script", "end");
                }
                sp = Peek.Start;
            }
            while (Accept("script"));
            Expect("end");
            Expect(";");
            return new DefineScriptStmt(np, name, ps, args, body ?? [], pos) { State = state, PortBodies = ports, HasMain = body is not null };
        }
        if (Accept("pipeline"))
        {
            var np = Peek.Start;
            var name = Ident("a pipeline name");
            var args = Args();
            // Older trickle gave a pipeline's arguments with `with`.
            if (Peek.Is("with")) args.AddRange(WithParams().Select(p => new ArgParam(p.Pos, p.Name, p.Value)));
            var from = Accept("from") ? PortList() : null;
            var into = Accept("into") ? PortList() : null;
            Expect("pipeline", $"define pipeline {name} pipeline select event from in into out; end;");
            var body = new List<Stmt>();
            while (!Peek.Is("end"))
            {
                if (Peek.Kind == TokenKind.End) throw Unexpected("`end` closing the pipeline definition");
                body.Add(Statement());
            }
            Expect("end");
            Expect(";");
            return new DefinePipelineStmt(np, name, args, from, into, body, pos);
        }
        if (Accept("operator"))
        {
            var np = Peek.Start;
            var name = Ident("an operator name");
            Expect("from");
            var kp = Peek.Start;
            var kind = QualifiedName();
            var args = Args();
            var ps = WithParams();
            if (ps.Count > 0 || args.Count > 0 || Peek.Is("end")) Expect("end");
            Expect(";");
            return new DefineOperatorStmt(np, name, kind, kp, ps) { Args = args };
        }
        // Older trickle: `define tumbling window w with ... end;`, `define grouper::bucket operator b;`
        var kindPos = Peek.Start;
        var qualified = QualifiedName();
        if (Accept("window"))
        {
            var np = Peek.Start;
            var name = Ident("a window name");
            var ps = WithParams();
            var script = WindowScript();
            Expect("end");
            Expect(";");
            return new DefineWindowStmt(np, name, qualified, ps) { Script = script.Script, State = script.State, Tick = script.Tick };
        }
        if (Accept("operator"))
        {
            var np = Peek.Start;
            var name = Ident("an operator name");
            var args = Args();
            var ps = WithParams();
            if (ps.Count > 0 || args.Count > 0) Expect("end");
            else Accept("end");
            Expect(";");
            return new DefineOperatorStmt(np, name, qualified, kindPos, ps) { Args = args };
        }
        throw _source.Error(kindPos, $"expected `window`, `script`, `operator` or `pipeline` after `define`, found `{qualified}`",
            "define window NAME from tumbling with size = 10 end;");
    }

    /// <summary>
    /// A window's sections before its <c>end</c>: <c>[state EXPR] [script BODY] [script from tick BODY]</c>. The script
    /// gives an event's time or count, or, with <c>state</c>, whether to emit.
    /// </summary>
    private WindowSections WindowScript()
    {
        var sections = new WindowSections();
        if (Accept("state")) sections.State = Expression();
        while (true)
        {
            var sp = Peek.Start;
            if (!Accept("script")) return sections;
            if (Accept("from"))
            {
                var pp = Peek.Start;
                var port = Ident("`tick` after `script from`");
                if (port != "tick") throw _source.Error(pp, $"a window has a `script from tick` section only, not `script from {port}`", "script from tick ... end;");
                if (sections.Tick is not null) throw _source.Error(pp, "`script from tick` is already defined");
                sections.Tick = (sp, Block("script", "end"));
            }
            else
            {
                if (sections.Script is not null) throw _source.Error(sp, "the window's `script` is already defined");
                var body = Block("script", "end");
                if (body.Count == 0) throw Unexpected("the window script's body", "script event.timestamp end;");
                sections.Script = (sp, body);
            }
        }
    }

    /// <summary><c>args a, b = 1</c>: a definition's arguments, required ones without a default.</summary>
    private List<ArgParam> Args()
    {
        var args = new List<ArgParam>();
        if (!Accept("args")) return args;
        do
        {
            if (IsSectionKeyword) break;
            var ap = Peek.Start;
            var an = Ident("an argument name");
            args.Add(new ArgParam(ap, an, Accept("=") ? Expression() : null));
        }
        while (Accept(","));
        return args;
    }

    /// <summary>The ports of <c>define pipeline ... from a, b into c</c>, with their positions.</summary>
    private List<(int Pos, string Name)> PortList()
    {
        var ports = new List<(int, string)>();
        do
        {
            var pp = Peek.Start;
            ports.Add((pp, Ident("a port name")));
        }
        while (Accept(","));
        return ports;
    }

    // The words that open the next section of a definition: a trailing comma before them is allowed.
    private bool IsSectionKeyword => Peek.Kind == TokenKind.Ident && Peek.Text is "script" or "state" or "end" or "pipeline" or "from" or "into" or "with" or "args";

    private string QualifiedName()
    {
        var name = Ident("a name");
        while (Accept("::")) name += "::" + Ident("a name after `::`");
        return name;
    }

    private List<WithParam> WithParams()
    {
        var ps = new List<WithParam>();
        if (!Accept("with")) return ps;
        do
        {
            if (IsSectionKeyword) break;
            var pp = Peek.Start;
            var name = Ident("a parameter name");
            Expect("=");
            ps.Add(new WithParam(pp, name, Expression()));
        }
        while (Accept(","));
        return ps;
    }

    private CreateStmt Create(int pos)
    {
        var what = Ident("`script`, `operator`, `pipeline` or `stream`");
        if (what is not ("script" or "operator" or "stream" or "pipeline"))
            throw _source.Error(_tokens[_i - 1].Start, $"cannot create `{what}`", "create script NAME; create operator NAME; create pipeline NAME; or create stream NAME;");
        var np = Peek.Start;
        var name = Ident($"a {what} name");
        var def = name;
        var dp = np;
        if (what != "stream" && Accept("from"))
        {
            dp = Peek.Start;
            def = QualifiedIdent("a definition name");
        }
        var ps = what != "stream" ? WithParams() : [];
        if (ps.Count > 0) Accept("end");
        Expect(";");
        return new CreateStmt(np, what, name, def, dp, ps) { StatementPos = pos };
    }

    // ---- script statements ----

    private List<Expr> Block(params string[] terminators)
    {
        var body = new List<Expr>();
        while (true)
        {
            if (terminators.Any(Peek.Is) || Peek.Kind == TokenKind.End) return body;
            body.Add(ScriptStatement());
            if (terminators.Any(Peek.Is) || Peek.Kind == TokenKind.End) return body;
            if (!Accept(";") && !Accept(","))
                throw _source.Error(Peek.Start, $"expected `;` between statements, found {Peek.Describe()}", "separate statements with `;`");
        }
    }

    private Expr ScriptStatement()
    {
        if (IsDefinitionStart)
        {
            var pos = Peek.Start;
            return new DefinitionExpr(pos, Definition());
        }
        // `emit` and `drop` end a script: statements, never operands, arguments or guards (Tremor's immutable expressions).
        if (Peek.Is("emit")) return Emit(Advance().Start);
        if (Peek.Is("drop")) return new DropExpr(Advance().Start);
        if (Peek.Is("let"))
        {
            var pos = Advance().Start;
            if (Peek.Kind == TokenKind.Ident && Reserved.Contains(Peek.Text) && Peek.Text is not ("event" or "state" or "args" or "group" or "window"))
                throw _source.Error(Peek.Start, $"`let` needs a path, found keyword `{Peek.Text}`", $"a keyword is a name in backticks: let `{Peek.Text}` = ...");
            var target = Postfix(Primary());
            if (target is not PathExpr path || path.Root is PathRoot.Group or PathRoot.Window or PathRoot.Args or PathRoot.Expr)
                throw _source.Error(target.Pos, "`let` assigns to a local, `event`, `$meta` or `state` path", "let x = ...; let event.a = ...; let $m = ...");
            Expect("=");
            return new LetExpr(pos, path, Expression());
        }
        return Expression();
    }

    // ---- expressions ----

    /// <summary>Nesting beyond this is refused: a recursive-descent parser would otherwise overflow the stack.</summary>
    public const int MaxDepth = 200;

    // Shared by the parsers of nested `#{...}` interpolations, which start parsers of their own.
    [ThreadStatic]
    private static int _depth;

    public Expr Expression()
    {
        Enter();
        try
        {
            return Binary(0);
        }
        finally
        {
            _depth--;
        }
    }

    private void Enter()
    {
        if (++_depth <= MaxDepth && System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack()) return;
        _depth--;
        throw _source.Error(Peek.Start, $"expression nested too deeply (at most {MaxDepth} levels)", "split it with let or fn");
    }

    private static readonly string[][] Levels =
    [
        ["or", "||"], ["xor"], ["and", "&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="], ["<<", ">>>", ">>"], ["+", "-"], ["*", "/", "%"],
    ];

    private Expr Binary(int level)
    {
        if (level == Levels.Length) return Unary();
        // Tremor places a binary expression (and its errors) at the start of its left operand.
        var start = Peek.Start;
        var left = Binary(level + 1);
        while (true)
        {
            var op = Levels[level].FirstOrDefault(Peek.Is);
            if (op is null) return left;
            var t = Advance();
            var right = Binary(level + 1);
            left = new BinaryExpr(start, op switch { "||" => "or", "&&" => "and", _ => op }, left, right);
        }
    }

    private Expr Unary()
    {
        Enter();
        try
        {
            return UnaryInner();
        }
        finally
        {
            _depth--;
        }
    }

    private Expr UnaryInner()
    {
        var t = Peek;
        if (Accept("not")) return new UnaryExpr(t.Start, "not", Unary());
        // Tremor's `!` is a bitwise not: the complement of an integer, the negation of a bool.
        if (Accept("!")) return new UnaryExpr(t.Start, "!", Unary());
        if (Accept("-")) return new UnaryExpr(t.Start, "-", Unary());
        if (Accept("+")) return new UnaryExpr(t.Start, "+", Unary());
        if (Accept("present") || Accept("absent"))
        {
            var target = Postfix(Primary());
            if (target is not PathExpr path) throw _source.Error(target.Pos, $"`{t.Text}` takes a path", $"{t.Text} event.field");
            return new PresentExpr(t.Start, path, t.Text == "absent");
        }
        return Postfix(Primary());
    }

    private Expr Postfix(Expr e)
    {
        while (true)
        {
            if (Peek.Is("."))
            {
                Advance();
                // The segment is the key: errors about it point there, as Tremor's do, not at the `.`.
                var pos = Peek.Start;
                var name = Peek.Kind switch
                {
                    TokenKind.Ident or TokenKind.String => Advance().Text,
                    TokenKind.Int => Advance().Text,
                    _ => throw Unexpected("a field name after `.`"),
                };
                e = AddSegment(e, new FieldSegment(pos, name));
            }
            else if (Peek.Is("["))
            {
                Advance();
                var pos = Peek.Start;
                var index = Expression();
                if (Accept(":"))
                {
                    var to = Expression();
                    Expect("]");
                    e = AddSegment(e, new RangeSegment(pos, index, to));
                }
                else
                {
                    Expect("]");
                    e = AddSegment(e, new IndexSegment(pos, index));
                }
            }
            else return e;
        }
    }

    private static PathExpr AddSegment(Expr e, Segment s)
    {
        if (e is PathExpr p) return p with { Segments = [.. p.Segments, s] };
        return new PathExpr(e.Pos, PathRoot.Expr, null, e, [s]);
    }

    private Expr Primary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Int: Advance(); return new LiteralExpr(t.Start, Value.From(t.IntValue));
            case TokenKind.Float: Advance(); return new LiteralExpr(t.Start, Value.From(t.FloatValue));
            case TokenKind.String: Advance(); return StringExpr(t);
            case TokenKind.End: throw Unexpected("an expression");
        }
        if (Accept("("))
        {
            var inner = Expression();
            Expect(")");
            return inner;
        }
        if (Accept("[")) return new ArrayExpr(t.Start, List("]", Expression));
        if (Accept("<<")) return Bytes(t.Start);
        if (Accept("{"))
        {
            var fields = List("}", () =>
            {
                Expr key = Peek.Kind == TokenKind.String ? StringExpr(Advance()) :
                    Peek.Kind == TokenKind.Ident ? new LiteralExpr(Peek.Start, Value.From(Advance().Text)) : throw Unexpected("a record key");
                Expect(":");
                return (key, Expression());
            });
            return new RecordExpr(t.Start, fields);
        }
        if (Accept("$"))
        {
            string? name = null;
            if (Peek.Kind == TokenKind.Ident && Peek.Start == t.End) name = Advance().Text;
            var segs = new List<Segment>();
            if (name is not null) segs.Add(new FieldSegment(t.Start, name));
            return new PathExpr(t.Start, PathRoot.Meta, null, null, segs);
        }
        if (t.Kind != TokenKind.Ident) throw Unexpected("an expression");
        switch (t.Text)
        {
            case "true": Advance(); return new LiteralExpr(t.Start, Value.True);
            case "false": Advance(); return new LiteralExpr(t.Start, Value.False);
            case "null": Advance(); return new LiteralExpr(t.Start, Value.Null);
            case "event": Advance(); return new PathExpr(t.Start, PathRoot.Event, null, null, []);
            case "state": Advance(); return new PathExpr(t.Start, PathRoot.State, null, null, []);
            case "group": Advance(); return new PathExpr(t.Start, PathRoot.Group, null, null, []);
            case "window": Advance(); return new PathExpr(t.Start, PathRoot.Window, null, null, []);
            case "args": Advance(); return new PathExpr(t.Start, PathRoot.Args, null, null, []);
            case "match": Advance(); return Match(t.Start);
            case "patch": Advance(); return Patch(t.Start);
            case "merge": Advance(); return Merge(t.Start);
            case "for": Advance(); return For(t.Start);
            case "emit" or "drop":
                throw _source.Error(t.Start, $"`{t.Text}` is only allowed in a script, as a statement: not as a value, an operand, an argument or a guard",
                    t.Text == "emit" ? "a select always emits its value into its target; a script emits with `emit VALUE;`" : "filter in a select with `where`; a script drops with `drop;`");
            case "let": throw _source.Error(t.Start, "`let` is a statement, not an expression", "use it in a script body: define script s script let x = 1; x end;");
        }
        if (PeekAt(1).Is("::"))
        {
            Advance();
            var name = t.Text;
            while (Accept("::")) name += "::" + Ident("a name after `::`");
            // Without parentheses a module path names a constant: `m::answer`.
            if (!Accept("(")) return new PathExpr(t.Start, PathRoot.Local, name, null, []);
            return new CallExpr(t.Start, name, List(")", Expression));
        }
        if (t.Text == "recur" && PeekAt(1).Is("("))
        {
            Advance();
            Advance();
            return new RecurExpr(t.Start, List(")", Expression));
        }
        if (Reserved.Contains(t.Text)) throw _source.Error(t.Start, $"expected an expression, found keyword `{t.Text}`");
        Advance();
        if (Accept("(")) return new CallExpr(t.Start, t.Text, List(")", Expression));
        return new PathExpr(t.Start, PathRoot.Local, t.Text, null, []);
    }

    private BytesExpr Bytes(int pos)
    {
        var parts = new List<BytesPart>();
        if (Accept(">>")) return new BytesExpr(pos, parts);
        do
        {
            var pp = Peek.Start;
            // Parts are simple expressions, so `>>` closes the literal rather than shifting.
            var value = Postfix(Primary());
            var (bits, type) = BitsSuffix(pp);
            parts.Add(new BytesPart(pp, value, bits, type));
        }
        while (Accept(","));
        Expect(">>", "close the binary literal with >>");
        return new BytesExpr(pos, parts);
    }

    // `:size` and `/type-words` after a part of a binary literal or bit pattern.
    private (int? Bits, string Type) BitsSuffix(int partPos)
    {
        int? bits = null;
        if (Accept(":"))
        {
            // A size out of range is the part's error, as in Tremor; something else than a number is the token's.
            if (Peek.Kind == TokenKind.Int && Peek.IntValue is < 1 or > 64)
                throw _source.Error(partPos, $"a part of a binary has 1 to 64 bits, not {Peek.IntValue}", "<<1:16>>");
            if (Peek.Kind != TokenKind.Int) throw Unexpected("a size in bits (1 to 64) after `:`", "<<1:16>>");
            bits = (int)Advance().IntValue;
        }
        var type = "";
        if (Accept("/"))
        {
            type = Ident("a type (binary, integer, signed-integer, big, little, ...)");
            while (Accept("-")) type += "-" + Ident("a type word after `-`");
        }
        return (bits, type);
    }

    // `<<a:4, 2:4, _:8, rest/binary>>` in a case: names bind, literals and (expressions) compare, `_` skips.
    private BinaryPattern BinaryPatternItems(int pos)
    {
        var parts = new List<BinaryPatternPart>();
        if (Accept(">>")) return new BinaryPattern(pos, parts);
        do
        {
            var pp = Peek.Start;
            string? bind = null;
            Expr? value = null;
            if (Peek.Is("_")) Advance();
            else if (Peek.Kind == TokenKind.Ident && !Reserved.Contains(Peek.Text) && !PeekAt(1).Is("::") && !PeekAt(1).Is("(")) bind = Advance().Text;
            else value = Postfix(Primary());
            var (bits, type) = BitsSuffix(pp);
            parts.Add(new BinaryPatternPart(pp, bind, value, bits, type));
        }
        while (Accept(","));
        Expect(">>", "close the bit pattern with >>");
        return new BinaryPattern(pos, parts);
    }

    private List<T> List<T>(string close, Func<T> item)
    {
        var items = new List<T>();
        while (!Accept(close))
        {
            items.Add(item());
            if (!Accept(",") && !Peek.Is(close)) throw Unexpected($"`,` or `{close}`");
        }
        return items;
    }

    private Expr StringExpr(Token t)
    {
        var parts = t.Parts!;
        if (parts.Count == 1 && parts[0].Text is { } s) return new LiteralExpr(t.Start, Value.From(s));
        var list = new List<object>();
        foreach (var part in parts)
        {
            if (part.Text is { } text) list.Add(text);
            else list.Add(ParseExpression(_source, part.ExprStart, part.ExprEnd));
        }
        return new InterpolatedExpr(t.Start, list);
    }

    private Expr Match(int pos)
    {
        var subject = Expression();
        Expect("of");
        var cases = new List<MatchCase>();
        while (!Accept("end"))
        {
            var cp = Peek.Start;
            Pattern pattern;
            if (Accept("default")) pattern = new AnyPattern(cp);
            else
            {
                if (!Accept("case")) throw Unexpected("`case`, `default` or `end`", "match x of case 1 => \"one\" case _ => \"other\" end");
                pattern = Pattern();
            }
            Expr? guard = Accept("when") ? Expression() : null;
            Expect("=>");
            var body = Block("case", "default", "end");
            if (body.Count == 0) throw Unexpected("an expression after `=>`");
            cases.Add(new MatchCase(cp, pattern, guard, body));
        }
        return new MatchExpr(pos, subject, cases);
    }

    private Pattern Pattern()
    {
        Enter();
        try
        {
            return PatternInner();
        }
        finally
        {
            _depth--;
        }
    }

    private Pattern PatternInner()
    {
        var t = Peek;
        if (t.Is("_"))
        {
            Advance();
            return new AnyPattern(t.Start);
        }
        if (t.Kind == TokenKind.Ident && PeekAt(1).Is("=") && !Reserved.Contains(t.Text))
        {
            Advance();
            Advance();
            return new BindPattern(t.Start, t.Text, Pattern());
        }
        if (Accept("%{"))
        {
            var items = List("}", () =>
            {
                var ip = Peek.Start;
                if (Accept("present")) return new RecordPatternItem(ip, PatternKey(), "present", null, null);
                if (Accept("absent")) return new RecordPatternItem(ip, PatternKey(), "absent", null, null);
                string? assign = null;
                if (Peek.Kind == TokenKind.Ident && PeekAt(1).Is("=") && PeekAt(2).Kind == TokenKind.Ident && PeekAt(3).Is("~="))
                {
                    assign = Advance().Text;
                    Advance();
                }
                var key = PatternKey();
                if (Accept("~=")) return new RecordPatternItem(ip, key, "nested", null, Peek.Kind == TokenKind.Extractor ? Extract() : Pattern()) { Assign = assign };
                if (assign is not null) throw Unexpected("`~=` after the key of `name = key ~= extractor|...|`");
                foreach (var op in (string[])["==", "!=", "<=", ">=", "<", ">"])
                {
                    if (Accept(op)) return new RecordPatternItem(ip, key, op, Binary(8), null);
                }
                return new RecordPatternItem(ip, key, "present", null, null);
            });
            return new RecordPattern(t.Start, items);
        }
        if (Accept("~")) return Extract();
        if (Accept("<<")) return BinaryPatternItems(t.Start);
        if (Accept("%[")) return new ArrayPattern(t.Start, List("]", Pattern));
        if (Accept("%(")) return TupleItems(t.Start);
        return new ValuePattern(t.Start, Expression());
    }

    // `%(p, q)` or `%(p, q, ...)`: `...` last makes the tuple open.
    private TuplePattern TupleItems(int pos)
    {
        var items = new List<Pattern>();
        var open = false;
        while (!Accept(")"))
        {
            if (Peek.Is(".") && PeekAt(1).Is(".") && PeekAt(2).Is("."))
            {
                _i += 3;
                open = true;
                Expect(")", "`...` ends a tuple pattern: %(1, ...)");
                break;
            }
            items.Add(Pattern());
            if (!Accept(",") && !Peek.Is(")")) throw Unexpected("`,` or `)`");
        }
        return new TuplePattern(pos, items) { Open = open };
    }

    private ExtractPattern Extract()
    {
        if (Peek.Kind != TokenKind.Extractor)
            throw Unexpected("an extractor (glob, re, rerg, base64, kv, json, dissect, grok, cidr, influx, datetime)", "~ re|^a.*b$| or ~ dissect|%{a} %{b}|");
        var t = Advance();
        return new ExtractPattern(t.Start, t.Text, t.Rule!, t.Start + t.Text.Length + 1);
    }

    private string PatternKey() => Peek.Kind switch
    {
        TokenKind.Ident => Advance().Text,
        TokenKind.String when Peek.Parts is [{ Text: not null }] => Advance().Text,
        _ => throw Unexpected("a field name in the record pattern"),
    };

    // A patch names its keys with strings (interpolation allowed), as Tremor's grammar does.
    private Expr PatchKey() =>
        Peek.Kind == TokenKind.String ? StringExpr(Advance()) : throw Unexpected("a string key", "insert \"key\" => value; a computed key: insert \"#{k}\" => value");

    private Expr Patch(int pos)
    {
        var target = Expression();
        Expect("of");
        var ops = new List<PatchOp>();
        while (!Accept("end"))
        {
            var op = Peek;
            var kind = op.Kind == TokenKind.Ident ? op.Text : "";
            Advance();
            switch (kind)
            {
                case "insert" or "upsert" or "update":
                    {
                        var key = PatchKey();
                        Expect("=>");
                        ops.Add(new PatchOp(op.Start, kind, key, Expression()));
                        break;
                    }
                case "erase":
                    ops.Add(new PatchOp(op.Start, kind, PatchKey(), null));
                    break;
                case "copy" or "move":
                    {
                        var from = PatchKey();
                        Expect("=>", $"{kind} \"from\" => \"to\"");
                        ops.Add(new PatchOp(op.Start, kind, from, PatchKey()));
                        break;
                    }
                case "merge" or "default":
                    {
                        Expr? key = null;
                        if (!Peek.Is("=>")) key = PatchKey();
                        Expect("=>");
                        ops.Add(new PatchOp(op.Start, kind, key, Expression()));
                        break;
                    }
                default:
                    throw _source.Error(op.Start, $"unknown patch operation {op.Describe()}", "use insert, upsert, update, erase, copy, move, merge or default");
            }
            if (!Accept(";")) Accept(",");
        }
        return new PatchExpr(pos, target, ops);
    }

    private Expr Merge(int pos)
    {
        var target = Expression();
        Expect("of");
        var with = Expression();
        Expect("end");
        return new MergeExpr(pos, target, with);
    }

    private Expr For(int pos)
    {
        var source = Expression();
        Expect("of");
        var cases = new List<ForCase>();
        Expr? initial = null;
        string? fold = null;
        var foldPos = pos;
        while (!Accept("end"))
        {
            if (cases.Count > 0 && Accept("into"))
            {
                initial = Expression();
                if (Accept("use"))
                {
                    foldPos = Peek.Start;
                    fold = Peek.Text;
                    if (!FoldOperators.Contains(fold) || Peek.Kind is not (TokenKind.Punct or TokenKind.Ident))
                        throw Unexpected("a fold operator: + - * / % and or xor & | ^", "for x of case (k, v) => v into 0 use + end");
                    Advance();
                }
                Expect("end", "`into INITIAL [use OP]` is the last part of a for: ... into 0 use + end");
                break;
            }
            var cp = Peek.Start;
            Expect("case", "for x of case (k, v) => v end");
            Expect("(");
            var k = Ident("a key name");
            Expect(",");
            var v = Ident("a value name");
            Expect(")");
            Expr? guard = Accept("when") ? Expression() : null;
            Expect("=>");
            var body = Block("case", "into", "end");
            cases.Add(new ForCase(cp, k, v, guard, body));
        }
        if (cases.Count == 0) throw _source.Error(pos, "a `for` needs at least one case", "for x of case (k, v) => v end");
        return new ForExpr(pos, source, cases, initial, fold, foldPos);
    }

    private Expr Emit(int pos)
    {
        if (Accept("=>")) return new EmitExpr(pos, null, Expression());
        if (Peek.Is(";") || Peek.Is(",") || Peek.Is("end") || Peek.Is("case") || Peek.Is("default") || Peek.Kind == TokenKind.End)
            return new EmitExpr(pos, null, null);
        var value = Expression();
        Expr? port = Accept("=>") ? Expression() : null;
        return new EmitExpr(pos, value, port);
    }
}
