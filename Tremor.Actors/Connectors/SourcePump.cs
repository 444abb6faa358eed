using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>What a <see cref="SourcePump"/> sends, and to whom: the connector actor implements it with its outlets and its plugin proxy.</summary>
internal interface IPumpPorts
{
    /// <summary>True when <paramref name="port"/> is linked to anything.</summary>
    bool IsLinked(string port);

    /// <summary>True when every downstream of <paramref name="port"/> can take one more batch.</summary>
    bool HasCredit(string port);

    /// <summary>Every downstream can take one more batch and no circuit breaker holds the source back.</summary>
    bool MayPull { get; }

    /// <summary>Whether the connector's lifecycle state lets the source be pulled.</summary>
    PullGate Gate { get; }

    /// <summary>Sends a batch to every downstream of a linked <paramref name="port"/>, spending a credit each.</summary>
    void Send(string port, Event[] events, long[]? weights);

    /// <summary>A batch for a port that is not linked: nowhere to go.</summary>
    void Unlinked(string port, Event[] events, long[]? weights);

    /// <summary>Asks the plugin instance for one pull.</summary>
    void Pull(int capacity, CancellationToken cancel);

    /// <summary>The last step of a source's drain: the instance stops its streams, no pull follows.</summary>
    void StopSource();

    /// <summary>Tells every downstream the stream ended.</summary>
    void EndOfStream();

    /// <summary>The source side sent its last event: the flow hears of it.</summary>
    void SourceFinished();
}

/// <summary>When the pump may pull: what the connector's lifecycle state says.</summary>
internal enum PullGate
{
    /// <summary>Not running (connecting, paused, restarting, swapping, failed): no pull.</summary>
    Closed,

    /// <summary>Running: pull while every downstream grants credit.</summary>
    Open,

    /// <summary>Draining: only a source that hands over what it already accepted is pulled, until a pull brings nothing.</summary>
    Draining,
}

/// <summary>What to do after a pull came back (see <see cref="SourcePump.Pulled"/>).</summary>
internal enum PullOutcome
{
    /// <summary>Pull again as soon as credit allows.</summary>
    Pull,

    /// <summary>The source had nothing: pull again after a short pause.</summary>
    PullLater,

    /// <summary>Draining and nothing more came: stop the source's streams.</summary>
    Stop,

    /// <summary>The source finished its data.</summary>
    Finish,
}

/// <summary>
/// The emitting side of a connector: pulls its source's plugin instance, one pull at a time, while every downstream
/// grants credit and the lifecycle lets it (<see cref="IPumpPorts.Gate"/>), and keeps what a pull decoded until each batch's port
/// has credit: a pull can bring more than one batch's worth (a 64 KiB chunk of lines), and no link takes more than its
/// credits. What the sink side quarantines to the err port waits in the same queue. A pull waiting for input (a server
/// with no traffic) holds the one instance, so anything else for the instance cuts it short
/// (<see cref="InterruptPull"/>) and it is taken up again after. Plain, so it is tested without actors.
/// </summary>
internal sealed class SourcePump(int batchSize, IPumpPorts ports)
{
    private readonly Queue<(string Port, Event[] Events, long[]? Weights)> _ready = new();
    private CancellationTokenSource _cancel = new();
    private bool _interrupted;
    private bool _pullSentWhileDraining;
    private bool _stopSent;
    private bool _finishWhenSent;
    private bool _endWhenSent;

    /// <summary>A pull is with the instance.</summary>
    public bool Pulling { get; private set; }

    /// <summary>The source sent its last event (or the connector has no source side).</summary>
    public bool Finished { get; private set; }

    /// <summary>The plugin instance's source wants acks (what it said once created).</summary>
    public bool Transactional { get; private set; }

    /// <summary>The plugin instance's source hands over what it already accepted when drained.</summary>
    public bool PullsWhileDraining { get; private set; }

    /// <summary>Events pulled (or quarantined) and waiting for credit downstream.</summary>
    public long WaitingEvents => _ready.Sum(r => (long)r.Events.Length);

    /// <summary>A new plugin instance exists; what its source says of itself.</summary>
    public void InstanceCreated(bool transactional, bool pullsWhileDraining)
    {
        Transactional = transactional;
        PullsWhileDraining = pullsWhileDraining;
    }

    /// <summary>The plugin instance is gone: nothing it was asked will be answered.</summary>
    public void InstanceGone()
    {
        Pulling = false;
        _interrupted = false;
        _stopSent = false;
    }

    /// <summary>The connector has no source side: it finishes at once.</summary>
    public void NoSource()
    {
        Finished = true;
        ports.SourceFinished();
    }

    /// <summary>Pulls once if the lifecycle, the downstreams and what waits allow it.</summary>
    public void TryPull()
    {
        if (Finished || Pulling || _stopSent) return;
        var gate = ports.Gate;
        if (gate == PullGate.Closed || gate == PullGate.Draining && !PullsWhileDraining) return;
        // What the last pull brought leaves first: no link takes more than its credits.
        if (_ready.Count > 0 || !ports.MayPull) return;
        Pulling = true;
        _pullSentWhileDraining = gate == PullGate.Draining;
        if (_cancel.IsCancellationRequested) _cancel = new CancellationTokenSource();
        ports.Pull(batchSize, _cancel.Token);
    }

    /// <summary>One instance, one call at a time: a pull waiting for input is cut short; it is taken up again after what needs the instance.</summary>
    public void InterruptPull()
    {
        if (!Pulling || _interrupted) return;
        _interrupted = true;
        _cancel.Cancel();
    }

    /// <summary>Cuts a pull short for good (a drain, a lost peer, a swap, the connector stopping): it is not taken up again.</summary>
    public void CancelPull() => _cancel.Cancel();

    /// <summary>
    /// A pull came back with <paramref name="events"/> (their ack <paramref name="weights"/>) and <paramref name="errors"/>:
    /// they are sent as credit allows, and the answer says what comes next.
    /// </summary>
    public PullOutcome Pulled(Event[] events, long[]? weights, Event[] errors, PullStatus status)
    {
        Pulling = false;
        var interrupted = _interrupted;
        _interrupted = false;
        var brought = events.Length > 0 || errors.Length > 0;
        Enqueue("out", events, weights);
        if (errors.Length > 0) Enqueue("err", errors, null);
        SendWaiting();
        if (status == PullStatus.Finished) return PullOutcome.Finish;
        if (ports.Gate == PullGate.Draining)
        {
            // Pull on while pulls bring something; a pull sent before the drain hook ran, or cut short for a sink
            // batch or a hook, does not count as the last.
            return PullsWhileDraining && (brought || !_pullSentWhileDraining || interrupted) ? PullOutcome.Pull : PullOutcome.Stop;
        }
        return status == PullStatus.Empty && !brought && !interrupted ? PullOutcome.PullLater : PullOutcome.Pull;
    }

    /// <summary>Queues <paramref name="events"/> for <paramref name="port"/>, cut into batches of at most batch-size.</summary>
    public void Enqueue(string port, Event[] events, long[]? weights)
    {
        for (var from = 0; from < events.Length; from += batchSize)
        {
            _ready.Enqueue((port, Batches.Slice(events, from, batchSize), Batches.Slice(weights, from, batchSize)));
        }
    }

    /// <summary>Sends the batches that wait, in order, while their port's downstreams grant credit.</summary>
    public void SendWaiting()
    {
        while (_ready.TryPeek(out var next))
        {
            if (ports.IsLinked(next.Port))
            {
                if (!ports.HasCredit(next.Port)) return;
                ports.Send(next.Port, next.Events, next.Weights);
            }
            else
            {
                ports.Unlinked(next.Port, next.Events, next.Weights);
            }
            _ready.Dequeue();
        }
        if (_finishWhenSent) Finish();
        if (_endWhenSent)
        {
            _endWhenSent = false;
            ports.EndOfStream();
        }
    }

    /// <summary>The last step of a source's drain: no pull after it.</summary>
    public void Stop()
    {
        _stopSent = true;
        ports.StopSource();
    }

    /// <summary>The source ends: once what waits was sent, every downstream hears the end of the stream.</summary>
    public void Finish()
    {
        if (Finished) return;
        if (_ready.Count > 0)
        {
            // The end of the stream goes after the last batch.
            _finishWhenSent = true;
            return;
        }
        _finishWhenSent = false;
        Finished = true;
        ports.EndOfStream();
        ports.SourceFinished();
    }

    /// <summary>A sink-only connector's sink drained: its err port (quarantined events) ends after what waits on it.</summary>
    public void EndWithoutSource()
    {
        if (_ready.Count > 0) _endWhenSent = true;
        else ports.EndOfStream();
    }
}
