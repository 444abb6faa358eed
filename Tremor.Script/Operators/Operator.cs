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

    void Tick(ulong nowNs, IEmitter output)
    {
    }

    void Finish(ulong nowNs, IEmitter output)
    {
    }

    TimeSpan? TickInterval => null;
}
