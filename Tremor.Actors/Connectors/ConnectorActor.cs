using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Event;
using Tremor.Actors.Configuration;
using Tremor.Actors.Links;
using Tremor.Actors.Metrics;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>The lifecycle states of a connector.</summary>
public enum ConnectorState
{
    /// <summary>Created, links being set up.</summary>
    Initializing,
    /// <summary>Connecting (with retry, when configured).</summary>
    Connecting,
    /// <summary>Moving events.</summary>
    Running,
    /// <summary>Paused: the source does not pull, the sink does not deliver.</summary>
    Paused,
    /// <summary>Plugin instance failed; waiting for the backoff before re-creating it.</summary>
    Restarting,
    /// <summary>Finishing what is in flight, pulling nothing new.</summary>
    Draining,
    /// <summary>Failed for good: past the restart limit, or could not connect.</summary>
    Failed,
    /// <summary>Its plugin is being hot-swapped: the old instance hands over what it holds, then a new one is created.</summary>
    Swapping,
}

/// <summary>
/// One running connector: a state machine over its lifecycle (initializing → connecting → running ⇄ paused →
/// draining, or failed), the source side (pulls while every downstream grants credit), the sink side (one batch in
/// the plugin at a time, kept in an outbox until the plugin answers), and supervision of its plugin proxy with
/// exponential backoff and a restart limit.
/// </summary>
public sealed class ConnectorActor : ReceiveActor, IWithTimers
{
    private readonly ConnectorSpec _spec;
    // A box, not the factory: Props keep their arguments for the actor's life, and a hot swap must not keep the old
    // plugin's load context reachable through them.
    private readonly StrongBox<IConnectorFactory> _provider;
    private readonly PluginCatalog _catalog;
    private readonly RuntimeServices _services;
    private readonly DataPathSettings _dataPath;
    private readonly IActorRef _flow;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Outlets _outlets = new();
    private readonly HashSet<IActorRef> _upstreams = [];
    private readonly HashSet<IActorRef> _ended = [];
    private readonly LinkedList<Outgoing> _queue = new();
    private readonly List<DateTime> _restartTimes = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Random _random = new();
    private readonly CircuitBreakers _breakers = new();
    private CancellationTokenSource _pullCancel = new();
    private ConnectorState _state = ConnectorState.Initializing;
    private SourceDecoder? _decoder;
    private SinkEncoder? _encoder;
    private IActorRef? _proxy;
    private uint _sourceId;
    private bool _sourceActive;
    private bool _sinkActive;
    private bool _pulling;
    private bool _sourceFinished;
    private bool _sinkEnding;
    private bool _sinkDrained;
    private bool _sinkEndDone; // the sink's end hook ran; drained once its asynchronous settlements are in too
    private bool _heldFlushed; // the postprocessors let go of what they held at the end of the stream
    private Outgoing? _inFlight;
    private long _deliverySequence;
    private int _consecutiveFailures;
    // Counters live where a /metrics scrape reads them without asking this actor.
    private readonly ConnectorMetrics _metrics;
    private long _rejectedUnlinked; // input the decoder rejected, on an unlinked err port: never accepted, so not lost
    private long _delivered; // sink side: acknowledged by the plugin
    private long _failed; // sink side: failed (by the plugin, the encoder, or because the connector failed) with no transactional source to hear of it: lost
    private long _failedBack; // sink side: failed and told to its transactional source (which replays it or tells its peer)
    private long _pendingAsync; // sink side: handed to an asynchronous sink, not settled yet
    private string? _lastError;
    private bool _pausedWhenLost;
    private readonly bool _isolated;
    private string? _lostReason; // set while reconnecting after the plugin reported its peer gone
    private bool _pullInterrupted;
    private bool _pullSentWhileDraining;
    private bool _sourceStopSent;
    private bool _transactional; // what the plugin instance says of its source side (PluginProxy.InstanceCreated)
    private bool _pullsWhileDraining;
    // Decoded batches waiting for credit: a pull can bring more than one batch's worth (a 64 KiB chunk of lines).
    private readonly Queue<(string Port, Event[] Events, long[]? Weights)> _ready = new();
    // Source side: what a transactional source's pulls still wait for (acks from every sink their events reached).
    private readonly AckLedger _acks = new();
    private readonly List<EventId> _settledAcks = [];
    private readonly List<EventId> _settledFails = [];
    // Sink side: the ack weights of events an asynchronous sink has not settled yet (only events owed an ack).
    private readonly Dictionary<EventId, long> _asyncWeights = [];
    private readonly HashSet<EventId> _settledEarly = []; // settled by the plugin during the call in flight, before its reply
    private bool _finishWhenSent;
    private bool _endWhenSent; // a sink-only connector's err port ends once what waits on it was sent
    private readonly LogRateLimit _unlinkedErrors = new(UnlinkedErrorsBurst, UnlinkedErrorsInterval);
    private int _instances;
    private PendingSwap? _swap;
    private bool _pausedAtSwap;

    /// <summary>Start connecting and moving events (after every link was set up).</summary>
    public sealed record Start;

    /// <summary>Stop pulling / delivering until <see cref="Resume"/>.</summary>
    public sealed record Pause;

    /// <summary>Go on after <see cref="Pause"/>.</summary>
    public sealed record Resume;

    /// <summary>Pull nothing new; flush, pass end-of-stream downstream, finish delivering.</summary>
    public sealed record Drain;

    /// <summary>Ask for a <see cref="Status"/>.</summary>
    public sealed record GetStatus;

    /// <summary>A connector's state and counters; <paramref name="CircuitBreakerOpen"/> while a downstream sink that lost its peer holds this source back.</summary>
    public sealed record Status(string Alias, string Type, ConnectorState State, int Restarts, long EventsIn, long EventsOut, long Errors, long Dropped, string? LastError, bool CircuitBreakerOpen = false);

    /// <summary>The plugin lost its peer (<see cref="IPluginHost.ConnectionLost"/>): reconnect, holding the sources upstream back meanwhile.</summary>
    public sealed record ConnectionLost(string Reason);

    /// <summary>Reported to the flow on every state change.</summary>
    public sealed record StateChanged(string Alias, ConnectorState State, string? Reason);

    /// <summary>Reported to the flow: the source side sent its last event (or has none).</summary>
    public sealed record SourceFinished(string Alias);

    /// <summary>Reported to the flow: the sink side delivered everything it will get (or has none).</summary>
    public sealed record SinkDrained(string Alias);

    /// <summary>Sink or pipeline → source: these copies of events were delivered (or dropped), with their ack weights.</summary>
    public sealed record AckEvents(EventId[] Ids, long[] Weights);

    /// <summary>Sink or pipeline → source: these copies of events failed, with their ack weights.</summary>
    public sealed record FailEvents(EventId[] Ids, long[] Weights, string Reason);

    /// <summary>An asynchronous sink answered for events through the host.</summary>
    public sealed record SinkAsyncReply(EventId[] Ids, string? Error);

    /// <summary>
    /// Hot swap: replace the plugin instance by one from <paramref name="Factory"/> (the new version of its plugin). The
    /// current instance hands over what it holds (a source what it read, a sink the batch it was given) and is disposed;
    /// the links, the batches not yet handed to the plugin (the outbox) and the counters stay. Answered with <see cref="InstanceReplaced"/> once the old instance is gone.
    /// </summary>
    public sealed record ReplaceInstance(IConnectorFactory Factory);

    /// <summary>The old plugin instance was disposed and (unless the connector is not running) a new one created.</summary>
    public sealed record InstanceReplaced(string Alias);

    private sealed record SwapTimedOut
    {
        public static SwapTimedOut Instance { get; } = new();
    }

    private sealed record RetryConnect(int Attempt);

    private sealed record RecreateProxy;

    private sealed record PullAgain;

    private sealed record PreviousInstanceStopped;

    private sealed record LogUnlinkedErrors;

    /// <summary>A postprocessor's hold ran out (<c>collect</c>'s <c>max-wait</c>): what it holds goes to the sink.</summary>
    private sealed record FlushHeld
    {
        public static FlushHeld Instance { get; } = new();
    }

    /// <summary>Errors on an unlinked err port logged one by one per interval, before the rest is summed up.</summary>
    private const int UnlinkedErrorsBurst = 10;

    private static readonly TimeSpan UnlinkedErrorsInterval = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for a connector of <paramref name="spec"/> whose plugin factory is <paramref name="factory"/>; reports go to <paramref name="flow"/>.</summary>
    public static Props Props(ConnectorSpec spec, IConnectorFactory factory, PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, IActorRef flow) =>
        Akka.Actor.Props.Create(() => new ConnectorActor(spec, new StrongBox<IConnectorFactory>(factory), catalog, services, dataPath, flow));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public ConnectorActor(ConnectorSpec spec, StrongBox<IConnectorFactory> provider, PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, IActorRef flow)
    {
        _spec = spec;
        _provider = provider;
        _catalog = catalog;
        _services = services;
        _dataPath = dataPath;
        _flow = flow;
        _metrics = RuntimeMetrics.Get(Context.System).RegisterConnector(spec.Alias, spec.Type, provider.Value!.Kinds, catalog.PluginOf(spec.Type));
        _isolated = spec.Isolation.Mode == "process";
        Initializing();
    }

    /// <summary>Plugin failures stop the proxy; this actor re-creates it after a backoff (see <see cref="OnProxyDied"/>).</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, e =>
    {
        _lastError = e is ActorInitializationException { InnerException: { } inner } ? inner.Message : e.Message;
        _metrics.Plugin?.Failed();
        _log.Warning("{0}: plugin failed: {1}", _spec.Alias, _lastError);
        return Directive.Stop;
    }, loggingEnabled: false); // logged once, above, with the connector's name

    /// <summary>The factory instances are created from (replaced by a hot swap).</summary>
    private IConnectorFactory Factory => _provider.Value!;

    private void Initializing()
    {
        Receive<LinkOutput>(l => _outlets.Add(l));
        Receive<Start>(_ => OnStart());
        Common();
    }

    private void OnStart()
    {
        _sourceActive = Factory.Kinds.HasFlag(ConnectorKinds.Source) && (_outlets.IsLinked("out") || _outlets.IsLinked("err"));
        _sinkActive = Factory.Kinds.HasFlag(ConnectorKinds.Sink) && _upstreams.Count > 0;
        var codecSpec = _spec.Codec ?? (Factory.DefaultCodec is { } d ? new ProcessorSpec(d, new PluginConfig($"{_spec.Path}.codec.config", null)) : null);
        if (_sourceActive)
        {
            _sourceId = _services.RegisterSource(Self);
            var codecFactory = codecSpec is null ? null : _catalog.Codec(codecSpec.Name, $"{_spec.Path}.codec");
            var codec = codecFactory?.Create(codecSpec!.Config);
            var secondCodec = codecFactory?.Create(codecSpec!.Config);
            var pre = _spec.Preprocessors.Select((p, i) => (_catalog.Preprocessor(p.Name, $"{_spec.Path}.preprocessors[{i}]"), p.Config)).ToList();
            // Transactional-ness is the plugin's to say; the decoder learns it once the instance exists (see the proxy).
            _decoder = new SourceDecoder(_spec.Alias, _sourceId, transactional: false, codec, pre, secondCodec);
        }
        else
        {
            _sourceFinished = true;
            _flow.Tell(new SourceFinished(_spec.Alias));
        }
        if (_sinkActive)
        {
            var sinkCodec = codecSpec ?? new ProcessorSpec("json", new PluginConfig($"{_spec.Path}.codec.config", null));
            var codec = _catalog.Codec(sinkCodec.Name, $"{_spec.Path}.codec").Create(sinkCodec.Config);
            var post = _spec.Postprocessors.Select((p, i) => (_catalog.Postprocessor(p.Name, $"{_spec.Path}.postprocessors[{i}]"), p.Config)).ToList();
            _encoder = new SinkEncoder(codec, post);
        }
        else
        {
            MarkSinkDrained();
        }
        StartInstance();
    }

    /// <summary>
    /// Creates the plugin instance (through a new proxy) and connects it, once the previous instance of this connector
    /// (a restart, or the same flow deployed again) finished stopping: it may still hold the port or file.
    /// </summary>
    private void StartInstance()
    {
        var previous = _services.InstanceStopped(_spec.Alias);
        if (!previous.IsCompleted)
        {
            previous.ContinueWith(_ => new PreviousInstanceStopped(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).PipeTo(Self);
            Become(() =>
            {
                Receive<PreviousInstanceStopped>(_ => StartInstance());
                Receive<Drain>(_ => _drainRequested = true);
                Common();
            });
            return;
        }
        _sourceStopSent = false; // a stop sent to an instance that died was never answered
        // Pull ids are the instance's own: a new one cannot be told of the last one's pulls (it reads from where the
        // last acknowledged data left off, or its peer delivers again what was not acknowledged).
        _acks.Clear();
        var host = new ConnectorHost(_spec.Alias, _services, _log, Self);
        _proxy = Context.ActorOf(PluginProxy.Props(Factory, new ConnectorContext(host, _spec.Config), _decoder, _services, _metrics, _stopping.Token), $"plugin-{++_instances}");
        Context.Watch(_proxy);
        BecomeConnecting(1);
    }

    private void BecomeConnecting(int attempt)
    {
        SetState(ConnectorState.Connecting, null);
        Become(() =>
        {
            Receive<PluginProxy.Connected>(OnConnected);
            Receive<RetryConnect>(m =>
            {
                _connectAttempt = m.Attempt;
                _proxy?.Tell(new PluginProxy.Connect(m.Attempt));
            });
            Receive<Drain>(_ => BeginDrain());
            Common();
        });
        _connectAttempt = attempt;
        _proxy!.Tell(new PluginProxy.Connect(attempt));
    }

    private int _connectAttempt;
    private bool _drainRequested;
    private int _bisectBudget;

    private void OnConnected(PluginProxy.Connected m)
    {
        if (m.Ok)
        {
            if (_lostReason is not null) Reconnected();
            else if (_pausedAtSwap && !_drainRequested) BecomePaused();
            else BecomeRunning();
            _pausedAtSwap = false;
            return;
        }
        _lastError = m.Error;
        var r = _spec.Reconnect;
        if (!r.Enabled || (r.MaxRetries is { } max && _connectAttempt > max))
        {
            var lost = _lostReason is not null ? $"connection lost ({_lostReason}); " : "";
            Fail($"{lost}could not connect after {_connectAttempt} attempt(s): {m.Error}");
            return;
        }
        var delay = Backoff.Delay(r.Interval, r.MaxInterval, r.Growth, _connectAttempt, r.Jitter, _random.NextDouble());
        _log.Warning("{0}: connect attempt {1} failed ({2}); retrying in {3:0}ms", _spec.Alias, _connectAttempt, m.Error, delay.TotalMilliseconds);
        Timers.StartSingleTimer("reconnect", new RetryConnect(_connectAttempt + 1), delay);
        SetState(ConnectorState.Connecting, $"attempt {_connectAttempt} failed ({m.Error}); next attempt in {delay.TotalMilliseconds:0}ms");
    }

    private void BecomeRunning()
    {
        SetState(ConnectorState.Running, null);
        Become(() =>
        {
            Receive<Pause>(_ => BecomePaused());
            Receive<Drain>(_ => BeginDrain());
            Common();
        });
        if (_inFlight is { } pending) SendToSink(pending);
        if (_drainRequested)
        {
            BeginDrain();
            return;
        }
        TryPull();
        TryDeliver();
        CheckSinkEnd();
    }

    private void BecomePaused()
    {
        SetState(ConnectorState.Paused, null);
        TellHook(PluginProxy.HookKind.Pause);
        Become(() =>
        {
            Receive<Resume>(_ =>
            {
                TellHook(PluginProxy.HookKind.Resume);
                BecomeRunning();
            });
            Receive<Drain>(_ => BeginDrain());
            Common();
        });
    }

    private void BeginDrain()
    {
        _drainRequested = true;
        SetState(ConnectorState.Draining, null);
        Timers.Cancel("reconnect");
        Become(() =>
        {
            Receive<Drain>(_ => { });
            Common();
        });
        if (_proxy is null)
        {
            // Nothing can be flushed without an instance: end the stream here.
            FinishSource();
            return;
        }
        TellHook(PluginProxy.HookKind.Drain);
        if (_sourceActive && !_sourceFinished)
        {
            if (_pullsWhileDraining)
            {
                // The source hands over what it already accepted: pull (after the drain hook, which the instance
                // sees first) until a pull comes back empty.
                TryPull();
            }
            else
            {
                _pullCancel.Cancel();
                if (!_pulling) StopSource();
            }
        }
        TryDeliver();
    }

    private void Common()
    {
        Receive<LinkInput>(l =>
        {
            _upstreams.Add(l.Upstream);
            l.Upstream.Tell(new Credit(_dataPath.Credits));
        });
        Receive<Credit>(c =>
        {
            _outlets.Grant(Sender, c.Batches);
            SendReady();
            TryPull();
        });
        Receive<PullAgain>(_ => TryPull());
        Receive<PluginProxy.Pulled>(OnPulled);
        Receive<PluginProxy.SourceStopped>(OnSourceStopped);
        Receive<PluginProxy.InstanceCreated>(m =>
        {
            _transactional = m.Transactional;
            _pullsWhileDraining = m.PullsWhileDraining;
        });
        Receive<LogUnlinkedErrors>(_ => LogUnlinkedErrorsSummary());
        Receive<FlushHeld>(_ => OnFlushHeld());
        Receive<EventBatch>(OnEventBatch);
        Receive<EndOfStream>(_ =>
        {
            _ended.Add(Sender);
            CheckSinkEnd();
        });
        Receive<PluginProxy.Delivered>(OnDelivered);
        Receive<PluginProxy.HookDone>(OnHookDone);
        Receive<SinkAsyncReply>(m => Settle(m.Ids, m.Error));
        Receive<AckEvents>(m => Returned(m.Ids, m.Weights, failed: false));
        Receive<FailEvents>(m => Returned(m.Ids, m.Weights, failed: true));
        Receive<GetStatus>(_ => Sender.Tell(new Status(_spec.Alias, _spec.Type, _state, _metrics.Restarts, _metrics.EventsIn, _metrics.EventsOut, _metrics.Errors, _metrics.Dropped, _lastError, _breakers.IsOpen)));
        Receive<ConnectionLost>(OnConnectionLost);
        Receive<CircuitBreaker>(m =>
        {
            if (!_breakers.Apply(m, Sender)) return;
            _metrics.CircuitBreakerOpen = _breakers.IsOpen;
            if (m.Open)
            {
                _log.Warning("{0}: circuit breaker open ({1}): pulling stops until it closes", _spec.Alias, m.Reason);
            }
            else
            {
                _log.Info("{0}: circuit breaker closed: pulling again", _spec.Alias);
                TryPull();
            }
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_proxy), _ => OnProxyDied());
        Receive<RecreateProxy>(_ =>
        {
            if (_state != ConnectorState.Restarting) return;
            StartInstance();
        });
        Receive<PluginProxy.Connected>(_ => { });
        Receive<Pause>(_ => { });
        Receive<Resume>(_ => { });
        Receive<Drain>(_ => { });
        Receive<Start>(_ => { });
        Receive<LinkOutput>(l => _outlets.Add(l));
        Receive<RetryConnect>(_ => { });
        Receive<ReplaceInstance>(OnReplaceInstance);
        Receive<SwapTimedOut>(_ => { }); // a swap that finished just before its timer
    }

    private void OnConnectionLost(ConnectionLost m)
    {
        _lastError = m.Reason;
        if (_state is not (ConnectorState.Running or ConnectorState.Paused))
        {
            // Connecting already, restarting, draining or failed: those paths deal with a dead peer themselves.
            _log.Warning("{0}: connection lost while {1}: {2}", _spec.Alias, _state, m.Reason);
            return;
        }
        _log.Warning("{0}: connection lost ({1}); circuit breaker opened upstream, reconnecting", _spec.Alias, m.Reason);
        _lostReason = m.Reason;
        _pausedWhenLost = _state == ConnectorState.Paused;
        TellUpstreams(new CircuitBreaker(true, $"{_spec.Alias}: {m.Reason}"));
        // A pull waiting on the dead peer would hold the plugin instance: the connect must get through.
        if (_pulling) _pullCancel.Cancel();
        BecomeConnecting(1);
    }

    private void Reconnected()
    {
        _lostReason = null;
        _log.Info("{0}: reconnected; circuit breaker closed upstream", _spec.Alias);
        TellUpstreams(new CircuitBreaker(false, "reconnected"));
        if (_pausedWhenLost && !_drainRequested)
        {
            BecomePaused();
            return;
        }
        BecomeRunning();
    }

    private void TellUpstreams(CircuitBreaker message)
    {
        foreach (var upstream in _upstreams) upstream.Tell(message);
    }

    /// <summary>
    /// One instance, one call at a time: a hook would wait behind a pull that waits for input (a server with no
    /// traffic), so the wait is cut short; the pull is taken up again after the hook.
    /// </summary>
    private void TellHook(PluginProxy.HookKind kind)
    {
        if (_proxy is null) return;
        if (_pulling && !_pullInterrupted)
        {
            _pullInterrupted = true;
            _pullCancel.Cancel();
        }
        _proxy.Tell(new PluginProxy.Hook(kind));
    }

    private void TryPull()
    {
        if (!_sourceActive || _sourceFinished || _pulling || _sourceStopSent || _proxy is null || _breakers.IsOpen) return;
        if (_state != ConnectorState.Running && !(_state == ConnectorState.Draining && _pullsWhileDraining)) return;
        // What the last pull brought leaves first: no link takes more than its credits.
        if (_ready.Count > 0 || !_outlets.AllHaveCredit) return;
        _pulling = true;
        _pullSentWhileDraining = _state == ConnectorState.Draining;
        if (_pullCancel.IsCancellationRequested) _pullCancel = new CancellationTokenSource();
        _proxy.Tell(new PluginProxy.Pull(_dataPath.BatchSize, _pullCancel.Token));
    }

    private void OnPulled(PluginProxy.Pulled m)
    {
        _pulling = false;
        var interrupted = _pullInterrupted;
        _pullInterrupted = false;
        _consecutiveFailures = 0;
        var brought = m.Events.Length > 0 || m.Errors.Length > 0;
        _metrics.EventsOut += m.Events.Length;
        Ready("out", m.Events, _transactional && m.Events.Length > 0 ? _acks.Register(m.Events) : null);
        if (m.Errors.Length > 0)
        {
            _metrics.Errors += m.Errors.Length;
            if (_transactional)
            {
                // A transactional source hears at once that bytes it produced could not be decoded (an HTTP server
                // answers the request with an error instead of waiting for a reply that will never come).
                var rejected = m.Errors.Where(e => e.Id.PullId != ulong.MaxValue).Select(e => (e.Id, e.Data["error"].AsString() ?? e.Data["error"].ToString())).ToArray();
                if (rejected.Length > 0) _proxy?.Tell(new PluginProxy.SourceRejects(rejected));
            }
            Ready("err", m.Errors, null);
        }
        SendReady();
        if (m.Status == PullStatus.Finished)
        {
            FinishSource();
            return;
        }
        if (_state == ConnectorState.Draining)
        {
            // Pull on while pulls bring something; a pull sent before the drain hook ran, or cut short for a sink
            // batch or a hook, does not count as the last.
            if (_pullsWhileDraining && (brought || !_pullSentWhileDraining || interrupted))
            {
                TryPull();
                return;
            }
            StopSource();
            return;
        }
        if (m.Status == PullStatus.Empty && !brought && !interrupted)
        {
            Timers.StartSingleTimer("pull", new PullAgain(), TimeSpan.FromMilliseconds(10));
            return;
        }
        TryPull();
    }

    /// <summary>Queues what a pull decoded for <paramref name="port"/>, cut into batches of at most batch-size.</summary>
    private void Ready(string port, Event[] events, long[]? weights)
    {
        for (var from = 0; from < events.Length; from += _dataPath.BatchSize)
        {
            _ready.Enqueue((port, Batches.Slice(events, from, _dataPath.BatchSize), Batches.Slice(weights, from, _dataPath.BatchSize)));
        }
    }

    /// <summary>
    /// Copies of this source's events came back from a sink or a pipeline: the pulls whose whole weight is back are
    /// acked to the plugin, the ones a copy failed are failed (once each).
    /// </summary>
    private void Returned(EventId[] ids, long[] weights, bool failed)
    {
        for (var i = 0; i < ids.Length; i++) _acks.Return(ids[i], weights[i], failed, _settledAcks, _settledFails);
        if (_settledAcks.Count == 0 && _settledFails.Count == 0 || _proxy is null) return;
        if (_pulling && !_pullInterrupted)
        {
            // One instance, one call at a time: a pull waiting for input would hold the acks back (and with them a
            // checkpoint, or an answer to a peer). Cut the wait short; the pull is taken up again right after.
            _pullInterrupted = true;
            _pullCancel.Cancel();
        }
        _proxy.Tell(new PluginProxy.SourceAcks(_settledAcks.ToArray(), _settledFails.ToArray()));
        _settledAcks.Clear();
        _settledFails.Clear();
    }

    /// <summary>Sends the decoded batches that wait, in order, while their port's downstreams grant credit.</summary>
    private void SendReady()
    {
        while (_ready.TryPeek(out var next))
        {
            if (_outlets.IsLinked(next.Port))
            {
                if (!_outlets.HasCredit(next.Port)) return;
                _outlets.Send(next.Port, next.Events, Self, next.Weights);
            }
            else if (next.Port == "err")
            {
                LogUnlinked(next.Events);
            }
            else
            {
                _metrics.Dropped += next.Events.Length;
                // Nowhere to go is the flow's decision, not a failure: acknowledged, as a pipeline's drop is.
                if (next.Weights is { } dropped) Returned(next.Events.Select(e => e.Id).ToArray(), dropped, failed: false);
            }
            _ready.Dequeue();
        }
        if (_finishWhenSent) FinishSource();
        if (_endWhenSent)
        {
            _endWhenSent = false;
            _outlets.EndAll(Self);
            // The tally sent when the sink drained counted these err events as waiting; a completed run stops
            // nothing, so this is the report its summary reads.
            ReportTally();
        }
    }

    /// <summary>
    /// An unlinked err port logs and counts (as dropped). The log is rate-limited per time, not per read, so one read
    /// of many bad lines still shows some of them and a count: the first few of each interval one by one, then one
    /// summary line at the end of the interval.
    /// </summary>
    private void LogUnlinked(Event[] errors)
    {
        _metrics.Dropped += errors.Length;
        _rejectedUnlinked += errors.Length;
        var now = Context.System.Scheduler.Now.UtcDateTime;
        foreach (var e in errors)
        {
            if (_unlinkedErrors.ShouldLog(now, e.Data["error"].ToString()))
            {
                _log.Warning("{0}: {1} (err port not linked; {2} errors so far)", _spec.Alias, e.Data["error"], _metrics.Errors);
            }
            else if (!Timers.IsTimerActive("unlinked-errors"))
            {
                Timers.StartSingleTimer("unlinked-errors", new LogUnlinkedErrors(), _unlinkedErrors.UntilWindowEnd(now));
            }
        }
    }

    private void LogUnlinkedErrorsSummary()
    {
        if (_unlinkedErrors.TakeSuppressed() is not { } suppressed) return;
        _log.Warning("{0}: {1} more error(s) not logged in the last {2:0}s (err port not linked; {3} errors so far); the last: {4}", _spec.Alias, suppressed.Count, UnlinkedErrorsInterval.TotalSeconds, _metrics.Errors, suppressed.Last);
    }

    /// <summary>The last step of a source's drain: no pull after it; what the preprocessors hold is dropped (see <see cref="PluginProxy.StopSource"/>).</summary>
    private void StopSource()
    {
        _sourceStopSent = true;
        _proxy?.Tell(PluginProxy.StopSource.Instance);
    }

    private void OnSourceStopped(PluginProxy.SourceStopped m)
    {
        LogUnfinished(m);
        FinishSource();
    }

    private void LogUnfinished(PluginProxy.SourceStopped m)
    {
        foreach (var u in m.Unfinished)
        {
            _log.Warning("{0}: stopped mid-stream: {1} byte(s) of an unfinished frame in stream {2} not emitted (its rest was not read)", _spec.Alias, u.Bytes, u.StreamId);
        }
    }

    private void FinishSource()
    {
        if (_sourceFinished) return;
        if (_ready.Count > 0)
        {
            // The end of the stream goes after the last batch.
            _finishWhenSent = true;
            return;
        }
        _sourceFinished = true;
        _outlets.EndAll(Self);
        ReportTally();
        _flow.Tell(new SourceFinished(_spec.Alias));
    }

    private void OnEventBatch(EventBatch batch)
    {
        _metrics.EventsIn += batch.Events.Length;
        if (!_sinkActive || _state == ConnectorState.Failed)
        {
            FailBack(batch.Events, batch.Weights, _lastError ?? "connector failed");
            Sender.Tell(new Credit(1));
            return;
        }
        if (_encoder!.Ledger is not null)
        {
            Stage(batch.Events, batch.Weights, Sender);
            return;
        }
        _queue.AddLast(new Outgoing([Sender], batch.Events, batch.Weights, bisecting: false));
        TryDeliver();
    }

    /// <summary>
    /// With postprocessors that hold events or cut them into several payloads, a batch is encoded once, on arrival,
    /// into payloads kept for retries; its upstream gets its credit back once those were answered (at once when all
    /// is held), while the events themselves (and their ack weights) are settled through the encoder's ledger.
    /// </summary>
    private void Stage(Event[] events, long[]? weights, IActorRef upstream)
    {
        var failed = new List<(Event Event, long Weight, string Reason)>();
        var settled = new List<(Event Event, long Weight, string? Error)>();
        var payloads = _encoder!.Stage(events, weights, failed, settled);
        foreach (var (e, weight, reason) in failed)
        {
            _metrics.Errors++;
            _log.Warning("{0}: event {1} could not be encoded: {2}", _spec.Alias, e.Id, reason);
            FailBack([e], [weight], reason);
        }
        ApplySettled(settled);
        if (payloads.Count == 0) upstream.Tell(new Credit(1));
        else _queue.AddLast(new Outgoing([upstream], [], null, bisecting: false, payloads));
        ScheduleFlush();
        TryDeliver();
    }

    private void ScheduleFlush()
    {
        if (_encoder?.FlushDueIn is { } due) Timers.StartSingleTimer("flush-held", FlushHeld.Instance, due);
        else Timers.Cancel("flush-held");
    }

    private void OnFlushHeld()
    {
        if (_encoder?.Ledger is null || _heldFlushed || _state == ConnectorState.Failed) return;
        var settled = new List<(Event Event, long Weight, string? Error)>();
        var payloads = _encoder.Flush(endOfStream: false, settled);
        ApplySettled(settled);
        if (payloads.Count > 0) _queue.AddLast(new Outgoing([], [], null, bisecting: false, payloads));
        ScheduleFlush();
        TryDeliver();
    }

    /// <summary>Events the ledger settled: acked back when every payload that carried them was delivered, failed back otherwise.</summary>
    private void ApplySettled(List<(Event Event, long Weight, string? Error)> settled)
    {
        if (settled.Count == 0) return;
        var acked = settled.Where(s => s.Error is null).ToArray();
        _delivered += acked.Length;
        AckBack(acked.Select(s => s.Event).ToArray(), acked.Select(s => s.Weight).ToArray());
        foreach (var group in settled.Where(s => s.Error is not null).GroupBy(s => s.Error!, StringComparer.Ordinal))
        {
            var events = group.ToArray();
            _metrics.Errors += events.Length;
            FailBack(events.Select(s => s.Event).ToArray(), events.Select(s => s.Weight).ToArray(), group.Key);
        }
    }

    private void TryDeliver()
    {
        if (_inFlight is not null || _queue.Count == 0 || _proxy is null) return;
        if (_state is not (ConnectorState.Running or ConnectorState.Draining)) return;
        var next = _queue.First!.Value;
        _queue.RemoveFirst();
        if (_isolated) next = Coalesce(next, _dataPath.BatchSize * CoalesceBatches);
        next.Sequence = ++_deliverySequence;
        _inFlight = next;
        if (_pulling && !_pullInterrupted)
        {
            // One instance, one call at a time: a pull waiting for input (a server waiting on its peers) would hold
            // the reply back. Cut the wait short; the pull is taken up again right after.
            _pullInterrupted = true;
            _pullCancel.Cancel();
        }
        SendToSink(next);
    }

    /// <summary>How many upstream batches one call into a process-isolated plugin may carry.</summary>
    private const int CoalesceBatches = 4;

    /// <summary>
    /// A call into a process-isolated plugin costs a round trip to another process whatever its size: batches waiting
    /// in the outbox go in one call (up to <paramref name="maxEvents"/> events), each still returning its own credit.
    /// A batch being bisected or retried after a crash is sent as it is.
    /// </summary>
    private Outgoing Coalesce(Outgoing first, int maxEvents)
    {
        if (first.Bisecting || first.Failures > 0 || first.Payloads is not null || _queue.First is null) return first;
        var count = first.Events.Length;
        var taken = 1;
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            var o = node.Value;
            if (o.Bisecting || o.Failures > 0 || o.Payloads is not null || count + o.Events.Length > maxEvents) break;
            count += o.Events.Length;
            taken++;
        }
        if (taken == 1) return first;
        var events = new Event[count];
        long[]? weights = first.Weights is null ? null : new long[count];
        var credits = new List<IActorRef>(taken);
        first.Events.CopyTo(events, 0);
        first.Weights?.CopyTo(weights!, 0);
        credits.AddRange(first.CreditTo);
        var at = first.Events.Length;
        for (var i = 1; i < taken; i++)
        {
            var o = _queue.First!.Value;
            _queue.RemoveFirst();
            o.Events.CopyTo(events, at);
            if (o.Weights is not null)
            {
                weights ??= new long[count];
                o.Weights.CopyTo(weights, at);
            }
            at += o.Events.Length;
            credits.AddRange(o.CreditTo);
        }
        return new Outgoing(credits, events, weights, bisecting: false);
    }

    /// <summary>
    /// Encodes here, on the connector actor, so that encoding one batch overlaps with the plugin instance decoding
    /// the next pull (a connector with both sides would otherwise do both on one thread). The encoder's buffer is
    /// reused: only one batch is ever in the sink.
    /// </summary>
    private void SendToSink(Outgoing outgoing)
    {
        if (outgoing.Payloads is { } payloads)
        {
            _proxy!.Tell(new PluginProxy.Deliver(outgoing.Sequence, payloads));
            return;
        }
        outgoing.EncodeFailures.Clear();
        var batch = _encoder!.Encode(outgoing.Events, outgoing.EncodeFailures);
        _proxy!.Tell(new PluginProxy.Deliver(outgoing.Sequence, batch));
    }

    private void OnDelivered(PluginProxy.Delivered m)
    {
        if (_inFlight is not { } inFlight || inFlight.Sequence != m.Sequence) return;
        _inFlight = null;
        if (_lostReason is not null && m.Reply.Status == SinkStatus.Fail)
        {
            // The peer went away under this batch: keep it (the outbox) and deliver it again once reconnected.
            _queue.AddFirst(inFlight);
            return;
        }
        _consecutiveFailures = 0;
        if (inFlight.Bisecting) _bisectBudget = BisectBudget(inFlight.Size * 2);
        if (inFlight.Payloads is { } payloads)
        {
            Answered(payloads, m.Reply);
            inFlight.ReturnCredits();
            TryDeliver();
            CheckSinkEnd();
            return;
        }
        var delivered = inFlight.Events;
        var weights = inFlight.Weights;
        if (inFlight.EncodeFailures.Count > 0)
        {
            var failed = new HashSet<Event>(ReferenceEqualityComparer.Instance);
            foreach (var (e, reason) in inFlight.EncodeFailures)
            {
                _metrics.Errors++;
                _log.Warning("{0}: event {1} could not be encoded: {2}", _spec.Alias, e.Id, reason);
                var at = Array.IndexOf(inFlight.Events, e);
                FailBack([e], weights is null || at < 0 ? null : [weights[at]], reason);
                failed.Add(e);
            }
            var kept = Enumerable.Range(0, delivered.Length).Where(i => !failed.Contains(delivered[i])).ToArray();
            delivered = kept.Select(i => inFlight.Events[i]).ToArray();
            weights = weights is null ? null : kept.Select(i => inFlight.Weights![i]).ToArray();
        }
        switch (m.Reply.Status)
        {
            case SinkStatus.Ack:
                _delivered += delivered.Length;
                AckBack(delivered, weights);
                break;
            case SinkStatus.Fail:
                _metrics.Errors += delivered.Length;
                _lastError = m.Reply.Error;
                FailBack(delivered, weights, m.Reply.Error ?? "the sink failed the batch");
                break;
            case SinkStatus.Pending:
                _pendingAsync += delivered.Length;
                if (weights is not null)
                {
                    // The plugin answers by event id; the weight each copy carries is kept here until it does.
                    for (var i = 0; i < delivered.Length; i++)
                    {
                        var id = delivered[i].Id;
                        if (weights[i] > 0 && !_settledEarly.Contains(id)) _asyncWeights[id] = _asyncWeights.GetValueOrDefault(id) + weights[i];
                    }
                }
                break;
        }
        _settledEarly.Clear();
        inFlight.ReturnCredits();
        TryDeliver();
        CheckSinkEnd();
    }

    /// <summary>The sink answered a batch of payloads: the ledger says which events that settles.</summary>
    private void Answered(SinkBatch payloads, SinkReply reply)
    {
        var settled = new List<(Event Event, long Weight, string? Error)>();
        var ids = payloads.Events.Select(p => p.Id);
        switch (reply.Status)
        {
            case SinkStatus.Ack:
                _encoder!.Ledger!.Answer(ids, null, settled);
                break;
            case SinkStatus.Fail:
                _lastError = reply.Error;
                _encoder!.Ledger!.Answer(ids, reply.Error ?? "the sink failed the batch", settled);
                break;
            case SinkStatus.Pending:
                _pendingAsync += payloads.Count;
                break;
        }
        ApplySettled(settled);
    }

    private void CheckSinkEnd()
    {
        if (!_sinkActive || _sinkEnding || _sinkDrained || _state == ConnectorState.Swapping) return;
        if (_ended.Count < _upstreams.Count || _queue.Count > 0 || _inFlight is not null) return;
        if (_state != ConnectorState.Failed && _proxy is null) return; // restarting: checked again once running
        if (_state == ConnectorState.Failed)
        {
            MarkSinkDrained();
            return;
        }
        if (_encoder?.Ledger is not null && !_heldFlushed)
        {
            // The end of the stream: what the postprocessors hold (and a stream's trailer) goes out before the sink ends.
            _heldFlushed = true;
            Timers.Cancel("flush-held");
            var settled = new List<(Event Event, long Weight, string? Error)>();
            var payloads = _encoder.Flush(endOfStream: true, settled);
            ApplySettled(settled);
            if (payloads.Count > 0)
            {
                _queue.AddLast(new Outgoing([], [], null, bisecting: false, payloads));
                TryDeliver();
                return;
            }
        }
        _sinkEnding = true;
        TellHook(PluginProxy.HookKind.SinkEnd);
    }

    private void OnHookDone(PluginProxy.HookDone m)
    {
        if (m.Kind != PluginProxy.HookKind.SinkEnd) return;
        // An asynchronous sink has delivered everything only once it settled every event it took (see Settle).
        _sinkEndDone = true;
        if (_pendingAsync <= 0) MarkSinkDrained();
    }

    private void MarkSinkDrained()
    {
        _sinkDrained = true;
        // A sink's err port (quarantined events) ends with its sink side, after what waits for credit on it.
        if (!_sourceActive)
        {
            if (_ready.Count > 0) _endWhenSent = true;
            else _outlets.EndAll(Self);
        }
        ReportTally();
        _flow.Tell(new SinkDrained(_spec.Alias));
    }

    /// <summary>Returns the ack weight of delivered copies to their transactional sources (events owed no ack carry none).</summary>
    private void AckBack(Event[] events, long[]? weights)
    {
        if (weights is null) return;
        foreach (var group in Enumerable.Range(0, events.Length).Where(i => weights[i] > 0).GroupBy(i => events[i].Id.SourceId))
        {
            _services.Source(group.Key)?.Tell(new AckEvents(group.Select(i => events[i].Id).ToArray(), group.Select(i => weights[i]).ToArray()));
        }
    }

    /// <summary>
    /// Fails <paramref name="events"/> back to their transactional sources and counts them: an event whose source
    /// hears of the fail (and may replay it, or tell its peer) is failed back, not lost; any other is lost.
    /// </summary>
    private void FailBack(Event[] events, long[]? weights, string reason)
    {
        var owed = weights is null ? 0 : weights.Count(w => w > 0);
        _failed += events.Length - owed;
        if (owed == 0) return;
        foreach (var group in Enumerable.Range(0, events.Length).Where(i => weights![i] > 0).GroupBy(i => events[i].Id.SourceId))
        {
            var source = _services.Source(group.Key);
            if (source is null)
            {
                _failed += group.Count();
                continue;
            }
            var ids = group.Select(i => events[i].Id).ToArray();
            _failedBack += ids.Length;
            source.Tell(new FailEvents(ids, group.Select(i => weights![i]).ToArray(), reason));
        }
    }

    private void Settle(EventId[] ids, string? error)
    {
        // May run before the Pending reply it belongs to (SinkReply.Settle answers through the host first): the
        // balance goes below zero until that reply arrives.
        _pendingAsync -= ids.Length;
        if (_encoder?.Ledger is { } ledger)
        {
            // Payload ids: the ledger knows the events (and their ack weights) behind them.
            var settled = new List<(Event Event, long Weight, string? Error)>();
            ledger.Answer(ids, error, settled);
            ApplySettled(settled);
            if (_sinkEndDone && !_sinkDrained && _pendingAsync <= 0) MarkSinkDrained();
            return;
        }
        if (error is null) _delivered += ids.Length;
        else _failed += ids.Length;
        if (_sinkEndDone && !_sinkDrained && _pendingAsync <= 0) MarkSinkDrained();
        List<(EventId Id, long Weight)>? owed = null;
        Dictionary<EventId, long>? inFlightWeights = null;
        foreach (var id in ids)
        {
            if (_asyncWeights.Remove(id, out var weight))
            {
                (owed ??= []).Add((id, weight));
                continue;
            }
            // Settled during the call, before its Pending reply: the weight is still the in-flight batch's.
            if (_inFlight is not { Weights: { } weights } inFlight) continue;
            if (inFlightWeights is null)
            {
                inFlightWeights = [];
                for (var i = 0; i < weights.Length; i++)
                {
                    if (weights[i] > 0) inFlightWeights[inFlight.Events[i].Id] = inFlightWeights.GetValueOrDefault(inFlight.Events[i].Id) + weights[i];
                }
            }
            if (inFlightWeights.Remove(id, out weight))
            {
                (owed ??= []).Add((id, weight));
                _settledEarly.Add(id);
            }
        }
        if (owed is null) return;
        foreach (var group in owed.GroupBy(o => o.Id.SourceId))
        {
            var source = _services.Source(group.Key);
            if (source is null) continue;
            var groupIds = group.Select(o => o.Id).ToArray();
            var groupWeights = group.Select(o => o.Weight).ToArray();
            source.Tell(error is null ? new AckEvents(groupIds, groupWeights) : new FailEvents(groupIds, groupWeights, error));
        }
    }

    private void OnProxyDied()
    {
        _proxy = null;
        _pulling = false;
        _sinkEnding = false;
        if (_state is ConnectorState.Failed) return;
        var now = Context.System.Scheduler.Now.UtcDateTime;
        _restartTimes.RemoveAll(t => now - t > _spec.Restart.Window);
        var wasBisecting = _inFlight is { Bisecting: true } && _bisectBudget > 0;
        if (!wasBisecting && _restartTimes.Count >= _spec.Restart.MaxRestarts)
        {
            Fail($"the plugin failed {_restartTimes.Count + 1} times within {_spec.Restart.Window.TotalSeconds:0}s (limit {_spec.Restart.MaxRestarts} restarts): {_lastError}");
            return;
        }
        // While a poison batch is being narrowed down, the crashes are expected: they neither count towards the
        // restart limit nor grow the backoff, within a budget, so a plugin that fails on everything still ends failed.
        var bisecting = Quarantine();
        if (bisecting) _bisectBudget--;
        if (!bisecting || _bisectBudget <= 0)
        {
            _restartTimes.Add(now);
            _consecutiveFailures++;
        }
        _metrics.Restarts++;
        _metrics.Plugin?.Restarted();
        var r = _spec.Restart;
        var delay = Backoff.Delay(r.MinBackoff, r.MaxBackoff, 2, _consecutiveFailures, r.Jitter, _random.NextDouble());
        _log.Warning("{0}: restarting the plugin instance in {1:0}ms (restart {2})", _spec.Alias, delay.TotalMilliseconds, _metrics.Restarts);
        Timers.StartSingleTimer("recreate", new RecreateProxy(), delay);
        SetState(ConnectorState.Restarting, _lastError);
        Become(() =>
        {
            Receive<Drain>(_ => _drainRequested = true);
            Common();
        });
    }

    /// <summary>
    /// Crash quarantine: the batch in flight when the plugin died is kept. Once it killed the plugin
    /// <c>quarantine-after</c> times in a row it is bisected (each half on its own, one failure each from then on)
    /// until the events that kill the plugin are alone; those go to the <c>err</c> port with the reason and are
    /// failed back to a transactional source; the rest is delivered. Returns true while bisecting.
    /// </summary>
    private bool Quarantine()
    {
        if (_inFlight is not { } inFlight) return false;
        inFlight.Failures++;
        var threshold = inFlight.Bisecting ? 1 : _spec.Isolation.QuarantineAfter;
        if (inFlight.Failures < threshold) return inFlight.Bisecting;
        if (inFlight.Size == 1)
        {
            _inFlight = null;
            if (inFlight.Payloads is { } payload) PoisonedPayload(payload);
            else Poisoned(inFlight.Events[0], inFlight.Weights);
            inFlight.ReturnCredits();
            return true;
        }
        if (!inFlight.Bisecting)
        {
            _bisectBudget = BisectBudget(inFlight.Size);
            // The restarts this batch caused are the data's fault, not the plugin's: they do not count to the limit.
            var caused = Math.Min(inFlight.Failures - 1, _restartTimes.Count);
            _restartTimes.RemoveRange(_restartTimes.Count - caused, caused);
        }
        var half = inFlight.Size / 2;
        var (first, second) = inFlight.Payloads is { } payloads
            ? (new Outgoing([], [], null, bisecting: true, new SinkBatch(payloads.Events.Take(half).ToList(), payloads.Bytes)),
               new Outgoing(inFlight.CreditTo, [], null, bisecting: true, new SinkBatch(payloads.Events.Skip(half).ToList(), payloads.Bytes)))
            : (new Outgoing([], inFlight.Events[..half], inFlight.Weights?[..half], bisecting: true),
               new Outgoing(inFlight.CreditTo, inFlight.Events[half..], inFlight.Weights?[half..], bisecting: true));
        _queue.AddFirst(second);
        _queue.AddFirst(first);
        _inFlight = null;
        _log.Warning("{0}: a batch of {1} {2} killed the plugin {3} time(s); bisecting it to find the poison one(s)", _spec.Alias, inFlight.Size, inFlight.Payloads is null ? "event(s)" : "payload(s)", inFlight.Failures);
        return true;
    }

    /// <summary>Crashes a bisection may take: two per halving (a poison event in each half) plus slack.</summary>
    private static int BisectBudget(int events) => 2 * (int)Math.Ceiling(Math.Log2(Math.Max(events, 2))) + 2;

    private void Poisoned(Event e, long[]? weights)
    {
        _metrics.Errors++;
        var reason = $"event {e.Id} kills the plugin ({_lastError}); quarantined";
        _log.Error("{0}: {1}", _spec.Alias, reason);
        FailBack([e], weights, reason);
        ToErr(e, reason);
    }

    /// <summary>A payload that kills the plugin fails the events it carries; they go to the err port once settled.</summary>
    private void PoisonedPayload(SinkBatch payload)
    {
        var reason = $"a payload ({payload.Events[0].Payload.Length} bytes) kills the plugin ({_lastError}); quarantined";
        _log.Error("{0}: {1}", _spec.Alias, reason);
        var settled = new List<(Event Event, long Weight, string? Error)>();
        _encoder!.Ledger!.Answer([payload.Events[0].Id], reason, settled);
        ApplySettled(settled);
        foreach (var (e, _, error) in settled)
        {
            if (error is not null) ToErr(e, error);
        }
    }

    private void ToErr(Event e, string reason)
    {
        var record = new ValueRecord(4);
        record.Append("error", reason);
        record.Append("connector", _spec.Alias);
        record.Append("event", e.Data);
        var error = new Event { Id = e.Id, IngestNs = e.IngestNs, Data = Value.From(record), Meta = e.Meta };
        if (!_outlets.IsLinked("err"))
        {
            _metrics.Dropped++;
            return;
        }
        // Waits for the err link's credit like any other batch, rather than being dropped when there is none.
        _ready.Enqueue(("err", [error], null));
        SendReady();
    }

    /// <summary>A batch on its way to the sink plugin: kept until the plugin answers (the outbox).</summary>
    private sealed class Outgoing(IReadOnlyList<IActorRef> creditTo, Event[] events, long[]? weights, bool bisecting, SinkBatch? payloads = null)
    {
        /// <summary>Payloads encoded once (postprocessors with state); <see cref="Events"/> is then empty and the encoder's ledger knows what they carry.</summary>
        public SinkBatch? Payloads { get; } = payloads;

        /// <summary>What a bisection halves: payloads, or events.</summary>
        public int Size => Payloads?.Count ?? Events.Length;

        /// <summary>The ack weight each event carries back to its transactional source; null when none is owed an ack.</summary>
        public long[]? Weights { get; } = weights;

        /// <summary>The upstream batches this holds: each gives its sender one credit back once answered.</summary>
        public IReadOnlyList<IActorRef> CreditTo { get; } = creditTo;

        public Event[] Events { get; } = events;

        public void ReturnCredits()
        {
            foreach (var upstream in CreditTo) upstream.Tell(new Credit(1));
        }

        public bool Bisecting { get; } = bisecting;

        public int Failures { get; set; }

        /// <summary>Events the encoder refused in the last encoding (failed back once the sink answered).</summary>
        public List<(Event Event, string Reason)> EncodeFailures { get; } = [];

        public long Sequence { get; set; }
    }

    private void OnReplaceInstance(ReplaceInstance m)
    {
        if (_proxy is null || _state is not (ConnectorState.Connecting or ConnectorState.Running or ConnectorState.Paused))
        {
            // Not started, restarting (the next instance comes from the new factory), draining or failed: no instance
            // to hand over from.
            _provider.Value = m.Factory;
            Sender.Tell(new InstanceReplaced(_spec.Alias));
            return;
        }
        _swap = new PendingSwap(m.Factory, Sender);
        _pausedAtSwap = _state == ConnectorState.Paused;
        Timers.Cancel("reconnect");
        if (_pulling) _pullCancel.Cancel();
        _log.Info("{0}: replacing the plugin instance by one of the new version", _spec.Alias);
        SetState(ConnectorState.Swapping, "replacing the plugin instance by one of the new version");
        Become(Swapping);
        Timers.StartSingleTimer("swap", SwapTimedOut.Instance, _dataPath.DrainTimeout);
        // Queued behind the call the instance is in: its answer (a pull, a delivered batch) comes back first.
        _proxy.Tell(new PluginProxy.Hook(PluginProxy.HookKind.Drain));
    }

    /// <summary>
    /// A hot swap, driven by the old instance's answers (they arrive in the order the requests went out): drain hook,
    /// then what the source already accepted and the decoder's buffered bytes, then the sink's end hook, then the
    /// instance is stopped and disposed and one of the new version connects. Nothing new is pulled or delivered
    /// meanwhile; batches that arrive wait in the outbox for the new instance.
    /// </summary>
    private void Swapping()
    {
        Receive<PluginProxy.HookDone>(m =>
        {
            if (m.Kind == PluginProxy.HookKind.Drain && _swap!.Step == SwapStep.DrainHook) HandOverSource();
            else if (m.Kind == PluginProxy.HookKind.SinkEnd && _swap!.Step == SwapStep.SinkEnd) RetireInstance();
            else OnHookDone(m);
        });
        Receive<PluginProxy.Pulled>(m =>
        {
            var step = _swap!.Step;
            // A drained source's Finished (a server that stopped reading answers it once its queue is empty) ends
            // the old instance's hand-over, not the source: the new instance goes on.
            var handedOver = step == SwapStep.Pulling && m.Status == PullStatus.Finished;
            OnPulled(handedOver ? m with { Status = PullStatus.Data } : m);
            if (step == SwapStep.Pulling)
            {
                if (!_sourceFinished && !handedOver && (m.Events.Length > 0 || m.Errors.Length > 0)) _proxy?.Tell(new PluginProxy.Pull(_dataPath.BatchSize, CancellationToken.None));
                else FlushForSwap();
            }
        });
        Receive<PluginProxy.SourceStopped>(m =>
        {
            // The old instance's streams end here, not the source: the new instance goes on.
            LogUnfinished(m);
            if (_swap!.Step == SwapStep.Flushing) EndSinkForSwap();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_proxy), _ => StartSwappedInstance());
        Receive<ReplaceInstance>(m =>
        {
            // A newer version while swapping: the newest one is created.
            _swap!.Factory = m.Factory;
            _swap.ReplyTo.Add(Sender);
        });
        Receive<SwapTimedOut>(_ =>
        {
            _log.Warning("{0}: the old plugin instance did not hand over within {1}s; stopping it (a batch it holds is delivered again by the new one)", _spec.Alias, _dataPath.DrainTimeout.TotalSeconds);
            RetireInstance();
        });
        Receive<Pause>(_ => _pausedAtSwap = true);
        Receive<Resume>(_ => _pausedAtSwap = false);
        Receive<Drain>(_ => _drainRequested = true);
        Common();
    }

    private void HandOverSource()
    {
        if (!_sourceActive || _sourceFinished)
        {
            EndSinkForSwap();
            return;
        }
        if (_pullsWhileDraining)
        {
            // What the source already accepted (reads queued from open connections) is delivered, as at a drain.
            _swap!.Step = SwapStep.Pulling;
            _proxy!.Tell(new PluginProxy.Pull(_dataPath.BatchSize, CancellationToken.None));
            return;
        }
        FlushForSwap();
    }

    private void FlushForSwap()
    {
        if (_sourceFinished)
        {
            EndSinkForSwap();
            return;
        }
        // The old instance's streams end here: a partial line must not be glued to what the new instance reads. As at
        // a drain, it is the start of a line whose rest the old instance did not read: dropped, not decoded.
        _swap!.Step = SwapStep.Flushing;
        _proxy!.Tell(PluginProxy.StopSource.Instance);
    }

    private void EndSinkForSwap()
    {
        if (!_sinkActive || _sinkDrained || _sinkEnding)
        {
            RetireInstance();
            return;
        }
        // A sink flushes what it buffered and settles what it acknowledged asynchronously before it is disposed.
        _swap!.Step = SwapStep.SinkEnd;
        _proxy!.Tell(new PluginProxy.Hook(PluginProxy.HookKind.SinkEnd));
    }

    private void RetireInstance()
    {
        if (_swap!.Step == SwapStep.Retiring) return;
        _swap.Step = SwapStep.Retiring;
        // Its PostStop stops and disposes the instance; Terminated follows.
        if (_proxy is not null) Context.Stop(_proxy);
    }

    private void StartSwappedInstance()
    {
        Timers.Cancel("swap");
        var swap = _swap!;
        _swap = null;
        _proxy = null;
        _pulling = false;
        _pullInterrupted = false;
        _sinkEnding = false;
        _provider.Value = swap.Factory;
        foreach (var requester in swap.ReplyTo) requester.Tell(new InstanceReplaced(_spec.Alias));
        _log.Info("{0}: old plugin instance stopped; starting one of the new version once it is disposed", _spec.Alias);
        StartInstance();
    }

    private enum SwapStep
    {
        DrainHook,
        Pulling,
        Flushing,
        SinkEnd,
        Retiring,
    }

    private sealed class PendingSwap(IConnectorFactory factory, IActorRef requester)
    {
        public IConnectorFactory Factory { get; set; } = factory;

        public List<IActorRef> ReplyTo { get; } = [requester];

        public SwapStep Step { get; set; } = SwapStep.DrainHook;
    }

    private void Fail(string reason)
    {
        if (_lostReason is not null)
        {
            // Failed for good: upstream may go on (what reaches a failed connector is failed back, not held).
            _lostReason = null;
            TellUpstreams(new CircuitBreaker(false, reason));
        }
        _lastError = reason;
        _log.Error("{0}: connector failed: {1}", _spec.Alias, reason);
        SetState(ConnectorState.Failed, reason);
        Become(Common);
        if (_proxy is not null)
        {
            Context.Unwatch(_proxy);
            Context.Stop(_proxy);
            _proxy = null;
        }
        // Nothing that was handed to this connector is silently dropped: transactional sources hear of it.
        if (_inFlight is { } inFlight)
        {
            FailBack(inFlight.Events, inFlight.Weights, reason);
            inFlight.ReturnCredits();
            _inFlight = null;
        }
        foreach (var pending in _queue)
        {
            FailBack(pending.Events, pending.Weights, reason);
            pending.ReturnCredits();
        }
        _queue.Clear();
        if (_encoder?.Ledger is { } ledger)
        {
            // Events the postprocessors held or that were in payloads not delivered: failed back too.
            var settled = new List<(Event Event, long Weight, string? Error)>();
            ledger.Abandon(reason, settled);
            ApplySettled(settled);
        }
        FinishSource();
        CheckSinkEnd();
    }

    private void SetState(ConnectorState state, string? reason)
    {
        _state = state;
        _metrics.State = state;
        _flow.Tell(new StateChanged(_spec.Alias, state, reason));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        RuntimeMetrics.Get(Context.System).Unregister(_metrics);
        LogUnlinkedErrorsSummary(); // what the rate limit held back is counted, even when the interval did not end
        // Stopped mid-swap (its flow was undeployed): the old instance is gone with this actor; the swap need not wait.
        if (_swap is { } swap) foreach (var requester in swap.ReplyTo) requester.Tell(new InstanceReplaced(_spec.Alias));
        _stopping.Cancel();
        _pullCancel.Cancel();
        if (_sourceId != 0) _services.UnregisterSource(_sourceId);
        // What is still in the outbox (or with an asynchronous sink) is lost with this actor: the run's summary says so.
        ReportTally();
    }

    /// <summary>The counts for the run's summary: when a side finished (a run that completes stops nothing) and at stop.</summary>
    private void ReportTally()
    {
        // With a payload ledger, what the sink holds is what the ledger has not settled (the outbox holds payloads).
        var sinkHeld = _encoder?.Ledger is { } ledger
            ? ledger.Unsettled
            : _queue.Sum(o => (long)o.Events.Length) + (_inFlight?.Events.Length ?? 0) + Math.Max(0, _pendingAsync);
        var held = sinkHeld + _ready.Sum(r => (long)r.Events.Length); // pulled, waiting for credit downstream
        _services.Ledger.Report(Self, new Flows.DeliveryTally(_spec.Alias, _metrics.EventsOut, _metrics.EventsIn, _delivered, _failed, _metrics.Dropped - _rejectedUnlinked, held, _failedBack));
    }
}
