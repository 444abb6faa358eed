using Tremor.Pdk;

namespace Tremor.Script.Operators;

/// <summary>Where a node sends what it produces: a port name and the event.</summary>
internal interface IEmitter
{
    void Emit(string port, Event e);

    /// <summary>Sends the event to <c>err</c> as <c>{"error": message, "event": data}</c> (Tremor's shape) and counts it.</summary>
    void Error(Event e, string message);
}

/// <summary>One running node of a query (a script or a built-in operator) with its own state.</summary>
internal interface IOperatorInstance
{
    void Process(Event e, ulong nowNs, IEmitter output);

    /// <summary>An event on input <paramref name="port"/>; nodes with one input (<c>in</c>) ignore the port.</summary>
    void Process(string port, Event e, ulong nowNs, IEmitter output) => Process(e, nowNs, output);

    /// <summary>Events this node sent to <c>err</c> itself (a sub-pipeline's own count); the emitter counts the rest.</summary>
    long ErrorCount => 0;

    void Tick(ulong nowNs, IEmitter output)
    {
    }

    void Finish(ulong nowNs, IEmitter output)
    {
    }

    TimeSpan? TickInterval => null;
}

/// <summary>
/// An operator that reacts to how its downstream copes (Tremor's contraflow): the runtime reports each delivery's
/// latency, or a failure, and whether the operator wants its upstream paused.
/// </summary>
internal interface IContraflow
{
    void Delivered(ulong latencyNs, bool failed, ulong nowNs);

    /// <summary>Whether the operator asks the pipeline's upstream to stop sending for now.</summary>
    bool PausesUpstream { get; }
}
