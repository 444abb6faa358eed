using Tremor.Pdk;
using Tremor.Script.Aggregates;
using Tremor.Script.Runtime;

namespace Tremor.Script.Compilation;

/// <summary>
/// A user aggregate, Tremor's <c>aggregate NAME of init() =&gt; ... aggregate(st, x) =&gt; ... mergein(st, other) =&gt; ...
/// emit(st) =&gt; ... end;</c>: four functions over a state a window keeps per group.
/// </summary>
internal sealed record UserAggregate(string QualifiedName, UserFunction Init, UserFunction Aggregate, UserFunction MergeIn, UserFunction Emit)
{
    /// <summary>The arguments a call passes (the state is the aggregate function's first parameter).</summary>
    public int Arity => Aggregate.Def.Params.Count - 1;

    /// <summary>Runs one of the four functions on its own frame: they see their parameters only, as functions do.</summary>
    public static Value Invoke(UserFunction fn, int callPos, params Value[] args)
    {
        fn.EnsureCompiled();
        var body = fn.Body ?? throw new RuntimeError(callPos, $"`{fn.QualifiedName}` is not compiled yet");
        var c = new Context(fn.Locals, fn.Scratch);
        System.Array.Copy(args, c.Locals, Math.Min(args.Length, fn.Def.Params.Count));
        try
        {
            while (true)
            {
                var v = body(c);
                if (c.Flow != Flow.Recur) return v;
                c.Flow = Flow.Continue;
                System.Array.Copy(c.Scratch, c.RecurOffset, c.Locals, 0, fn.Def.Params.Count);
            }
        }
        catch (RuntimeError e)
        {
            // Reported at the aggregate's call, naming where in its definition it failed.
            var (line, col) = fn.Source.Locate(e.Pos);
            throw new RuntimeError(callPos, $"in `{fn.QualifiedName}` ({fn.Source.Origin}:{line}:{col}): {e.Message}");
        }
    }
}

/// <summary>One window's state of a <see cref="UserAggregate"/>.</summary>
internal sealed class UserAggregator(UserAggregate def, int callPos) : IAggregator
{
    private Value _state = UserAggregate.Invoke(def.Init, callPos);

    public void Accumulate(ReadOnlySpan<Value> args)
    {
        var all = new Value[args.Length + 1];
        all[0] = _state;
        args.CopyTo(all.AsSpan(1));
        _state = UserAggregate.Invoke(def.Aggregate, callPos, all);
    }

    public Value Emit() => UserAggregate.Invoke(def.Emit, callPos, _state);

    // A higher window takes in a lower one's state when the lower closes.
    public void Merge(IAggregator lower) => _state = UserAggregate.Invoke(def.MergeIn, callPos, _state, ((UserAggregator)lower)._state);

    public void Reset() => _state = UserAggregate.Invoke(def.Init, callPos);
}
