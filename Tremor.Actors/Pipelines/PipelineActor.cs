using Akka.Actor;
using Tremor.Actors.Configuration;
using Tremor.Actors.Links;
using Tremor.Actors.Metrics;
using Tremor.Pdk;

namespace Tremor.Actors.Pipelines;

/// <summary>
/// Runs one pipeline: takes batches from its upstreams, runs the program, sends the output on, and grants credit
/// back only once the output of a batch has left, so a slow downstream slows the upstream. Its upstreams share one
/// budget of credit (<see cref="InputCredits{TUpstream}"/>), held to what the downstream takes now plus one batch.
/// </summary>
internal sealed class PipelineActor : ReceiveActor, IWithTimers
{
    private readonly PipelineSpec _spec;
    private readonly IPipelineProgram _program;
    private readonly DataPathSettings _dataPath;
    private readonly Flows.DeliveryLedger? _ledger;
    private readonly Outlets _outlets = new();
    private readonly HashSet<IActorRef> _upstreams = [];
    // One budget of `credits` batches for all upstreams together: two inputs queue no more in front of the
    // downstream than one does; and no more than the downstream takes now plus the batch in hand, so in front of a
    // slow sink the queue is the sink's, not the sink's and this pipeline's (the window is one budget, not two).
    private readonly InputCredits<IActorRef> _credits;
    private readonly HashSet<IActorRef> _ended = [];
    private readonly Connectors.RuntimeServices? _services;
    private readonly Queue<(IActorRef From, List<(string Port, Event[] Events, long[]? Weights)> Output, ulong EnqueuedNs)> _pending = new();
    // How far the head of _pending was sent: a window or an expanding script can emit more than batch-size events for
    // one input batch, and that output leaves in batches of at most batch-size, each paid with a credit.
    private int _headPort;
    private int _headOffset;
    private readonly Collector _collector = new();
    private readonly CircuitBreakers _breakers = new();
    // Counters live where a /metrics scrape reads them without asking this actor.
    private readonly PipelineMetrics _metrics;
    private long _dropped;
    private bool _finished;
    private bool _programFinished;
    // Whether the program's own pause (qos::backpressure, method = "pause") holds the upstream breaker open.
    private bool _programPaused;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record TickNow;

    /// <summary>Ask for a <see cref="Status"/>.</summary>
    public sealed record GetStatus;

    /// <summary>A pipeline's counters.</summary>
    public sealed record Status(string Alias, long EventsIn, long EventsOut, long Dropped, int Pending, long Errors);

    /// <summary>Props for a pipeline of <paramref name="spec"/> running <paramref name="program"/>.</summary>
    /// <remarks>What it still holds when it stops is reported to <paramref name="ledger"/>.</remarks>
    /// <remarks>The ack weight of a transactional event the program drops goes back to its source through <paramref name="services"/>.</remarks>
    public static Props Props(PipelineSpec spec, IPipelineProgram program, DataPathSettings dataPath, Flows.DeliveryLedger? ledger = null, Connectors.RuntimeServices? services = null) =>
        Akka.Actor.Props.Create(() => new PipelineActor(spec, program, dataPath, ledger, services));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public PipelineActor(PipelineSpec spec, IPipelineProgram program, DataPathSettings dataPath, Flows.DeliveryLedger? ledger, Connectors.RuntimeServices? services)
    {
        _ledger = ledger;
        _services = services;
        _spec = spec;
        _program = program;
        _dataPath = dataPath;
        _metrics = RuntimeMetrics.Get(Context.System).RegisterPipeline(spec.Alias);
        _credits = new InputCredits<IActorRef>(dataPath.Credits, static (upstream, batches) => upstream.Tell(new Credit(batches)), () => _outlets.FewestCredits);

        Receive<LinkOutput>(l => _outlets.Add(l));
        Receive<LinkInput>(l =>
        {
            _upstreams.Add(l.Upstream);
            _credits.Link(l.Upstream);
        });
        Receive<EventBatch>(OnBatch);
        Receive<Credit>(c =>
        {
            _outlets.Grant(Sender, c.Batches);
            Flush();
            _credits.RoomChanged();
        });
        Receive<EndOfStream>(_ =>
        {
            _ended.Add(Sender);
            _credits.Ended(Sender);
            CheckFinished();
        });
        Receive<CircuitBreaker>(m =>
        {
            // A downstream that lost its peer is a failed delivery to the program's qos operators; one that is back, a good one.
            _program.Delivered(0, failed: m.Open, Connectors.RuntimeServices.NowNs());
            // A pipeline buffers nothing of its own beyond a batch: it passes the breaker on to whatever feeds it.
            if (_breakers.Apply(m, Sender))
            {
                foreach (var upstream in _upstreams) upstream.Tell(m);
            }
            _metrics.CircuitBreakerOpen = _breakers.IsOpen;
            ApplyProgramPause();
        });
        Receive<GetStatus>(_ => Sender.Tell(new Status(_spec.Alias, _metrics.EventsIn, _metrics.EventsOut, _dropped, _pending.Count, _program.ErrorCount)));
        Receive<TickNow>(_ =>
        {
            if (_programFinished) return;
            _collector.Clear();
            var now = Connectors.RuntimeServices.NowNs();
            _program.Tick(now, _collector);
            ApplyProgramPause();
            var output = _collector.Drain();
            if (output.Count == 0) return;
            // Output made by time, not by an upstream batch: no upstream gets credit for it. Its events' sources were
            // acknowledged when the window took them (see AssignWeights): it carries no ack weight.
            _pending.Enqueue((ActorRefs.Nobody, output, now));
            Flush();
        });
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_program.TickInterval is { } interval) Timers.StartPeriodicTimer("tick", new TickNow(), interval);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Output waiting for credit is lost with this actor (a drain that timed out): counted, not silent.
        ReportTally();
        RuntimeMetrics.Get(Context.System).Unregister(_metrics);
    }

    private void ReportTally()
    {
        var held = _pending.Sum(p => p.Output.Sum(o => (long)o.Events.Length));
        _ledger?.Report(Self, new Flows.DeliveryTally(_spec.Alias, Emitted: 0, Received: _metrics.EventsIn, Delivered: 0, Failed: 0, Dropped: 0, InFlight: held));
    }

    private void OnBatch(EventBatch batch)
    {
        _metrics.EventsIn += batch.Events.Length;
        _credits.Received(Sender);
        var started = _metrics.TimesBatches ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        List<(string, Event[], long[]?)> output;
        if (_program.IsPassthrough)
        {
            output = [("out", batch.Events, batch.Weights)];
            if (batch.Weights is { } dropped && !_outlets.IsLinked("out")) ReturnWeights(batch.Events, dropped, null);
        }
        else
        {
            _collector.Clear();
            _program.Process(batch.Port, batch.Events, _collector);
            output = _collector.Drain();
            if (batch.Weights is { } weights) AssignWeights(batch.Events, weights, output);
        }
        if (started != 0) _metrics.RecordBatch(started);
        _pending.Enqueue((Sender, output, Connectors.RuntimeServices.NowNs()));
        Flush();
    }

    /// <summary>The program's pause joins the downstream breakers: the upstream hears of it when the overall state changes.</summary>
    private void ApplyProgramPause()
    {
        var pause = _program.PausesUpstream;
        if (pause == _programPaused) return;
        _programPaused = pause;
        var changed = _breakers.Apply(new CircuitBreaker(pause, ""), Self);
        _metrics.CircuitBreakerOpen = _breakers.IsOpen;
        if (!changed) return;
        var message = new CircuitBreaker(_breakers.IsOpen, $"pipeline {_spec.Alias}: qos::backpressure {(pause ? "backing off" : "recovered")}");
        foreach (var upstream in _upstreams) upstream.Tell(message);
    }

    /// <summary>
    /// Hands each transactional input's ack weight on to what the program made of it: the output events that carry its
    /// id (a script's result, copies on several ports) share it. An input nothing came out of was dropped on purpose (a
    /// where clause, <c>drop</c>, a port nothing is linked to) or taken into a window or batch, whose state lives in
    /// memory and whose output carries only its last event's id: its weight goes back to its source as acknowledged
    /// (as Vector finalizes a dropped event) — unless it went to an unlinked <c>err</c> port: a failed expression is a failure.
    /// </summary>
    private void AssignWeights(Event[] inputs, long[] weights, List<(string Port, Event[] Events, long[]? Weights)> output)
    {
        var owed = new Dictionary<EventId, long>();
        for (var i = 0; i < inputs.Length; i++)
        {
            if (weights[i] > 0) owed[inputs[i].Id] = owed.GetValueOrDefault(inputs[i].Id) + weights[i];
        }
        var copies = new Dictionary<EventId, int>();
        HashSet<EventId>? errored = null;
        foreach (var (port, events, _) in output)
        {
            var linked = _outlets.IsLinked(port);
            foreach (var e in events)
            {
                if (!owed.ContainsKey(e.Id)) continue;
                if (linked) copies[e.Id] = copies.GetValueOrDefault(e.Id) + 1;
                else if (port == "err") (errored ??= []).Add(e.Id);
            }
        }
        for (var o = 0; o < output.Count; o++)
        {
            var (port, events, _) = output[o];
            long[]? shares = null;
            if (_outlets.IsLinked(port))
            {
                for (var j = 0; j < events.Length; j++)
                {
                    var id = events[j].Id;
                    if (!copies.TryGetValue(id, out var left)) continue;
                    var weight = owed[id];
                    // An even share per copy; the last copy takes what is left, so the shares add up to the whole.
                    var share = left == 1 ? weight : weight / left;
                    owed[id] = weight - share;
                    copies[id] = left - 1;
                    (shares ??= new long[events.Length])[j] = share;
                }
            }
            output[o] = (port, events, shares);
        }
        List<(EventId, long)>? acked = null;
        List<(EventId, long)>? failed = null;
        foreach (var (id, weight) in owed)
        {
            if (weight <= 0 || copies.ContainsKey(id)) continue;
            if (errored is not null && errored.Contains(id)) (failed ??= []).Add((id, weight));
            else (acked ??= []).Add((id, weight));
        }
        if (acked is not null) ReturnWeights(acked, failed: null);
        if (failed is not null) ReturnWeights(failed, failed: "an expression failed and the pipeline's err port is not linked");
    }

    private void ReturnWeights(Event[] events, long[] weights, string? failed) =>
        ReturnWeights(Enumerable.Range(0, events.Length).Where(i => weights[i] > 0).Select(i => (events[i].Id, weights[i])).ToList(), failed);

    /// <summary>Gives ack weight back to the sources (acknowledged, or failed with the reason).</summary>
    private void ReturnWeights(List<(EventId Id, long Weight)> returned, string? failed)
    {
        if (_services is null) return;
        foreach (var group in returned.GroupBy(r => r.Id.SourceId))
        {
            var source = _services.Source(group.Key);
            if (source is null) continue;
            var ids = group.Select(r => r.Id).ToArray();
            var weights = group.Select(r => r.Weight).ToArray();
            source.Tell(failed is null ? new Connectors.ConnectorActor.AckEvents(ids, weights) : new Connectors.ConnectorActor.FailEvents(ids, weights, failed));
        }
    }

    private void Flush()
    {
        while (_pending.Count > 0)
        {
            var (from, output, enqueuedNs) = _pending.Peek();
            for (; _headPort < output.Count; _headPort++, _headOffset = 0)
            {
                var (port, events, weights) = output[_headPort];
                while (_headOffset < events.Length)
                {
                    if (!_outlets.HasCredit(port)) return;
                    var batch = Batches.Slice(events, _headOffset, _dataPath.BatchSize);
                    if (_outlets.Send(port, batch, Self, Batches.Slice(weights, _headOffset, _dataPath.BatchSize))) _metrics.EventsOut += batch.Length;
                    else _dropped += batch.Length;
                    _headOffset += batch.Length;
                }
            }
            _pending.Dequeue();
            _headPort = 0;
            _headOffset = 0;
            if (!from.IsNobody())
            {
                // How long the downstream took to take this batch's output: what qos operators react to.
                var now = Connectors.RuntimeServices.NowNs();
                _program.Delivered(now > enqueuedNs ? now - enqueuedNs : 0, failed: false, now);
                _credits.Released(from);
            }
        }
        ApplyProgramPause();
        _metrics.Errors = _program.ErrorCount;
        CheckFinished();
    }

    private void CheckFinished()
    {
        if (_finished || _pending.Count > 0 || _ended.Count < _upstreams.Count || _upstreams.Count == 0) return;
        if (!_programFinished)
        {
            // Every upstream ended: open windows emit what they hold, then the stream ends downstream.
            _programFinished = true;
            Timers.Cancel("tick");
            _collector.Clear();
            _program.Finish(Connectors.RuntimeServices.NowNs(), _collector);
            var output = _collector.Drain();
            if (output.Count > 0)
            {
                _pending.Enqueue((ActorRefs.Nobody, output, Connectors.RuntimeServices.NowNs()));
                Flush();
                return;
            }
        }
        _finished = true;
        _outlets.EndAll(Self);
        ReportTally();
    }

    private sealed class Collector : IPipelineOutput
    {
        private readonly Dictionary<string, List<Event>> _byPort = new(StringComparer.Ordinal);

        public void Emit(string port, Event e)
        {
            if (!_byPort.TryGetValue(port, out var list))
            {
                list = [];
                _byPort[port] = list;
            }
            list.Add(e);
        }

        public void Clear()
        {
            foreach (var list in _byPort.Values) list.Clear();
        }

        /// <summary>What was emitted, per port; no ack weights yet (see AssignWeights).</summary>
        public List<(string, Event[], long[]?)> Drain()
        {
            var result = new List<(string, Event[], long[]?)>(_byPort.Count);
            foreach (var (port, list) in _byPort)
            {
                if (list.Count > 0) result.Add((port, list.ToArray(), null));
            }
            return result;
        }
    }
}
