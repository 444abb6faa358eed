using Tremor.Pdk;
using Tremor.Script.Compilation;
using Tremor.Script.Operators;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script;

/// <summary>
/// One running copy of a <see cref="Query"/> with its own windows, script state and operator state.
/// Not thread-safe: one pipeline instance drives it from one thread at a time.
/// </summary>
public sealed class QueryInstance
{
    private readonly Query _query;
    private readonly IOperatorInstance[] _nodes;
    private readonly Outlet[] _outlets;
    private readonly Dictionary<string, SelectRunner[]> _inputs = new(StringComparer.Ordinal);
    private readonly Outlet _pipelineOutlet;
    private IQueryOutput? _output;
    private ulong _nowNs;
    private long _errorCount;

    internal QueryInstance(Query query)
    {
        _query = query;
        _nodes = query.Nodes.Select(n => n.Create()).ToArray();
        var runners = query.Selects.Select(s => new SelectRunner(s, this)).ToArray();
        _outlets = new Outlet[_nodes.Length];
        for (var i = 0; i < _nodes.Length; i++)
        {
            var node = i;
            var byPort = runners.Where(r => r.Plan.From.Node == node).GroupBy(r => r.Plan.From.Port)
                .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
            _outlets[i] = new Outlet(this, byPort);
        }
        foreach (var g in runners.Where(r => r.Plan.From.Node < 0).GroupBy(r => r.Plan.From.Port)) _inputs[g.Key] = g.ToArray();
        _pipelineOutlet = new Outlet(this, []);
        var intervals = query.Selects.SelectMany(s => s.Windows).Where(w => w.IntervalNs > 0).Select(w => TimeSpan.FromTicks((long)Math.Max(1, w.IntervalNs / 100 / 4)))
            .Concat(_nodes.Select(n => n.TickInterval).OfType<TimeSpan>()).ToList();
        TickInterval = intervals.Count > 0 ? intervals.Min() : null;
        Runners = runners;
    }

    internal SelectRunner[] Runners { get; }

    internal Source Source => _query.Source;

    /// <summary>How often <see cref="Tick"/> is wanted (a quarter of the shortest interval window or batch timeout); null: never.</summary>
    public TimeSpan? TickInterval { get; }

    /// <summary>Events sent to <c>err</c> because an expression or operator failed on them.</summary>
    public long ErrorCount => _errorCount;

    /// <summary>Runs <paramref name="events"/> arriving on pipeline input <paramref name="inPort"/> through the query.</summary>
    public void Process(string inPort, Event[] events, ulong nowNs, IQueryOutput output)
    {
        _output = output;
        _nowNs = nowNs;
        if (!_inputs.TryGetValue(inPort, out var runners)) return;
        foreach (var e in events)
        {
            foreach (var r in runners) r.Process(e, nowNs);
        }
    }

    /// <summary>Closes interval windows and batch timeouts that are due by <paramref name="nowNs"/>.</summary>
    public void Tick(ulong nowNs, IQueryOutput output)
    {
        _output = output;
        _nowNs = nowNs;
        foreach (var r in Runners) r.Tick(nowNs);
        for (var i = 0; i < _nodes.Length; i++) _nodes[i].Tick(nowNs, _outlets[i]);
    }

    /// <summary>Shutdown: emits what open windows and batches hold, upstream before downstream.</summary>
    public void Finish(ulong nowNs, IQueryOutput output)
    {
        _output = output;
        _nowNs = nowNs;
        // Selects on pipeline inputs first, then each node followed by the selects reading it: a flush upstream
        // reaches windows downstream before those are flushed themselves.
        foreach (var r in Runners.Where(r => r.Plan.From.Node < 0)) r.Finish(nowNs);
        for (var i = 0; i < _nodes.Length; i++)
        {
            _nodes[i].Finish(nowNs, _outlets[i]);
            foreach (var r in Runners.Where(r => r.Plan.From.Node == i)) r.Finish(nowNs);
        }
    }

    internal void Deliver(Endpoint into, Event e)
    {
        if (into.Node < 0) _output!.Emit(into.Port, e);
        else _nodes[into.Node].Process(e, _nowNs, _outlets[into.Node]);
    }

    internal void Error(Event e, RuntimeError error) => Error(e, Format(error));

    internal string Format(RuntimeError error) => Source.Describe(error.Pos, error.Message, error.Hint);

    /// <summary>The event goes to the pipeline's <c>err</c> in Tremor's error shape (see <see cref="ErrorEvent"/>).</summary>
    internal void Error(Event e, string message) => _pipelineOutlet.Error(e, message);

    /// <summary>
    /// Tremor's shape of an event that failed: <c>{"error": message, "event": the data it had}</c>, same id, metadata
    /// untouched, so a select on <c>err</c> sees why and what, and nothing accepted is lost.
    /// </summary>
    internal static Event ErrorEvent(Event e, string message)
    {
        var data = new ValueRecord(2);
        data.Append("error", Value.From(message));
        data.Append("event", e.Data);
        return new Event { Id = e.Id, IngestNs = e.IngestNs, Transactional = e.Transactional, Data = Value.From(data), Meta = e.Meta };
    }

    private sealed class Outlet(QueryInstance owner, Dictionary<string, SelectRunner[]> byPort) : IEmitter
    {
        public void Emit(string port, Event e)
        {
            if (byPort.TryGetValue(port, out var runners))
            {
                foreach (var r in runners) r.Process(e, owner._nowNs);
            }
            // An error nobody selects must not vanish: it goes to the pipeline's err.
            else if (port == "err") owner._output!.Emit("err", e);
        }

        public void Error(Event e, string message)
        {
            owner._errorCount++;
            Emit("err", ErrorEvent(e, message));
        }
    }
}
