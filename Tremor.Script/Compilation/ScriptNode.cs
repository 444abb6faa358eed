using Tremor.Pdk;
using Tremor.Script.Operators;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>A created script: runs its compiled body per event; <c>state</c> lives as long as the instance.</summary>
internal sealed class ScriptNode(ScriptPlan plan, Source source, Value args) : IOperatorInstance
{
    private readonly Context _c = new(plan.Locals, plan.Scratch) { Args = args };

    public void Process(Event e, ulong nowNs, IEmitter output)
    {
        var c = _c;
        c.Begin(e.Data, e.Meta, e.IngestNs);
        c.NowNs = nowNs;
        Value result;
        try
        {
            result = plan.Body(c);
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
