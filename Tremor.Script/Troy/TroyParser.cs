using Tremor.Script.Troy;

namespace Tremor.Script.Syntax;

// Troy, Tremor's deployment language, shares its tokens, expressions and the embedded query statements with trickle
// (Tremor has one grammar for all three), so it is parsed by the same parser: one lexer, one error format.
internal sealed partial class Parser
{
    /// <summary>A deployment or module file: <c>use</c>, <c>define connector|pipeline|flow</c>, <c>deploy flow</c>, separated by <c>;</c>.</summary>
    public static List<TroyStmt> ParseTroy(Source source)
    {
        var p = new Parser(source, 0, source.Text.Length);
        var stmts = new List<TroyStmt>();
        while (p.Peek.Kind != TokenKind.End)
        {
            var t = p.Peek;
            if (p.Accept("use")) stmts.AddRange(p.TroyUseStmt(t.Start));
            else if (p.Accept("define")) stmts.Add(p.TroyDefine(t.Start, inFlow: false));
            else if (p.Accept("deploy")) stmts.Add(p.TroyDeployStmt(t.Start));
            else if (t.Is("create") || t.Is("connect"))
                throw source.Error(t.Start, $"`{t.Text}` belongs inside a flow", "define flow main flow ... end; deploy flow main;");
            else throw p.Unexpected("`define`, `deploy` or `use`", "a deployment defines a flow and deploys it: define flow main flow ... end; deploy flow main;");
            p.TroyStatementEnd(last: p.Peek.Kind == TokenKind.End);
        }
        return stmts;
    }

    private void TroyStatementEnd(bool last)
    {
        if (Accept(";") || last) return;
        var prev = _tokens[Math.Max(0, _i - 1)];
        throw _source.Error(prev.End, $"missing `;` after the statement, found {Peek.Describe()}", "end every troy statement with `;`");
    }

    /// <summary><c>use a::b [as c]</c>, or several at once: <c>use a::{b, c as d}</c>.</summary>
    private List<TroyUse> TroyUseStmt(int usePos)
    {
        var uses = new List<TroyUse>();
        // Errors about the module point at its name, not at `use`.
        var pos = Peek.Kind == TokenKind.Ident ? Peek.Start : usePos;
        var path = new List<string> { Ident("a module name") };
        while (Accept("::"))
        {
            if (Accept("{"))
            {
                do
                {
                    var itemPos = Peek.Start;
                    var item = Ident("a module name");
                    uses.Add(new TroyUse(itemPos, [.. path, item], Accept("as") ? Ident("an alias after `as`") : item));
                }
                while (Accept(","));
                Expect("}", "use a::{b, c};");
                return uses;
            }
            path.Add(Ident("a module name after `::`"));
        }
        var alias = path[^1];
        if (Accept("as")) alias = Ident("an alias after `as`");
        uses.Add(new TroyUse(pos, path, alias));
        return uses;
    }

    private TroyStmt TroyDefine(int pos, bool inFlow)
    {
        var t = Peek;
        if (Accept("connector"))
        {
            var name = TroyName("a connector name");
            Expect("from", "define connector NAME from TYPE with ... end;");
            var kindPos = Peek.Start;
            var kind = Ident("a connector type (file, tcp_server, metronome, ...)");
            var args = TroyArgs();
            var with = TroyWith(required: args.Count > 0, "define connector NAME from TYPE args a = 1 with config = {\"x\": args.a} end;");
            return new TroyDefineConnector(pos, name, kind, kindPos, args, with);
        }
        if (Accept("pipeline"))
        {
            var name = TroyName("a pipeline name");
            // Declared ports (`from in, other into out, err`) are accepted as Tremor writes them; the ports a
            // pipeline has are the ones its query reads and writes.
            foreach (var clause in new[] { "from", "into" })
            {
                if (!Accept(clause)) continue;
                do Ident("a port name");
                while (Accept(","));
            }
            var args = TroyArgs();
            // From the end of the keyword, so the first line of the query keeps its indentation.
            var start = Expect("pipeline", "define pipeline NAME pipeline select event from in into out; end;").End;
            // The query's statements, parsed here only to find the `end` that closes the pipeline; the query compiler
            // reads the text again.
            while (!Peek.Is("end"))
            {
                if (Peek.Kind == TokenKind.End) throw _source.Error(t.Start, $"pipeline `{name}` is not closed", "close it with `end`: define pipeline NAME pipeline ... end;");
                Statement();
            }
            var bodyEnd = Peek.Start;
            Advance();
            return new TroyDefinePipeline(pos, name, args, start, bodyEnd);
        }
        if (Accept("flow"))
        {
            if (inFlow) throw _source.Error(t.Start, "a flow cannot define another flow", "define flows at the top level of the file");
            var name = TroyName("a flow name");
            var args = TroyArgs();
            Expect("flow", "define flow NAME flow ... end;");
            var body = new List<TroyStmt>();
            while (!Peek.Is("end"))
            {
                var s = Peek;
                if (s.Kind == TokenKind.End) throw _source.Error(t.Start, $"flow `{name}` is not closed", "close it with `end;`");
                if (Accept("define")) body.Add(TroyDefine(s.Start, inFlow: true));
                else if (Accept("create")) body.Add(TroyCreateStmt(s.Start));
                else if (Accept("connect")) body.Add(TroyConnectStmt(s.Start));
                else if (Accept("use")) body.AddRange(TroyUseStmt(s.Start));
                else if (s.Is("deploy")) throw _source.Error(s.Start, "`deploy` belongs outside the flow", $"end the flow first: ... end; deploy flow {name};");
                else throw Unexpected("`define`, `create`, `connect`, `use` or `end`");
                if (!Accept(";") && !Peek.Is("end"))
                {
                    var prev = _tokens[Math.Max(0, _i - 1)];
                    throw _source.Error(prev.End, $"missing `;` after the statement, found {Peek.Describe()}", "end every statement in a flow with `;`");
                }
            }
            Advance();
            return new TroyDefineFlow(pos, name, args, body);
        }
        throw Unexpected("`connector`, `pipeline` or `flow` after `define`", "define connector NAME from TYPE with ... end; define pipeline NAME pipeline ... end; define flow NAME flow ... end;");
    }

    // Keywords cannot name a definition or an alias: `create connector end` is a missing name, not a connector `end`.
    private static readonly HashSet<string> TroyKeywords = new(StringComparer.Ordinal) { "connector", "pipeline", "flow", "deploy", "connect", "to" };

    private string TroyName(string what)
    {
        if (Peek.Kind == TokenKind.Ident && (Reserved.Contains(Peek.Text) || TroyKeywords.Contains(Peek.Text))) throw Unexpected(what);
        return Ident(what);
    }

    private List<ArgParam> TroyArgs()
    {
        var args = new List<ArgParam>();
        if (!Accept("args")) return args;
        do
        {
            // A trailing comma before the next clause is allowed, as in Tremor.
            if (Peek.Is("with") || Peek.Is("pipeline") || Peek.Is("flow")) break;
            var ap = Peek.Start;
            var an = TroyName("an argument name");
            args.Add(new ArgParam(ap, an, Accept("=") ? Expression() : null));
        }
        while (Accept(","));
        return args;
    }

    private List<WithParam> TroyWith(bool required, string hint)
    {
        var ps = new List<WithParam>();
        if (!Peek.Is("with"))
        {
            if (required) throw Unexpected("`with ... end` after the args", hint);
            return ps;
        }
        var withPos = Advance().Start;
        var names = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            if (Peek.Is("end")) break;
            var pp = Peek.Start;
            var name = Ident("a parameter name");
            if (!names.Add(name)) throw _source.Error(pp, $"`{name}` is given twice", "give each parameter once");
            Expect("=", $"{name} = VALUE");
            ps.Add(new WithParam(pp, name, Expression()));
        }
        while (Accept(","));
        if (!Peek.Is("end")) throw Unexpected("`,` or `end`", $"a `with` block ends with `end` (opened at line {_source.Locate(withPos).Line})");
        Advance();
        return ps;
    }

    private (List<string> Path, int Pos) TroyTarget(string fallback, int fallbackPos)
    {
        if (!Accept("from")) return ([fallback], fallbackPos);
        var pos = Peek.Start;
        var path = new List<string> { Ident("a definition name") };
        while (Accept("::")) path.Add(Ident("a name after `::`"));
        return (path, pos);
    }

    private TroyCreate TroyCreateStmt(int pos)
    {
        var kindToken = Peek;
        var kind = Ident("`connector` or `pipeline`");
        if (kind is not ("connector" or "pipeline"))
            throw _source.Error(kindToken.Start, $"cannot create `{kind}` in a flow", "create connector NAME [from DEFINITION]; or create pipeline NAME [from DEFINITION];");
        var aliasPos = Peek.Start;
        var alias = TroyName($"a {kind} name");
        var (target, targetPos) = TroyTarget(alias, aliasPos);
        var with = TroyWith(required: false, "");
        return new TroyCreate(pos, kind, alias, target, targetPos, with);
    }

    private TroyConnect TroyConnectStmt(int pos)
    {
        var from = TroyEndpointRef(isSource: true);
        Expect("to", "connect /connector/a to /pipeline/b;");
        var to = TroyEndpointRef(isSource: false);
        return new TroyConnect(pos, from, to);
    }

    private TroyEndpoint TroyEndpointRef(bool isSource)
    {
        var pos = Peek.Start;
        Expect("/", "an endpoint is written /connector/NAME[/PORT] or /pipeline/NAME[/PORT]");
        var kindToken = Peek;
        var kind = Ident("`connector` or `pipeline`");
        if (kind is not ("connector" or "pipeline"))
            throw _source.Error(kindToken.Start, $"`{kind}` is not something to connect", "an endpoint is /connector/NAME[/PORT] or /pipeline/NAME[/PORT]");
        Expect("/", $"/{kind}/NAME");
        var alias = Ident($"a {kind} name");
        var port = isSource ? "out" : "in";
        var portPos = Peek.Start;
        if (Accept("/"))
        {
            portPos = Peek.Start;
            port = Ident("a port name");
        }
        return new TroyEndpoint(pos, kind, alias, port, portPos);
    }

    private TroyDeploy TroyDeployStmt(int pos)
    {
        Expect("flow", "deploy flow NAME [from DEFINITION] [with ARG = VALUE end];");
        var namePos = Peek.Start;
        var name = TroyName("a flow name");
        var (target, targetPos) = TroyTarget(name, namePos);
        var with = TroyWith(required: false, "");
        return new TroyDeploy(pos, name, target, targetPos, with);
    }
}
