using Tremor.Actors.Configuration;
using Tremor.Pdk;
using Tremor.Script;

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
    /// How the output of one batch was delivered: <paramref name="latencyNs"/> from leaving the program to being taken
    /// downstream, or <paramref name="failed"/> (a downstream breaker opened). Tremor's contraflow, for qos operators.
    /// </summary>
    void Delivered(ulong latencyNs, bool failed, ulong nowNs)
    {
    }

    /// <summary>The program asks its upstream to pause (<c>qos::backpressure</c> with <c>method = "pause"</c> backing off).</summary>
    bool PausesUpstream => false;

    /// <summary>
    /// The whole batch went to <c>out</c> unchanged, when the program can say so without looking at events
    /// (lets the actor forward the batch without copying).
    /// </summary>
    bool IsPassthrough { get; }
}

/// <summary>Forwards every event from <c>in</c> to <c>out</c>.</summary>
internal sealed class PassthroughProgram : IPipelineProgram
{
    /// <inheritdoc />
    public bool IsPassthrough => true;

    /// <inheritdoc />
    public void Process(string port, Event[] events, IPipelineOutput output)
    {
        foreach (var e in events) output.Emit("out", e);
    }
}

/// <summary>A pipeline written in the query language (Tremor.Script): compiled once, run per batch.</summary>
internal sealed class QueryProgram(QueryInstance instance) : IPipelineProgram
{
    private readonly Adapter _adapter = new();

    /// <inheritdoc />
    public bool IsPassthrough => false;

    /// <inheritdoc />
    public TimeSpan? TickInterval => instance.TickInterval;

    /// <inheritdoc />
    public long ErrorCount => instance.ErrorCount;

    /// <inheritdoc />
    public bool PausesUpstream => instance.PausesUpstream;

    /// <inheritdoc />
    public void Delivered(ulong latencyNs, bool failed, ulong nowNs) => instance.Delivered(latencyNs, failed, nowNs);

    /// <inheritdoc />
    public void Process(string port, Event[] events, IPipelineOutput output)
    {
        _adapter.Output = output;
        instance.Process(port, events, Connectors.RuntimeServices.NowNs(), _adapter);
    }

    /// <inheritdoc />
    public void Tick(ulong nowNs, IPipelineOutput output)
    {
        _adapter.Output = output;
        instance.Tick(nowNs, _adapter);
    }

    /// <inheritdoc />
    public void Finish(ulong nowNs, IPipelineOutput output)
    {
        _adapter.Output = output;
        instance.Finish(nowNs, _adapter);
    }

    private sealed class Adapter : IQueryOutput
    {
        public IPipelineOutput Output { get; set; } = null!;

        public void Emit(string port, Event e) => Output.Emit(port, e);
    }
}

/// <summary>Makes the program of a pipeline spec.</summary>
internal static class PipelinePrograms
{
    /// <summary>The program for <paramref name="spec"/>, or a <see cref="ConfigException"/> naming its key.</summary>
    public static IPipelineProgram Create(PipelineSpec spec) => spec.Type switch
    {
        "passthrough" => new PassthroughProgram(),
        "query" => new QueryProgram(Compile(spec).Instantiate()),
        _ => throw new ConfigException($"{spec.Path}.type", $"unknown pipeline type '{spec.Type}'; use passthrough, or give a query (query = \"\"\"...\"\"\" or query-file = ...)"),
    };

    /// <summary>Compiles the pipeline's query (from <c>query</c> or <c>query-file</c>); errors name the key or file, line and column.</summary>
    public static Query Compile(PipelineSpec spec)
    {
        string source;
        string origin;
        if (spec.Config.GetOptionalString("query-file") is { } file)
        {
            origin = Path.GetFullPath(file);
            if (!File.Exists(origin)) throw new ConfigException($"{spec.Path}.query-file", $"no such file: {origin}");
            source = File.ReadAllText(origin);
        }
        else
        {
            origin = $"{spec.Path}.query";
            source = spec.Config.GetOptionalString("query") ?? throw new ConfigException(spec.Path, "a query pipeline needs query = \"\"\"...\"\"\" or query-file = \"...\"");
        }
        try
        {
            // A troy pipeline's args (converted to `args { }`) are read by `args.NAME` in its selects.
            var args = spec.Config.Raw.TryGetValue("args", out var a) ? a : default;
            return Query.Compile(source, origin, Path.IsPathRooted(origin) ? Path.GetDirectoryName(origin) : null, args);
        }
        catch (ScriptException e)
        {
            var where = $"{origin}:{e.Line}:{e.Column}";
            throw new ConfigException(where, e.Message.StartsWith(where + ":", StringComparison.Ordinal) ? e.Message[(where.Length + 1)..].TrimStart() : e.Message);
        }
    }
}
