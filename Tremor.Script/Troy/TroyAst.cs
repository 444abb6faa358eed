using Tremor.Script.Syntax;

namespace Tremor.Script.Troy;

// The syntax of Tremor's deployment language (troy). Like the query's syntax tree it lives only between parsing and
// resolving a deployment; expressions inside it are the query language's own.

internal abstract record TroyStmt(int Pos);

/// <summary><c>use a::b [as c];</c>: a troy module (<c>a/b.troy</c> or a standard one) or a script module.</summary>
internal sealed record TroyUse(int Pos, List<string> Path, string Alias) : TroyStmt(Pos);

/// <summary><c>define connector NAME from KIND [args ...] [with ... end]</c>.</summary>
internal sealed record TroyDefineConnector(int Pos, string Name, string Kind, int KindPos, List<ArgParam> Args, List<WithParam> With) : TroyStmt(Pos);

/// <summary><c>define pipeline NAME [args ...] pipeline QUERY end</c>: the query is the text between the two keywords.</summary>
internal sealed record TroyDefinePipeline(int Pos, string Name, List<ArgParam> Args, int BodyStart, int BodyEnd) : TroyStmt(Pos);

/// <summary><c>define flow NAME [args ...] flow STMTS end</c>.</summary>
internal sealed record TroyDefineFlow(int Pos, string Name, List<ArgParam> Args, List<TroyStmt> Body) : TroyStmt(Pos);

/// <summary><c>create connector|pipeline ALIAS [from TARGET] [with ... end]</c>.</summary>
internal sealed record TroyCreate(int Pos, string Kind, string Alias, List<string> Target, int TargetPos, List<WithParam> With) : TroyStmt(Pos);

/// <summary>One end of a connect: <c>/connector/NAME[/PORT]</c> or <c>/pipeline/NAME[/PORT]</c>.</summary>
internal sealed record TroyEndpoint(int Pos, string Kind, string Alias, string Port, int PortPos);

/// <summary><c>connect /KIND/a[/port] to /KIND/b[/port]</c>.</summary>
internal sealed record TroyConnect(int Pos, TroyEndpoint From, TroyEndpoint To) : TroyStmt(Pos);

/// <summary><c>deploy flow NAME [from TARGET] [with ... end]</c>.</summary>
internal sealed record TroyDeploy(int Pos, string Name, List<string> Target, int TargetPos, List<WithParam> With) : TroyStmt(Pos);
