using Tremor.Script.Aggregates;
using Tremor.Script.Runtime;

namespace Tremor.Script.Compilation;

/// <summary>An aggregate call site in a windowed select: how to build its state and evaluate its arguments per event.</summary>
/// <summary>An aggregate call in a windowed select; <see cref="Pos"/> is the call, where its errors are reported.</summary>
internal sealed record AggregateSite(AggregateDef Def, Eval[] Args, int ScratchOffset, int Pos = 0);

/// <summary>What a body may use while it is compiled, and the slots it needs at run time.</summary>
internal sealed class Scope(ScopeKind kind)
{
    private readonly Dictionary<string, int> _locals = new(StringComparer.Ordinal);

    public ScopeKind Kind { get; } = kind;

    public int LocalCount => _locals.Count;

    public int ScratchCount { get; private set; }

    public List<AggregateSite> Aggregates { get; } = [];

    /// <summary>Set while compiling an aggregate's arguments: aggregates do not nest.</summary>
    public bool InAggregate { get; set; }

    /// <summary>Aggregates belong in a windowed select's target and having, not in its where or group by.</summary>
    public bool AggregatesAllowed { get; set; }

    public IEnumerable<string> LocalNames => _locals.Keys.Where(k => !k.StartsWith('\0'));

    /// <summary>The function whose body this is (for <c>recur</c> and <c>args</c>), else null.</summary>
    public UserFunction? Function { get; init; }

    public int Declare(string name)
    {
        if (_locals.TryGetValue(name, out var slot)) return slot;
        slot = _locals.Count;
        _locals[name] = slot;
        return slot;
    }

    public int? Lookup(string name) => _locals.TryGetValue(name, out var slot) ? slot : null;

    public int AllocScratch(int n)
    {
        var off = ScratchCount;
        ScratchCount += n;
        return off;
    }
}

internal enum ScopeKind
{
    /// <summary>A select without windows: expressions only.</summary>
    Select,

    /// <summary>A windowed select: aggregates allowed.</summary>
    WindowedSelect,

    /// <summary>A script body: let, emit and drop allowed.</summary>
    Script,

    /// <summary>A constant: definitions' <c>with</c> parameters, <c>const</c>.</summary>
    Constant,

    /// <summary>A user function's body: let of locals and recur allowed.</summary>
    Function,
}
