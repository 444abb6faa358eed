using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>A compiled select: where, group by, windows with their aggregate sites, target and having.</summary>
internal sealed class SelectPlan
{
    public required int Pos { get; init; }
    public required Endpoint From { get; init; }
    public required Endpoint Into { get; init; }
    public required Eval Target { get; init; }
    public Eval? Where { get; init; }
    public Eval? Having { get; init; }

    /// <summary>Where a where / having clause that is not a bool is reported: at the clause's expression.</summary>
    public int WherePos { get; init; }

    public int HavingPos { get; init; }
    public string? GroupKind { get; init; }
    public Eval[] GroupExprs { get; init; } = [];

    /// <summary>Per dimension of <c>group by set(...)</c>: whether it is <c>each(...)</c> (one group per element).</summary>
    public bool[] GroupEach { get; init; } = [];
    public required WindowPlan[] Windows { get; init; }
    public required AggregateSite[] Aggregates { get; init; }
    public required int Locals { get; init; }
    public required int Scratch { get; init; }

    /// <summary><c>select event</c>: the input event passes on as it is, no new event.</summary>
    public bool TargetIsEvent { get; init; }

    /// <summary><c>select event from a into b;</c>: no where, group, window or having; the event is passed on unevaluated.</summary>
    public bool IsForward { get; init; }

    public static SelectPlan Compile(Source src, SelectStmt s, Endpoint from, Endpoint into, List<WindowPlan> windows, Definitions definitions)
    {
        var scope = new Scope(windows.Count > 0 ? ScopeKind.WindowedSelect : ScopeKind.Select);
        var compiler = new Compiler(src, scope, definitions);
        var where = s.Where is null ? null : compiler.Compile(s.Where);
        if (s.Group is { Kind: "each" } g && g.Exprs.Count != 1) throw src.Error(g.Pos, "`group by each(...)` takes one expression");
        // `set(a, each(b))`: a dimension written `each(x)` gives one group per element of x.
        var groupEach = s.Group is { Kind: "set" } ? s.Group.Exprs.Select(e => e is CallExpr { Name: "each" }).ToArray() : [];
        var groupExprs = s.Group?.Exprs.Select(e => e is CallExpr { Name: "each" } each && s.Group.Kind == "set"
            ? each.Args.Count == 1 ? compiler.Compile(each.Args[0]) : throw src.Error(each.Pos, "`each(...)` takes one expression")
            : compiler.Compile(e)).ToArray() ?? [];
        scope.AggregatesAllowed = true;
        var target = compiler.Compile(s.Target);
        var having = s.Having is null ? null : compiler.Compile(s.Having);
        return new SelectPlan
        {
            Pos = s.Pos,
            From = from,
            Into = into,
            Target = target,
            Where = where,
            Having = having,
            WherePos = s.Where?.Pos ?? s.Pos,
            HavingPos = s.Having?.Pos ?? s.Pos,
            GroupKind = s.Group?.Kind,
            GroupExprs = groupExprs,
            GroupEach = groupEach,
            Windows = [.. windows],
            Aggregates = [.. scope.Aggregates],
            Locals = scope.LocalCount,
            Scratch = scope.ScratchCount,
            TargetIsEvent = s.Target is PathExpr { Root: PathRoot.Event, Segments.Count: 0 },
            IsForward = s.Target is PathExpr { Root: PathRoot.Event, Segments.Count: 0 } && where is null && having is null && s.Group is null && windows.Count == 0,
        };
    }
}
