using System.Runtime.CompilerServices;
using Tremor.Pdk;

namespace Tremor.Script.Runtime;

/// <summary>A compiled expression: evaluated against the per-instance context, no tree walking.</summary>
internal delegate Value Eval(Context c);

internal enum Flow : byte
{
    Continue,
    Emit,
    Drop,

    /// <summary>A <c>recur</c> asked its function to run again with new arguments (in <see cref="Context.RecurOffset"/>).</summary>
    Recur,
}

/// <summary>
/// The mutable state one node instance evaluates in. Reused for every event, so evaluation allocates
/// only the values it produces.
/// </summary>
internal sealed class Context
{
    public Value Event;
    public Value Meta;
    public Value State;
    public Value Group;
    public Value Window;
    public Value Args;
    public Value[] Locals;
    public Value[] Scratch;
    public Aggregates.IAggregator[]? Aggregates;
    public Flow Flow;
    public Value EmitValue;
    public string? EmitPort;
    public ulong NowNs;

    /// <summary>The current event's ingest time: the influx extractor's timestamp when a line has none.</summary>
    public ulong IngestNs;

    /// <summary>The groups a windowed select holds while it emits (<c>win::cardinality()</c>); 0 elsewhere.</summary>
    public long GroupCount;

    /// <summary>Where in <see cref="Scratch"/> a pending <c>recur</c> left its arguments.</summary>
    public int RecurOffset;

    /// <summary>Nesting of user function calls: bounded, so runaway recursion is an error, not a crash.</summary>
    public int CallDepth;

    // Containers this event already copied (copy-on-write): written in place from then on.
    private object?[] _owned = new object?[8];
    private int _ownedCount;

    public Context(int locals, int scratch)
    {
        Locals = new Value[Math.Max(locals, 1)];
        Scratch = new Value[Math.Max(scratch, 1)];
    }

    /// <summary>Starts a new event: locals, copy-on-write ownership and control flow are reset.</summary>
    public void Begin(Value data, Value meta, ulong ingestNs = 0)
    {
        IngestNs = ingestNs;
        Event = data;
        Meta = meta;
        Flow = Flow.Continue;
        EmitPort = null;
        EmitValue = default;
        Array.Clear(Locals);
        if (_ownedCount > 0)
        {
            Array.Clear(_owned, 0, _ownedCount);
            _ownedCount = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsOwned(object o)
    {
        for (var i = 0; i < _ownedCount; i++)
        {
            if (ReferenceEquals(_owned[i], o)) return true;
        }
        return false;
    }

    public void Own(object o)
    {
        if (_ownedCount == _owned.Length) Array.Resize(ref _owned, _owned.Length * 2);
        _owned[_ownedCount++] = o;
    }
}

/// <summary>An error while evaluating an event; the node sends the event to <c>err</c> with this text.</summary>
internal sealed class RuntimeError(int pos, string message, string? hint = null) : Exception(message)
{
    public int Pos { get; } = pos;

    /// <summary>What to do about it, printed under the caret, or null.</summary>
    public string? Hint { get; } = hint;
}

/// <summary>Thrown by standard functions; the call site turns it into a <see cref="RuntimeError"/> with its position.</summary>
internal sealed class FunctionError(string message) : Exception(message);
