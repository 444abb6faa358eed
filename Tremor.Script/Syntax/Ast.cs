using Tremor.Pdk;

namespace Tremor.Script.Syntax;

// The syntax tree only lives between parsing and compilation: nothing walks it per event.

internal abstract record Expr(int Pos);

internal sealed record LiteralExpr(int Pos, Value Value) : Expr(Pos);

internal sealed record InterpolatedExpr(int Pos, List<object> Parts) : Expr(Pos);

internal sealed record ArrayExpr(int Pos, List<Expr> Items) : Expr(Pos);

internal sealed record RecordExpr(int Pos, List<(Expr Key, Expr Value)> Fields) : Expr(Pos);

internal enum PathRoot
{
    Event,
    Meta,
    State,
    Group,
    Window,
    Args,
    Local,
    Expr,
}

/// <summary>A user function: <c>fn name(a, b) with ... end</c>, or <c>of case (...) => ... end</c> desugared to a match.</summary>
internal sealed record FnDef(int Pos, string Name, List<string> Params, bool Open, List<Expr> Body, string? Intrinsic);

internal abstract record Segment(int Pos);

internal sealed record FieldSegment(int Pos, string Name) : Segment(Pos);

internal sealed record IndexSegment(int Pos, Expr Index) : Segment(Pos);

internal sealed record RangeSegment(int Pos, Expr From, Expr To) : Segment(Pos);

/// <summary>A path: a root (event, $, state, a local, ...) and segments. <see cref="Name"/> is the local's name.</summary>
internal sealed record PathExpr(int Pos, PathRoot Root, string? Name, Expr? Base, List<Segment> Segments) : Expr(Pos);

internal sealed record UnaryExpr(int Pos, string Op, Expr Operand) : Expr(Pos);

internal sealed record BinaryExpr(int Pos, string Op, Expr Left, Expr Right) : Expr(Pos);

internal sealed record CallExpr(int Pos, string Name, List<Expr> Args) : Expr(Pos);

internal sealed record LetExpr(int Pos, PathExpr Target, Expr Value) : Expr(Pos);

internal sealed record PresentExpr(int Pos, PathExpr Path, bool Negate) : Expr(Pos);

internal sealed record MatchCase(int Pos, Pattern Pattern, Expr? Guard, List<Expr> Body);

internal sealed record MatchExpr(int Pos, Expr Subject, List<MatchCase> Cases) : Expr(Pos);

internal sealed record PatchOp(int Pos, string Kind, Expr? Key, Expr? Value);

internal sealed record PatchExpr(int Pos, Expr Target, List<PatchOp> Ops) : Expr(Pos);

internal sealed record MergeExpr(int Pos, Expr Target, Expr With) : Expr(Pos);

internal sealed record ForCase(int Pos, string KeyName, string ValueName, Expr? Guard, List<Expr> Body);

/// <summary><c>for x of cases [into initial [use op]] end</c>: <see cref="Initial"/> null means <c>[]</c>, <see cref="Fold"/> null means <c>+</c>.</summary>
internal sealed record ForExpr(int Pos, Expr Source, List<ForCase> Cases, Expr? Initial, string? Fold, int FoldPos) : Expr(Pos);

internal sealed record EmitExpr(int Pos, Expr? Value, Expr? Port) : Expr(Pos);

internal sealed record DropExpr(int Pos) : Expr(Pos);

/// <summary>A part of a binary literal: <c>value[:bits][/type-words]</c>.</summary>
internal sealed record BytesPart(int Pos, Expr Value, int? Bits, string Type);

/// <summary><c>&lt;&lt;1, 2:16, "abc"/binary&gt;&gt;</c>.</summary>
internal sealed record BytesExpr(int Pos, List<BytesPart> Parts) : Expr(Pos);

internal sealed record RecurExpr(int Pos, List<Expr> Args) : Expr(Pos);

/// <summary>A definition (fn, const, mod, use) among a script's statements: registered at compile time, no value.</summary>
internal sealed record DefinitionExpr(int Pos, Stmt Definition) : Expr(Pos);

internal abstract record Pattern(int Pos);

internal sealed record AnyPattern(int Pos) : Pattern(Pos);

internal sealed record ValuePattern(int Pos, Expr Value) : Pattern(Pos);

/// <summary>One test of a record pattern; <see cref="Assign"/> names the local of <c>x = key ~= ext|...|</c>.</summary>
internal sealed record RecordPatternItem(int Pos, string Key, string Kind, Expr? Value, Pattern? Nested)
{
    public string? Assign { get; init; }
}

/// <summary>An extractor test <c>~ name|rule|</c>: matches when the extractor accepts the string, yields what it extracted.</summary>
internal sealed record ExtractPattern(int Pos, string Name, string Rule, int RulePos) : Pattern(Pos);

internal sealed record RecordPattern(int Pos, List<RecordPatternItem> Items) : Pattern(Pos);

/// <summary>A part of a bit pattern: binds <see cref="Bind"/>, compares <see cref="Value"/>, or (both null) skips.</summary>
internal sealed record BinaryPatternPart(int Pos, string? Bind, Expr? Value, int? Bits, string Type);

/// <summary><c>&lt;&lt;a:4, b:4&gt;&gt;</c> in a case: the binary read back in the layout its literal writes.</summary>
internal sealed record BinaryPattern(int Pos, List<BinaryPatternPart> Parts) : Pattern(Pos);

internal sealed record ArrayPattern(int Pos, List<Pattern> Items) : Pattern(Pos);

/// <summary><c>%(a, b)</c> matches arrays of exactly that length; <c>%(a, b, ...)</c> (<see cref="Open"/>) at least.</summary>
internal sealed record TuplePattern(int Pos, List<Pattern> Items) : Pattern(Pos)
{
    public bool Open { get; init; }
}

internal sealed record BindPattern(int Pos, string Name, Pattern Inner) : Pattern(Pos);

// Query statements.

internal abstract record Stmt(int Pos);

internal sealed record StreamRef(int Pos, string Name, string? Port);

internal sealed record WindowRef(int Pos, string Name);

internal sealed record GroupBy(int Pos, string Kind, List<Expr> Exprs);

internal sealed record SelectStmt(int Pos, Expr Target, StreamRef From, List<WindowRef> Windows, Expr? Where, GroupBy? Group, StreamRef Into, Expr? Having) : Stmt(Pos);

internal sealed record WithParam(int Pos, string Name, Expr Value);

/// <summary>
/// A window definition; <see cref="Script"/> computes an event's time (interval) or how much it counts (size), or, in
/// a state window (<see cref="State"/> given), whether the window emits; <see cref="Tick"/> decides that on ticks.
/// </summary>
internal sealed record DefineWindowStmt(int Pos, string Name, string Kind, List<WithParam> Params) : Stmt(Pos)
{
    public (int Pos, List<Expr> Body)? Script { get; init; }

    public Expr? State { get; init; }

    public (int Pos, List<Expr> Body)? Tick { get; init; }
}

/// <summary>The sections of a window definition, while parsing.</summary>
internal sealed class WindowSections
{
    public Expr? State { get; set; }

    public (int Pos, List<Expr> Body)? Script { get; set; }

    public (int Pos, List<Expr> Body)? Tick { get; set; }
}

/// <summary>A definition's argument: <c>args x = 1, y</c>; <see cref="Default"/> is null for a required one.</summary>
internal sealed record ArgParam(int Pos, string Name, Expr? Default);

/// <summary>A <c>script from PORT</c> block: runs for events arriving on that port of the script.</summary>
internal sealed record ScriptPortBody(int Pos, string Port, List<Expr> Body);

/// <summary>
/// <c>define script NAME [args ...] [with ...] [state EXPR] [script from PORT ...]* script ... end;</c>:
/// <see cref="State"/> is the initial state (evaluated once per created script, with its args).
/// </summary>
internal sealed record DefineScriptStmt(int Pos, string Name, List<WithParam> Params, List<ArgParam> Args, List<Expr> Body, int StatementPos = 0) : Stmt(Pos)
{
    public Expr? State { get; init; }

    public List<ScriptPortBody> PortBodies { get; init; } = [];

    /// <summary>Whether a plain <c>script</c> block (for <c>in</c>) was written.</summary>
    public bool HasMain { get; init; } = true;
}

/// <summary>
/// <c>define pipeline NAME [args ...] [from p, ...] [into p, ...] pipeline STATEMENTS end;</c>: a sub-query.
/// Null <see cref="From"/> / <see cref="Into"/> mean the default ports (<c>in</c>; <c>out</c> and <c>err</c>).
/// </summary>
internal sealed record DefinePipelineStmt(int Pos, string Name, List<ArgParam> Args, List<(int Pos, string Name)>? From, List<(int Pos, string Name)>? Into, List<Stmt> Body, int StatementPos) : Stmt(Pos);

/// <summary>An operator definition; with <see cref="Args"/>, its <c>with</c> parameters may read <c>args</c>, which a create's <c>with</c> sets.</summary>
internal sealed record DefineOperatorStmt(int Pos, string Name, string Kind, int KindPos, List<WithParam> Params) : Stmt(Pos)
{
    public List<ArgParam> Args { get; init; } = [];
}

internal sealed record CreateStmt(int Pos, string What, string Name, string Definition, int DefinitionPos, List<WithParam> Params) : Stmt(Pos)
{
    /// <summary>Where the <c>create</c> keyword is: errors about the statement as a whole point there, as Tremor's do.</summary>
    public int StatementPos { get; init; } = Pos;
}

internal sealed record FnStmt(int Pos, FnDef Fn) : Stmt(Pos);

/// <summary><c>aggregate NAME of init() =&gt; e aggregate(st, x) =&gt; e mergein(st, other) =&gt; e emit(st) =&gt; e end;</c>.</summary>
internal sealed record AggregateStmt(int Pos, string Name, FnDef Init, FnDef Aggregate, FnDef MergeIn, FnDef Emit) : Stmt(Pos);

internal sealed record ConstStmt(int Pos, string Name, Expr Value) : Stmt(Pos);

internal sealed record ModStmt(int Pos, string Name, List<Stmt> Body) : Stmt(Pos);

/// <summary><c>use a::b [as c];</c>: <see cref="Alias"/> is the name the module is known by (<c>b</c> unless renamed).</summary>
internal sealed record UseStmt(int Pos, List<string> Path, string Alias) : Stmt(Pos);
