using Tremor.Pdk;
using Tremor.Script.Operators;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>
/// A created script: runs the block of the port an event arrives on; <c>state</c> (seeded by the definition's
/// <c>state</c> section) is shared by its blocks and lives as long as the instance.
/// </summary>
internal sealed class ScriptNode(ScriptPlan plan, Source source, Value args, Value initialState) : IOperatorInstance
{
    private readonly Context _c = new(plan.Locals, plan.Scratch) { Args = args, State = initialState };

    public void Process(Event e, ulong nowNs, IEmitter output) => Run(plan.Body!, e, nowNs, output);

    public void Process(string port, Event e, ulong nowNs, IEmitter output)
    {
        if (port == "in") Run(plan.Body!, e, nowNs, output);
        else Run(plan.PortBodies[port], e, nowNs, output);
    }

    private void Run(Eval body, Event e, ulong nowNs, IEmitter output)
    {
        var c = _c;
        c.Begin(e.Data, e.Meta, e.IngestNs);
        c.NowNs = nowNs;
        Value result;
        try
        {
            result = body(c);
        }
        catch (RuntimeError err)
        {
            output.Error(e, source.Describe(err.Pos, err.Message, err.Hint));
            return;
        }
        string port = "out";
        switch (c.Flow)
        {
            case Flow.Drop: return;
            case Flow.Emit:
                result = c.EmitValue;
                port = c.EmitPort ?? "out";
                break;
        }
        output.Emit(port, Output.Event(e, result, c.Meta));
    }
}

/// <summary>A created pipeline: a query of its own, its input and output ports those of the node.</summary>
internal sealed class PipelineNode(QueryInstance inner) : IOperatorInstance, IQueryOutput
{
    private readonly Event[] _one = new Event[1];
    private IEmitter? _output;

    public TimeSpan? TickInterval => inner.TickInterval;

    public long ErrorCount => inner.ErrorCount;

    public void Process(Event e, ulong nowNs, IEmitter output) => Process("in", e, nowNs, output);

    public void Process(string port, Event e, ulong nowNs, IEmitter output)
    {
        _output = output;
        _one[0] = e;
        inner.Process(port, _one, nowNs, this);
        _one[0] = null!;
    }

    public void Tick(ulong nowNs, IEmitter output)
    {
        _output = output;
        inner.Tick(nowNs, this);
    }

    public void Finish(ulong nowNs, IEmitter output)
    {
        _output = output;
        inner.Finish(nowNs, this);
    }

    // What the inner query emits on one of its output ports leaves this node on the port of that name.
    void IQueryOutput.Emit(string port, Event e) => _output!.Emit(port, e);
}

internal static class Output
{
    /// <summary>The input event itself when neither data nor meta changed, else a new event with the same id.</summary>
    public static Event Event(Event input, Value data, Value meta)
    {
        if (SameRef(input.Data, data) && SameRef(input.Meta, meta)) return input;
        return new Event { Id = input.Id, IngestNs = input.IngestNs, Transactional = input.Transactional, Data = data, Meta = meta };
    }

    private static bool SameRef(Value a, Value b)
    {
        if (a.Kind != b.Kind) return false;
        return a.Kind switch
        {
            ValueKind.Record => ReferenceEquals(a.AsRecord(), b.AsRecord()),
            ValueKind.Array => ReferenceEquals(a.AsArray(), b.AsArray()),
            ValueKind.String => ReferenceEquals(a.AsString(), b.AsString()),
            ValueKind.Bytes => ReferenceEquals(a.AsBytes(), b.AsBytes()),
            _ => a.Equals(b),
        };
    }
}
