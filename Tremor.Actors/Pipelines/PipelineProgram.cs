using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Actors.Pipelines;

/// <summary>Where a pipeline program puts its output: events per output port.</summary>
public interface IPipelineOutput
{
    /// <summary>Emits <paramref name="e"/> on <paramref name="port"/>.</summary>
    void Emit(string port, Event e);
}

/// <summary>
/// The seam between the pipeline actor and what a pipeline computes. <c>passthrough</c> is built in; the query
/// language plugs in here as another implementation.
/// </summary>
public interface IPipelineProgram
{
    /// <summary>Processes events that arrived on <paramref name="port"/>.</summary>
    void Process(string port, Event[] events, IPipelineOutput output);

    /// <summary>How often <see cref="Tick"/> is wanted (time-based windows, batch timeouts); null for never.</summary>
    TimeSpan? TickInterval => null;

    /// <summary>Time passed: close what is due by <paramref name="nowNs"/>.</summary>
    void Tick(ulong nowNs, IPipelineOutput output)
    {
    }

    /// <summary>Every upstream ended: emit what is still held (open windows).</summary>
    void Finish(ulong nowNs, IPipelineOutput output)
    {
    }

    /// <summary>Events the program sent to <c>err</c> because an expression failed.</summary>
    long ErrorCount => 0;

    /// <summary>
    /// The whole batch went to <c>out</c> unchanged, when the program can say so without looking at events
    /// (lets the actor forward the batch without copying).
    /// </summary>
    bool IsPassthrough { get; }
}

/// <summary>Forwards every event from <c>in</c> to <c>out</c>.</summary>
public sealed class PassthroughProgram : IPipelineProgram
{
    /// <inheritdoc />
    public bool IsPassthrough => true;

    /// <inheritdoc />
    public void Process(string port, Event[] events, IPipelineOutput output)
    {
        foreach (var e in events) output.Emit("out", e);
    }
}

/// <summary>Makes the program of a pipeline spec.</summary>
public static class PipelinePrograms
{
    /// <summary>The program for <paramref name="spec"/>, or a <see cref="ConfigException"/> naming its key.</summary>
    public static IPipelineProgram Create(PipelineSpec spec) => spec.Type switch
    {
        "passthrough" => new PassthroughProgram(),
        _ => throw new ConfigException($"{spec.Path}.type", $"unknown pipeline type '{spec.Type}'; this version has: passthrough"),
    };
}
