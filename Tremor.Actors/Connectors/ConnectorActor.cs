using System.Diagnostics;
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
/// One running connector: a lifecycle actor whose states are its behaviours (initializing → connecting → running ⇄
/// paused → draining; restarting, swapping, failed), each entered through <see cref="Transition"/>, which also names it
/// (<see cref="ConnectorState"/>, what the status reports and what tells the pump whether it may pull). What is not
/// lifecycle lives in plain classes it drives: the <see cref="SourcePump"/> (pulls while every downstream grants
/// credit, keeps what waits for credit), the <see cref="SinkOutbox{TUpstream}"/> (one batch in the plugin at a time,
/// kept until the plugin answers, retried, coalesced, bisected), the <see cref="PayloadDelivery{TUpstream}"/> (payloads
/// that are not one per event, and what their answers settle), the <see cref="HotSwap{TRequester}"/> (the steps of a
/// plugin swap) and the <see cref="AckRouter"/> (acks and fails to transactional sources, and to its own source
/// plugin). It supervises its plugin proxy with exponential backoff and a restart limit.
/// </summary>
public sealed class ConnectorActor : ReceiveActor, IWithTimers, IPumpPorts, IAckRoutes, ISwapSteps, IPayloadSettlements
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
    // The sink side's credit: one budget shared by every upstream, and by every link of one upstream (a pipeline whose
    // out and overflow ports both come here is granted the budget once, not once per link).
    private readonly InputCredits<IActorRef> _inputCredits;
    private readonly HashSet<IActorRef> _ended = [];
    private readonly List<DateTime> _restartTimes = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Random _random = new();
    private readonly CircuitBreakers _breakers = new();
    private readonly SourcePump _pump;
    private readonly SinkOutbox<IActorRef> _outbox = new();
    // A process-isolated sink's calls wait for company while its input is saturated; null in process.
    private readonly SinkLinger? _linger;
    private readonly AckRouter _acks;
    // Counters live where a /metrics scrape reads them without asking this actor.
    private readonly ConnectorMetrics _metrics;
    private readonly LogRateLimit _unlinkedErrors = new(UnlinkedErrorsBurst, UnlinkedErrorsInterval);
    /// <summary>The name of the current behaviour: set only by <see cref="Transition"/> (and a connect attempt's reason).</summary>
    private ConnectorState _state = ConnectorState.Initializing;
    private SourceDecoder? _decoder; // the source side: null when the connector has none (or is not started)
    private SinkEncoder? _encoder; // the sink side: null when the connector has none (or is not started)
    private PayloadDelivery<IActorRef>? _payloads; // with postprocessors that hold or cut events: what the payload ledger settles
    private SinkEnd _sinkEnd = SinkEnd.Open;
    private IActorRef? _proxy;
    private uint _sourceId;
    private int _consecutiveFailures;
    private int _connectAttempt;
    private int _instances;
    private long _rejectedUnlinked; // input the decoder rejected, on an unlinked err port: never accepted, so not lost
    private string? _lastError;
    private string? _lostReason; // set while reconnecting after the plugin reported its peer gone
    private string? _fullReason; // set while the sink answered Full: its batch waits at the head of the outbox
    private bool _fullRetryDue; // the plugin said it has room again (or the backoff passed): offer the batch once
    private int _fullRetries;
    private bool _breakerOpenUpstream; // what this connector last told its upstreams (lost peer or full sink)
    private bool _drainRequested; // asked while no instance could drain (waiting, restarting, swapping): drained once running
    private bool _resumePaused; // paused when the instance went away (peer lost, swap): the next one comes back paused
    private HotSwap<IActorRef>? _swap;
    private bool _pipelineHeld; // the last sink answer did not take its batch: no pipelined call until one is taken
    private int _bytesPerEvent; // of the last call into an isolated sink: how many events fill a coalesced call's bytes bound

    /// <summary>Start connecting and moving events (after every link was set up).</summary>
    internal sealed record Start;

    /// <summary>Stop pulling / delivering until <see cref="Resume"/>.</summary>
    internal sealed record Pause;

    /// <summary>Go on after <see cref="Pause"/>.</summary>
    internal sealed record Resume;

    /// <summary>Pull nothing new; flush, pass end-of-stream downstream, finish delivering.</summary>
    internal sealed record Drain;

    /// <summary>Ask for a <see cref="Status"/>.</summary>
    public sealed record GetStatus;

    /// <summary>A connector's state and counters; <paramref name="CircuitBreakerOpen"/> while a downstream sink that lost its peer holds this source back.</summary>
    public sealed record Status(string Alias, string Type, ConnectorState State, int Restarts, long EventsIn, long EventsOut, long Errors, long Dropped, string? LastError, bool CircuitBreakerOpen = false);

    /// <summary>The plugin lost its peer (<see cref="IPluginHost.ConnectionLost"/>): reconnect, holding the sources upstream back meanwhile.</summary>
    internal sealed record ConnectionLost(string Reason);

    /// <summary>The plugin has room again after its sink answered <see cref="SinkStatus.Full"/> (<see cref="IPluginHost.SinkHasRoom"/>).</summary>
    internal sealed record SinkHasRoom
    {
        public static SinkHasRoom Instance { get; } = new();
    }

    /// <summary>Reported to the flow on every state change.</summary>
    internal sealed record StateChanged(string Alias, ConnectorState State, string? Reason);

    /// <summary>Reported to the flow: the source side sent its last event (or has none).</summary>
    internal sealed record SourceFinished(string Alias);

    /// <summary>Reported to the flow: the sink side delivered everything it will get (or has none).</summary>
    internal sealed record SinkDrained(string Alias);

    /// <summary>Sink or pipeline → source: these copies of events were delivered (or dropped), with their ack weights.</summary>
    internal sealed record AckEvents(EventId[] Ids, long[] Weights);

    /// <summary>Sink or pipeline → source: these copies of events failed, with their ack weights.</summary>
    internal sealed record FailEvents(EventId[] Ids, long[] Weights, string Reason);

    /// <summary>An asynchronous sink answered for events through the host.</summary>
    internal sealed record SinkAsyncReply(EventId[] Ids, string? Error);

    /// <summary>
    /// Hot swap: replace the plugin instance by one from <paramref name="Factory"/> (the new version of its plugin). The
    /// current instance hands over what it holds (a source what it read, a sink the batch it was given) and is disposed;
    /// the links, the batches not yet handed to the plugin (the outbox) and the counters stay. Answered with <see cref="InstanceReplaced"/> once the old instance is gone.
    /// </summary>
    internal sealed record ReplaceInstance(IConnectorFactory Factory);

    /// <summary>The old plugin instance was disposed and (unless the connector is not running) a new one created.</summary>
    internal sealed record InstanceReplaced(string Alias);

    private sealed record SwapTimedOut
    {
        public static SwapTimedOut Instance { get; } = new();
    }

    private sealed record RetryConnect(int Attempt);

    private sealed record RecreateProxy
    {
        public static RecreateProxy Instance { get; } = new();
    }

    private sealed record PullAgain
    {
        public static PullAgain Instance { get; } = new();
    }

    /// <summary>The backoff of a full sink passed without it saying it has room: offer it the batch again.</summary>
    private sealed record RetryFull
    {
        public static RetryFull Instance { get; } = new();
    }

    private static readonly TimeSpan FullRetryMin = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan FullRetryMax = TimeSpan.FromSeconds(2);

    private sealed record PreviousInstanceStopped
    {
        public static PreviousInstanceStopped Instance { get; } = new();
    }

    private sealed record LogUnlinkedErrors
    {
        public static LogUnlinkedErrors Instance { get; } = new();
    }

    /// <summary>A postprocessor's hold ran out (<c>collect</c>'s <c>max-wait</c>): what it holds goes to the sink.</summary>
    private sealed record FlushHeld
    {
        public static FlushHeld Instance { get; } = new();
    }

    /// <summary>
    /// The fallback of a lingering call (<see cref="SinkLinger"/>): no batch came to complete it or to end the wait, so
    /// it goes once its oldest batch waited <c>linger</c>. Akka's scheduler fires it at the first tick after that
    /// (<c>akka.scheduler.tick-duration</c>, 10ms by default), so an input that stops right after a full batch delays
    /// it by at most <c>linger</c> plus one tick; while batches arrive the deadline is checked at each of them.
    /// </summary>
    private sealed record LingerPassed
    {
        public static LingerPassed Instance { get; } = new();
    }

    /// <summary>How far the sink side got towards the end of its stream (every upstream ended, the outbox empty).</summary>
    private enum SinkEnd
    {
        /// <summary>Taking batches.</summary>
        Open,
        /// <summary>What the postprocessors held (and a stream's trailer) went out.</summary>
        Flushed,
        /// <summary>The sink's end hook was sent to the instance.</summary>
        Ending,
        /// <summary>The end hook ran; waiting for an asynchronous sink to settle what it took.</summary>
        Ended,
        /// <summary>Everything it will get was delivered (or it has no sink side): reported to the flow.</summary>
        Drained,
    }

    /// <summary>Errors on an unlinked err port logged one by one per interval, before the rest is summed up.</summary>
    private const int UnlinkedErrorsBurst = 10;

    private static readonly TimeSpan UnlinkedErrorsInterval = TimeSpan.FromSeconds(10);

    /// <summary>How many upstream batches one call into a process-isolated plugin may carry.</summary>
    private const int CoalesceBatches = IsolationSettings.MaxBatchesPerCall;
    /// <summary>The most encoded bytes a coalesced call carries (a single batch goes whatever its size); at most half the shared region.</summary>
    private const int CoalesceBytes = 1 << 20;
    // Calls an isolated plugin has at once: the one it works on and the next, ready at its proxy.
    private const int PipelineDepth = 2;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for a connector of <paramref name="spec"/> whose plugin factory is <paramref name="factory"/>; reports go to <paramref name="flow"/>.</summary>
    internal static Props Props(ConnectorSpec spec, IConnectorFactory factory, PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, IActorRef flow) =>
        Akka.Actor.Props.Create(() => new ConnectorActor(spec, new StrongBox<IConnectorFactory>(factory), catalog, services, dataPath, flow));

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public ConnectorActor(ConnectorSpec spec, StrongBox<IConnectorFactory> provider, PluginCatalog catalog, RuntimeServices services, DataPathSettings dataPath, IActorRef flow)
    {
        _spec = spec;
        _provider = provider;
        _catalog = catalog;
        _services = services;
        _dataPath = dataPath;
        _inputCredits = new InputCredits<IActorRef>(dataPath.Credits, static (upstream, batches) => upstream.Tell(new Credit(batches)));
        _flow = flow;
        _metrics = RuntimeMetrics.Get(Context.System).RegisterConnector(spec.Alias, spec.Type, provider.Value!.Kinds, catalog.PluginOf(spec.Type));
        _pump = new SourcePump(dataPath.BatchSize, this);
        _acks = new AckRouter(this);
        if (Isolated) _linger = new SinkLinger(dataPath.BatchSize, spec.Isolation.LingerBatches, spec.Isolation.Linger);
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

    /// <summary>Calls into a process-isolated plugin are round trips to another process: batches that wait go in one.</summary>
    private bool Isolated => _spec.Isolation.Mode == "process";

    // ---- Lifecycle: one behaviour per state ----

    /// <summary>Enters a state: its behaviour and its name (reported to the flow and the metrics).</summary>
    private void Transition(ConnectorState state, Action behaviour, string? reason = null)
    {
        SetState(state, reason);
        Become(behaviour);
    }

    private void SetState(ConnectorState state, string? reason)
    {
        _state = state;
        _metrics.State = state;
        _flow.Tell(new StateChanged(_spec.Alias, state, reason));
    }

    private void Initializing()
    {
        Receive<LinkOutput>(l => _outlets.Add(l));
        Receive<Start>(_ => OnStart());
        Common();
    }

    /// <summary>The previous instance of this connector (a restart, or the same flow deployed again) is still stopping.</summary>
    private void WaitingForPreviousInstance()
    {
        Receive<PreviousInstanceStopped>(_ => StartInstance());
        Receive<Drain>(_ => _drainRequested = true);
        Common();
    }

    private void Connecting()
    {
        Receive<PluginProxy.Connected>(OnConnected);
        Receive<RetryConnect>(m =>
        {
            _connectAttempt = m.Attempt;
            _proxy?.Tell(new PluginProxy.Connect(m.Attempt));
        });
        Receive<Drain>(_ => BeginDrain());
        Receive<ReplaceInstance>(BeginSwap);
        Common();
    }

    private void Running()
    {
        Receive<Pause>(_ => BecomePaused());
        Receive<Drain>(_ => BeginDrain());
        Receive<ConnectionLost>(OnConnectionLost);
        Receive<ReplaceInstance>(BeginSwap);
        Common();
    }

    private void Paused()
    {
        Receive<Resume>(_ =>
        {
            TellHook(PluginProxy.HookKind.Resume);
            BecomeRunning();
        });
        Receive<Drain>(_ => BeginDrain());
        Receive<ConnectionLost>(OnConnectionLost);
        Receive<ReplaceInstance>(BeginSwap);
        Common();
    }

    private void Draining()
    {
        Receive<Drain>(_ => { });
        Common();
    }

    private void Restarting()
    {
        Receive<RecreateProxy>(_ => StartInstance());
        Receive<Drain>(_ => _drainRequested = true);
        Common();
    }

    /// <summary>Failed for good: what still reaches it is failed back at once, never held.</summary>
    private void Failed()
    {
        Receive<EventBatch>(RejectBatch);
        Receive<FlushHeld>(_ => { });
        Common();
    }

    /// <summary>What every state takes: the data path, acks, status, supervision, and requests that do not apply to it.</summary>
    private void Common()
    {
        Receive<LinkInput>(l =>
        {
            _upstreams.Add(l.Upstream);
            _inputCredits.Link(l.Upstream);
        });
        Receive<Credit>(c =>
        {
            _outlets.Grant(Sender, c.Batches);
            _pump.SendWaiting();
            _pump.TryPull();
        });
        Receive<PullAgain>(_ => _pump.TryPull());
        Receive<PluginProxy.Pulled>(OnPulled);
        Receive<PluginProxy.SourceStopped>(OnSourceStopped);
        Receive<PluginProxy.InstanceCreated>(m => _pump.InstanceCreated(m.Transactional, m.PullsWhileDraining));
        Receive<LogUnlinkedErrors>(_ => LogUnlinkedErrorsSummary());
        Receive<FlushHeld>(_ => OnFlushHeld());
        Receive<LingerPassed>(_ => TryDeliver());
        Receive<EventBatch>(OnEventBatch);
        Receive<EndOfStream>(_ =>
        {
            _ended.Add(Sender);
            _inputCredits.Ended(Sender);
            // Nothing follows from this upstream: a call held for its next batches goes now.
            _linger?.Release();
            TryDeliver();
            CheckSinkEnd();
        });
        Receive<PluginProxy.Delivered>(OnDelivered);
        Receive<SinkHasRoom>(_ => OfferKeptBatch());
        Receive<RetryFull>(_ => OfferKeptBatch());
        Receive<PluginProxy.HookDone>(OnHookDone);
        Receive<SinkAsyncReply>(m => Settle(m.Ids, m.Error));
        Receive<AckEvents>(m => _acks.Returned(m.Ids, m.Weights, failed: false));
        Receive<FailEvents>(m => _acks.Returned(m.Ids, m.Weights, failed: true));
        Receive<GetStatus>(_ => Sender.Tell(new Status(_spec.Alias, _spec.Type, _state, _metrics.Restarts, _metrics.EventsIn, _metrics.EventsOut, _metrics.Errors, _metrics.Dropped, _lastError, _breakers.IsOpen)));
        Receive<ConnectionLost>(m =>
        {
            // Connecting already, restarting, draining or failed: those paths deal with a dead peer themselves.
            _lastError = m.Reason;
            _log.Warning("{0}: connection lost while {1}: {2}", _spec.Alias, _state, m.Reason);
        });
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
                _pump.TryPull();
            }
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_proxy), _ => OnProxyDied());
        Receive<ReplaceInstance>(m =>
        {
            // Not started, restarting (the next instance comes from the new factory), draining or failed: no instance
            // to hand over from.
            _provider.Value = m.Factory;
            Sender.Tell(new InstanceReplaced(_spec.Alias));
        });
        Receive<LinkOutput>(l => _outlets.Add(l));
        Receive<RecreateProxy>(_ => { });
        Receive<PluginProxy.Connected>(_ => { });
        Receive<Pause>(_ => { });
        Receive<Resume>(_ => { });
        Receive<Drain>(_ => { });
        Receive<Start>(_ => { });
        Receive<RetryConnect>(_ => { });
        Receive<SwapTimedOut>(_ => { }); // a swap that finished just before its timer
    }

    private void OnStart()
    {
        var codecSpec = _spec.Codec ?? (Factory.DefaultCodec is { } d ? new ProcessorSpec(d, new PluginConfig($"{_spec.Path}.codec.config", null)) : null);
        if (Factory.Kinds.HasFlag(ConnectorKinds.Source) && (_outlets.IsLinked("out") || _outlets.IsLinked("err")))
        {
            _sourceId = _services.RegisterSource(Self);
            var codecFactory = codecSpec is null ? null : _catalog.Codec(codecSpec.Name, $"{_spec.Path}.codec");
            var codec = codecFactory?.Create(codecSpec!.Config);
            var secondCodec = codecFactory?.Create(codecSpec!.Config);
            var pre = _spec.Preprocessors.Select((p, i) => (_catalog.Preprocessor(p.Name, $"{_spec.Path}.preprocessors[{i}]"), p.Config)).ToList();
            // Transactional-ness is the plugin's to say; the decoder learns it once the instance exists (see the proxy).
            _decoder = new SourceDecoder(_spec.Alias, _sourceId, transactional: false, codec, pre, secondCodec, _services.DecodeHelpers);
        }
        else
        {
            _pump.NoSource();
        }
        if (Factory.Kinds.HasFlag(ConnectorKinds.Sink) && _upstreams.Count > 0)
        {
            var sinkCodec = codecSpec ?? new ProcessorSpec("json", new PluginConfig($"{_spec.Path}.codec.config", null));
            var codec = _catalog.Codec(sinkCodec.Name, $"{_spec.Path}.codec").Create(sinkCodec.Config);
            var post = _spec.Postprocessors.Select((p, i) => (_catalog.Postprocessor(p.Name, $"{_spec.Path}.postprocessors[{i}]"), p.Config)).ToList();
            _encoder = new SinkEncoder(codec, post, streamMeta: Factory.SinkStreamMeta);
            if (_encoder.Ledger is not null) _payloads = new PayloadDelivery<IActorRef>(_encoder, _outbox, this);
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
            previous.ContinueWith(_ => PreviousInstanceStopped.Instance, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).PipeTo(Self);
            Become(WaitingForPreviousInstance);
            return;
        }
        // Pull ids are the instance's own: a new one cannot be told of the last one's pulls (it reads from where the
        // last acknowledged data left off, or its peer delivers again what was not acknowledged).
        _acks.NewInstance();
        var host = new ConnectorHost(_spec.Alias, _services, _log, Self);
        // What the runtime does to the plugin's bytes, so a plugin can tell whether they round-trip its values (the wal).
        var context = new ConnectorContext(host, _spec.Config)
        {
            Codec = _spec.Codec?.Name ?? Factory.DefaultCodec,
            HasProcessors = _spec.Preprocessors.Count > 0 || _spec.Postprocessors.Count > 0,
        };
        _proxy = Context.ActorOf(PluginProxy.Props(Factory, context, _decoder, _services, _metrics, _stopping.Token), $"plugin-{++_instances}");
        Context.Watch(_proxy);
        BecomeConnecting(1);
    }

    private void BecomeConnecting(int attempt)
    {
        Transition(ConnectorState.Connecting, Connecting);
        _connectAttempt = attempt;
        _proxy!.Tell(new PluginProxy.Connect(attempt));
    }

    private void OnConnected(PluginProxy.Connected m)
    {
        if (m.Ok)
        {
            if (_lostReason is not null)
            {
                _lostReason = null;
                _log.Info("{0}: reconnected; circuit breaker closed upstream", _spec.Alias);
                UpdateUpstreamBreaker("reconnected");
            }
            var paused = _resumePaused && !_drainRequested;
            _resumePaused = false;
            if (paused) BecomePaused();
            else BecomeRunning();
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
        Transition(ConnectorState.Running, Running);
        // A batch the plugin died with is sent again to the new instance.
        if (_outbox.InFlight is { } pending) SendToSink(pending);
        // A new or reconnected instance may have room: a batch kept for a full sink is offered to it at once.
        if (_fullReason is not null) _fullRetryDue = true;
        if (_drainRequested)
        {
            BeginDrain();
            return;
        }
        _pump.TryPull();
        TryDeliver();
        CheckSinkEnd();
    }

    private void BecomePaused()
    {
        // A paused sink delivers nothing: what a lingering call holds goes before, as it would have without the linger.
        TryDeliver(flush: true);
        Transition(ConnectorState.Paused, Paused);
        TellHook(PluginProxy.HookKind.Pause);
    }

    private void BeginDrain()
    {
        _drainRequested = true;
        Timers.Cancel("reconnect");
        Transition(ConnectorState.Draining, Draining);
        if (_proxy is null)
        {
            // Nothing can be flushed without an instance: end the stream here.
            _pump.Finish();
            return;
        }
        TellHook(PluginProxy.HookKind.Drain);
        if (_decoder is not null && !_pump.Finished)
        {
            if (_pump.PullsWhileDraining)
            {
                // The source hands over what it already accepted: pull (after the drain hook, which the instance
                // sees first) until a pull comes back empty.
                _pump.TryPull();
            }
            else
            {
                _pump.CancelPull();
                if (!_pump.Pulling) _pump.Stop();
            }
        }
        TryDeliver();
    }

    private void OnConnectionLost(ConnectionLost m)
    {
        _lastError = m.Reason;
        _log.Warning("{0}: connection lost ({1}); circuit breaker opened upstream, reconnecting", _spec.Alias, m.Reason);
        _lostReason = m.Reason;
        _resumePaused = _state == ConnectorState.Paused;
        UpdateUpstreamBreaker($"{_spec.Alias}: {m.Reason}");
        // A pull waiting on the dead peer would hold the plugin instance: the connect must get through.
        if (_pump.Pulling) _pump.CancelPull();
        BecomeConnecting(1);
    }

    private void TellUpstreams(CircuitBreaker message)
    {
        foreach (var upstream in _upstreams) upstream.Tell(message);
    }

    /// <summary>One breaker upstream per connector, open while its peer is lost or its sink is full (either reason).</summary>
    private void UpdateUpstreamBreaker(string reason)
    {
        var open = _lostReason is not null || _fullReason is not null;
        if (open == _breakerOpenUpstream) return;
        _breakerOpenUpstream = open;
        TellUpstreams(new CircuitBreaker(open, reason));
    }

    /// <summary>
    /// The sink answered <see cref="SinkStatus.Full"/>: it took nothing. The batch goes back to the head of the
    /// outbox (never failed, never dropped), the breaker opens upstream so sources stop pulling instead of filling
    /// the links, and the batch is offered again when the plugin says it has room, or after a backoff. This
    /// connector's own source keeps pulling: in a wal, that is what frees the room.
    /// </summary>
    private void HoldWhileFull(OutboxBatch<IActorRef> batch, string? reason)
    {
        _outbox.KeepFirst(batch);
        _fullRetryDue = false;
        if (_fullReason is null)
        {
            _fullReason = reason ?? "the sink is full";
            _lastError = _fullReason;
            _log.Warning("{0}: sink full ({1}); circuit breaker opened upstream until it takes the batch", _spec.Alias, _fullReason);
            UpdateUpstreamBreaker($"{_spec.Alias}: {_fullReason}");
        }
        Timers.StartSingleTimer("sink-full", RetryFull.Instance, Backoff.Delay(FullRetryMin, FullRetryMax, 2, ++_fullRetries, 0, 0.5));
    }

    private void OfferKeptBatch()
    {
        if (_fullReason is null) return;
        _fullRetryDue = true;
        TryDeliver();
    }

    /// <summary>The sink took a batch again after it was full.</summary>
    private void RoomAgain()
    {
        _fullReason = null;
        _fullRetries = 0;
        Timers.Cancel("sink-full");
        _log.Info("{0}: sink has room again; circuit breaker closed upstream", _spec.Alias);
        UpdateUpstreamBreaker("the sink has room again");
    }

    /// <summary>
    /// One instance, one call at a time: a hook would wait behind a pull that waits for input (a server with no
    /// traffic), so the wait is cut short; the pull is taken up again after the hook.
    /// </summary>
    private void TellHook(PluginProxy.HookKind kind)
    {
        if (_proxy is null) return;
        _pump.InterruptPull();
        _proxy.Tell(new PluginProxy.Hook(kind));
    }

    private void OnProxyDied()
    {
        _proxy = null;
        _pump.InstanceGone();
        if (_sinkEnd is SinkEnd.Ending or SinkEnd.Ended) _sinkEnd = SinkEnd.Flushed; // the next instance is asked to end
        if (_state is ConnectorState.Failed) return;
        var now = Context.System.Scheduler.Now.UtcDateTime;
        _restartTimes.RemoveAll(t => now - t > _spec.Restart.Window);
        if (!_outbox.BisectingWithinBudget && _restartTimes.Count >= _spec.Restart.MaxRestarts)
        {
            Fail($"the plugin failed {_restartTimes.Count + 1} times within {_spec.Restart.Window.TotalSeconds:0}s (limit {_spec.Restart.MaxRestarts} restarts): {_lastError}");
            return;
        }
        // While a poison batch is being narrowed down, the crashes are expected: they neither count towards the
        // restart limit nor grow the backoff, within a budget, so a plugin that fails on everything still ends failed.
        var crash = _outbox.Crashed(_spec.Isolation.QuarantineAfter);
        if (crash.UncountedRestarts > 0)
        {
            // The restarts this batch caused are the data's fault, not the plugin's: they do not count to the limit.
            var caused = Math.Min(crash.UncountedRestarts, _restartTimes.Count);
            _restartTimes.RemoveRange(_restartTimes.Count - caused, caused);
        }
        if (crash.Split is { } split)
        {
            _log.Warning("{0}: a batch of {1} {2} killed the plugin {3} time(s); bisecting it to find the poison one(s)", _spec.Alias, split.Size, split.Payloads is null ? "event(s)" : "payload(s)", split.Failures);
        }
        if (crash.Poison is { } poison)
        {
            if (poison.Payloads is { } payload) PoisonedPayload(payload);
            else Poisoned(poison.Events[0], poison.Weights);
            ReturnCredits(poison);
        }
        if (crash.CountsAsRestart)
        {
            _restartTimes.Add(now);
            _consecutiveFailures++;
        }
        _metrics.Restarts++;
        _metrics.Plugin?.Restarted();
        var r = _spec.Restart;
        var delay = Backoff.Delay(r.MinBackoff, r.MaxBackoff, 2, _consecutiveFailures, r.Jitter, _random.NextDouble());
        _log.Warning("{0}: restarting the plugin instance in {1:0}ms (restart {2})", _spec.Alias, delay.TotalMilliseconds, _metrics.Restarts);
        Timers.StartSingleTimer("recreate", RecreateProxy.Instance, delay);
        Transition(ConnectorState.Restarting, Restarting, _lastError);
    }

    private void Fail(string reason)
    {
        if (_lostReason is not null || _fullReason is not null)
        {
            // Failed for good: upstream may go on (what reaches a failed connector is failed back, not held).
            _lostReason = null;
            _fullReason = null;
            Timers.Cancel("sink-full");
            UpdateUpstreamBreaker(reason);
        }
        _lastError = reason;
        _log.Error("{0}: connector failed: {1}", _spec.Alias, reason);
        Transition(ConnectorState.Failed, Failed, reason);
        if (_proxy is not null)
        {
            Context.Unwatch(_proxy);
            Context.Stop(_proxy);
            _proxy = null;
        }
        // Nothing that was handed to this connector is silently dropped: transactional sources hear of it.
        foreach (var batch in _outbox.TakeAll())
        {
            _acks.Failed(batch.Events, batch.Weights, reason);
            ReturnCredits(batch);
        }
        // Events the postprocessors held or that were in payloads not delivered: failed back too.
        _payloads?.Abandon(reason);
        _pump.Finish();
        CheckSinkEnd();
    }

    // ---- Source side: the pump pulls, this actor counts and routes ----

    private void OnPulled(PluginProxy.Pulled m)
    {
        _consecutiveFailures = 0;
        if (m.EndedStreams is { } ended) EndSinkStreams(ended);
        _metrics.EventsOut += m.Events.Length;
        var weights = _pump.Transactional ? _acks.Register(m.Events) : null;
        if (m.Errors.Length > 0)
        {
            _metrics.Errors += m.Errors.Length;
            if (_pump.Transactional)
            {
                // A transactional source hears at once that bytes it produced could not be decoded (an HTTP server
                // answers the request with an error instead of waiting for a reply that will never come).
                var rejected = m.Errors.Where(e => e.Id.PullId != ulong.MaxValue).Select(e => (e.Id, e.Data["error"].AsString() ?? e.Data["error"].ToString())).ToArray();
                if (rejected.Length > 0) _proxy?.Tell(new PluginProxy.SourceRejects(rejected));
            }
        }
        switch (_pump.Pulled(m.Events, weights, m.Errors, m.Status))
        {
            case PullOutcome.Finish:
                _pump.Finish();
                break;
            case PullOutcome.Stop:
                _pump.Stop();
                break;
            case PullOutcome.PullLater:
                Timers.StartSingleTimer("pull", PullAgain.Instance, TimeSpan.FromMilliseconds(10));
                break;
            default:
                _pump.TryPull();
                break;
        }
    }

    private void OnSourceStopped(PluginProxy.SourceStopped m)
    {
        LogUnfinished(m);
        _pump.Finish();
    }

    private void LogUnfinished(PluginProxy.SourceStopped m)
    {
        foreach (var u in m.Unfinished)
        {
            _log.Warning("{0}: stopped mid-stream: {1} byte(s) of an unfinished frame in stream {2} not emitted (its rest was not read)", _spec.Alias, u.Bytes, u.StreamId);
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
                Timers.StartSingleTimer("unlinked-errors", LogUnlinkedErrors.Instance, _unlinkedErrors.UntilWindowEnd(now));
            }
        }
    }

    private void LogUnlinkedErrorsSummary()
    {
        if (_unlinkedErrors.TakeSuppressed() is not { } suppressed) return;
        _log.Warning("{0}: {1} more error(s) not logged in the last {2:0}s (err port not linked; {3} errors so far); the last: {4}", _spec.Alias, suppressed.Count, UnlinkedErrorsInterval.TotalSeconds, _metrics.Errors, suppressed.Last);
    }

    bool IPumpPorts.IsLinked(string port) => _outlets.IsLinked(port);

    bool IPumpPorts.HasCredit(string port) => _outlets.HasCredit(port);

    bool IPumpPorts.MayPull => _proxy is not null && !_breakers.IsOpen && _outlets.AllHaveCredit;

    PullGate IPumpPorts.Gate => _state switch
    {
        ConnectorState.Running => PullGate.Open,
        ConnectorState.Draining => PullGate.Draining,
        _ => PullGate.Closed,
    };

    void IPumpPorts.Send(string port, Event[] events, long[]? weights) => _outlets.Send(port, events, Self, weights);

    void IPumpPorts.Unlinked(string port, Event[] events, long[]? weights)
    {
        if (port == "err")
        {
            LogUnlinked(events);
            return;
        }
        _metrics.Dropped += events.Length;
        // Nowhere to go is the flow's decision, not a failure: acknowledged, as a pipeline's drop is.
        if (weights is not null) _acks.Returned(events.Select(e => e.Id).ToArray(), weights, failed: false);
    }

    void IPumpPorts.Pull(int capacity, CancellationToken cancel) => _proxy?.Tell(new PluginProxy.Pull(capacity, cancel));

    /// <summary>The last step of a source's drain: no pull after it; what the preprocessors hold is dropped (see <see cref="PluginProxy.StopSource"/>).</summary>
    void IPumpPorts.StopSource() => _proxy?.Tell(PluginProxy.StopSource.Instance);

    void IPumpPorts.EndOfStream()
    {
        _outlets.EndAll(Self);
        // A completed run stops nothing: this is the report its summary reads.
        ReportTally();
    }

    void IPumpPorts.SourceFinished() => _flow.Tell(new SourceFinished(_spec.Alias));

    bool IAckRoutes.ToSource(uint sourceId, object message)
    {
        if (_services.Source(sourceId) is not { } source) return false;
        source.Tell(message);
        return true;
    }

    bool IAckRoutes.ToPlugin(EventId[] acked, EventId[] failed)
    {
        if (_proxy is null) return false;
        // One instance, one call at a time: a pull waiting for input would hold the acks back (and with them a
        // checkpoint, or an answer to a peer). Cut the wait short; the pull is taken up again right after.
        _pump.InterruptPull();
        _proxy.Tell(new PluginProxy.SourceAcks(acked, failed));
        return true;
    }

    // ---- Sink side: encoding here, the outbox keeps, the ack router settles ----

    private void OnEventBatch(EventBatch batch)
    {
        if (_encoder is null)
        {
            RejectBatch(batch);
            return;
        }
        _inputCredits.Received(Sender);
        _metrics.EventsIn += batch.Events.Length;
        if (_payloads is not null)
        {
            if (!_payloads.Stage(batch.Events, batch.Weights, Sender)) _inputCredits.Released(Sender);
            ScheduleFlush();
            TryDeliver();
            return;
        }
        _linger?.Arrived(batch.Events.Length);
        // When it arrived matters only to a lingering call: other sinks take no clock reading per batch.
        var acceptedAt = _linger is { Enabled: true } ? Stopwatch.GetTimestamp() : 0;
        _outbox.Add(new OutboxBatch<IActorRef>([Sender], batch.Events, batch.Weights, bisecting: false), acceptedAt);
        TryDeliver();
    }

    /// <summary>A batch this connector cannot take (no sink side, or failed): failed back at once, its credit returned.</summary>
    private void RejectBatch(EventBatch batch)
    {
        _metrics.EventsIn += batch.Events.Length;
        _inputCredits.Received(Sender);
        _acks.Failed(batch.Events, batch.Weights, _lastError ?? "connector failed");
        _inputCredits.Released(Sender);
    }

    /// <summary>
    /// A source stream ended (a server's connection closed): the sink stream of the same number ends with it, so what
    /// its postprocessors hold goes out now (or is failed by the sink when the peer is gone) and its state is dropped.
    /// </summary>
    private void EndSinkStreams(ulong[] ended)
    {
        if (_payloads is null || _sinkEnd != SinkEnd.Open || _state == ConnectorState.Failed) return;
        _payloads.EndStreams(ended);
        ScheduleFlush();
        TryDeliver();
    }

    private void ScheduleFlush()
    {
        if (_payloads?.FlushDueIn is { } due) Timers.StartSingleTimer("flush-held", FlushHeld.Instance, due);
        else Timers.Cancel("flush-held");
    }

    private void OnFlushHeld()
    {
        if (_payloads is null || _sinkEnd != SinkEnd.Open) return;
        _payloads.Flush(endOfStream: false);
        ScheduleFlush();
        TryDeliver();
    }

    /// <param name="flush">Send what a lingering call holds now (the connector is about to pause).</param>
    private void TryDeliver(bool flush = false)
    {
        if (_proxy is null || _state is not (ConnectorState.Running or ConnectorState.Draining)) return;
        if (_fullReason is not null && !_fullRetryDue) return;
        // An isolated plugin gets the next call while it works on the current one (depth 2): its proxy goes from one
        // answer straight to the next request, without waiting for this actor to hear the answer and encode.
        // After an answer that did not take its batch, one call at a time until one is taken: a pipelined call behind
        // it is not made (the proxy answers NotCalled), and pipelining again at once would only repeat that.
        var depth = Isolated && !_pipelineHeld ? PipelineDepth : 1;
        var holdBelow = flush ? 0 : LingerFor();
        while (_outbox.TakeNext(Isolated ? _dataPath.BatchSize * CoalesceBatches : null, depth, holdBelow) is { } next)
        {
            _fullRetryDue = false;
            // One instance, one call at a time: a pull waiting for input (a server waiting on its peers) would hold the
            // reply back. Cut the wait short; the pull is taken up again right after.
            _pump.InterruptPull();
            SendToSink(next);
            if (_fullReason is not null) return; // a full sink is offered one batch, not two
            holdBelow = LingerFor();
        }
        // Held for company: if none comes, the call goes once its oldest batch waited linger.
        if (holdBelow > 0 && _outbox.WaitingSince is { } since && !Timers.IsTimerActive("linger"))
        {
            Timers.StartSingleTimer("linger", LingerPassed.Instance, _linger!.Remaining(Stopwatch.GetTimestamp(), since));
        }
    }

    /// <summary>
    /// How many events the next call into an isolated sink waits for (0: none, it goes now): only while running (a
    /// drain, a full sink being offered its batch, a restart's retry never wait), the input saturated and the
    /// upstreams holding credit for more; never more than fit the call's bytes bound at the last call's size per event.
    /// </summary>
    private int LingerFor()
    {
        if (_linger is not { Enabled: true } linger || _state != ConnectorState.Running || _fullReason is not null) return 0;
        var fit = _bytesPerEvent > 0 ? Math.Max(1, CoalesceLimit / _bytesPerEvent) : int.MaxValue;
        return linger.HoldBelow(Stopwatch.GetTimestamp(), _outbox.WaitingSince, _inputCredits.Unspent > 0, fit);
    }

    /// <summary>
    /// Encodes here, on the connector actor, so that encoding one batch overlaps with the plugin instance decoding
    /// the next pull (a connector with both sides would otherwise do both on one thread). The encoder's buffer is
    /// reused: only one batch is ever in the sink.
    /// </summary>
    private void SendToSink(OutboxBatch<IActorRef> outgoing)
    {
        var pipelined = _outbox.Sent.Count > 1 && _outbox.Sent[0] != outgoing;
        if (outgoing.Payloads is { } payloads)
        {
            _proxy!.Tell(new PluginProxy.Deliver(outgoing.Sequence, payloads, pipelined));
            return;
        }
        outgoing.EncodeFailures.Clear();
        SinkBatch batch;
        if (outgoing.Parts is not { } parts)
        {
            batch = _encoder!.Encode(outgoing.Events, outgoing.EncodeFailures);
        }
        else
        {
            // A coalesced call stays under a bound in bytes (and so inside the shared region): the batches past it wait again.
            batch = _encoder!.Encode(outgoing.Events, outgoing.EncodeFailures, PartEnds(parts), CoalesceLimit, out var kept);
            if (kept < parts.Count) outgoing = _outbox.Trim(outgoing, kept);
        }
        if (Isolated && batch.Count > 0) _bytesPerEvent = (int)Math.Min(int.MaxValue, Math.Max(1L, batch.Bytes.Length / batch.Count));
        _proxy!.Tell(new PluginProxy.Deliver(outgoing.Sequence, batch, pipelined));
    }

    private int CoalesceLimit => (int)Math.Min(CoalesceBytes, _spec.Isolation.MaxRegionBytes / 2);

    private static int[] PartEnds(IReadOnlyList<OutboxBatch<IActorRef>> parts)
    {
        var ends = new int[parts.Count];
        var end = 0;
        for (var i = 0; i < parts.Count; i++) ends[i] = end += parts[i].Events.Length;
        return ends;
    }

    private void ReturnCredits(OutboxBatch<IActorRef> batch)
    {
        foreach (var upstream in batch.CreditTo) _inputCredits.Released(upstream);
    }

    private void OnDelivered(PluginProxy.Delivered m)
    {
        if (_outbox.Answered(m.Sequence) is not { } answered) return;
        _pipelineHeld = m.NotCalled || m.Reply.Status is not (SinkStatus.Ack or SinkStatus.Pending);
        if (m.NotCalled)
        {
            // Pipelined behind a batch the sink did not take: it waits again, behind that one.
            _outbox.KeepFirst(answered);
            TryDeliver();
            return;
        }
        if (m.Reply.Status == SinkStatus.Full)
        {
            HoldWhileFull(answered, m.Reply.Error);
            return;
        }
        if (_lostReason is not null && m.Reply.Status == SinkStatus.Fail)
        {
            // The peer went away under this batch: keep it (the outbox) and deliver it again once reconnected.
            _outbox.KeepFirst(answered);
            return;
        }
        if (_fullReason is not null) RoomAgain();
        _consecutiveFailures = 0;
        if (answered.Payloads is { } payloads)
        {
            Answered(payloads, m.Reply);
        }
        else
        {
            var (delivered, weights) = WithoutEncodeFailures(answered);
            switch (m.Reply.Status)
            {
                case SinkStatus.Ack:
                    _acks.Acked(delivered, weights);
                    break;
                case SinkStatus.Fail:
                    _metrics.Errors += delivered.Length;
                    _lastError = m.Reply.Error;
                    _acks.Failed(delivered, weights, m.Reply.Error ?? "the sink failed the batch");
                    break;
                case SinkStatus.Pending:
                    _acks.Pending(delivered, weights);
                    break;
            }
            _acks.CallAnswered();
        }
        ReturnCredits(answered);
        TryDeliver();
        CheckSinkEnd();
    }

    /// <summary>Fails back the events the encoder refused; returns the ones the plugin was given, with their weights.</summary>
    private (Event[] Events, long[]? Weights) WithoutEncodeFailures(OutboxBatch<IActorRef> answered)
    {
        if (answered.EncodeFailures.Count == 0) return (answered.Events, answered.Weights);
        var weights = answered.Weights;
        var failed = new HashSet<Event>(ReferenceEqualityComparer.Instance);
        foreach (var (e, reason) in answered.EncodeFailures)
        {
            var at = Array.IndexOf(answered.Events, e);
            EncodeFailed(e, weights is null || at < 0 ? null : [weights[at]], reason);
            failed.Add(e);
        }
        var kept = Enumerable.Range(0, answered.Events.Length).Where(i => !failed.Contains(answered.Events[i])).ToArray();
        return (kept.Select(i => answered.Events[i]).ToArray(), weights is null ? null : kept.Select(i => weights[i]).ToArray());
    }

    private void EncodeFailed(Event e, long[]? weight, string reason)
    {
        _metrics.Errors++;
        _log.Warning("{0}: event {1} could not be encoded: {2}", _spec.Alias, e.Id, reason);
        _acks.Failed([e], weight, reason);
    }

    /// <summary>The sink answered a batch of payloads: the ledger says which events that settles.</summary>
    private void Answered(SinkBatch payloads, SinkReply reply)
    {
        var ids = payloads.Events.Select(p => p.Id);
        switch (reply.Status)
        {
            case SinkStatus.Ack:
                _payloads!.Answered(ids, null);
                break;
            case SinkStatus.Fail:
                _lastError = reply.Error;
                _payloads!.Answered(ids, reply.Error ?? "the sink failed the batch");
                break;
            case SinkStatus.Pending:
                _acks.PendingPayloads(payloads.Count);
                break;
        }
    }

    void IPayloadSettlements.Acked(Event[] events, long[] weights) => _acks.Acked(events, weights);

    void IPayloadSettlements.Failed(Event[] events, long[] weights, string reason)
    {
        _metrics.Errors += events.Length;
        _acks.Failed(events, weights, reason);
    }

    void IPayloadSettlements.EncodeFailed(Event e, long weight, string reason) => EncodeFailed(e, [weight], reason);

    /// <summary>An asynchronous sink answered for events (or payloads) through the host.</summary>
    private void Settle(EventId[] ids, string? error)
    {
        if (_payloads is not null)
        {
            // Payload ids: the ledger knows the events (and their ack weights) behind them.
            _acks.PayloadsSettled(ids.Length);
            _payloads.Answered(ids, error);
        }
        else
        {
            // May run before the Pending reply it belongs to (SinkReply.Settle answers through the host first).
            var (events, weights) = SentEventsAndWeights();
            _acks.Settled(ids, error, events, weights);
        }
        if (_sinkEnd == SinkEnd.Ended && _acks.PendingAsync <= 0) MarkSinkDrained();
    }

    /// <summary>
    /// The events and weights of the batches sent and not answered: an async ack may come before its Pending reply.
    /// Events are looked up only for their weights, so without weights there is nothing to return.
    /// </summary>
    private (Event[]? Events, long[]? Weights) SentEventsAndWeights()
    {
        var sent = _outbox.Sent;
        if (sent.Count <= 1) return (_outbox.InFlight?.Events, _outbox.InFlight?.Weights);
        if (sent.All(b => b.Weights is null)) return (null, null);
        var events = sent.SelectMany(b => b.Events).ToArray();
        var weights = sent.SelectMany(b => b.Weights ?? new long[b.Events.Length]).ToArray();
        return (events, weights);
    }

    private void CheckSinkEnd()
    {
        if (_encoder is null || _sinkEnd is SinkEnd.Ending or SinkEnd.Ended or SinkEnd.Drained || _state == ConnectorState.Swapping) return;
        if (_ended.Count < _upstreams.Count || !_outbox.IsEmpty) return;
        if (_state == ConnectorState.Failed)
        {
            MarkSinkDrained();
            return;
        }
        if (_proxy is null) return; // restarting: checked again once running
        if (_payloads is not null && _sinkEnd == SinkEnd.Open)
        {
            // The end of the stream: what the postprocessors hold (and a stream's trailer) goes out before the sink ends.
            _sinkEnd = SinkEnd.Flushed;
            Timers.Cancel("flush-held");
            if (_payloads.Flush(endOfStream: true))
            {
                TryDeliver();
                return;
            }
        }
        _sinkEnd = SinkEnd.Ending;
        TellHook(PluginProxy.HookKind.SinkEnd);
    }

    private void OnHookDone(PluginProxy.HookDone m)
    {
        if (m.Kind != PluginProxy.HookKind.SinkEnd || _sinkEnd == SinkEnd.Drained) return;
        // An asynchronous sink has delivered everything only once it settled every event it took (see Settle).
        _sinkEnd = SinkEnd.Ended;
        if (_acks.PendingAsync <= 0) MarkSinkDrained();
    }

    private void MarkSinkDrained()
    {
        _sinkEnd = SinkEnd.Drained;
        // A sink's err port (quarantined events) ends with its sink side, after what waits for credit on it.
        if (_decoder is null) _pump.EndWithoutSource();
        ReportTally();
        _flow.Tell(new SinkDrained(_spec.Alias));
    }

    private void Poisoned(Event e, long[]? weights)
    {
        _metrics.Errors++;
        var reason = $"event {e.Id} kills the plugin ({_lastError}); quarantined";
        _log.Error("{0}: {1}", _spec.Alias, reason);
        _acks.Failed([e], weights, reason);
        ToErr(e, reason);
    }

    /// <summary>A payload that kills the plugin fails the events it carries; they go to the err port once settled.</summary>
    private void PoisonedPayload(SinkBatch payload)
    {
        var reason = $"a payload ({payload.Events[0].Payload.Length} bytes) kills the plugin ({_lastError}); quarantined";
        _log.Error("{0}: {1}", _spec.Alias, reason);
        foreach (var (e, _, error) in _payloads!.Answered([payload.Events[0].Id], reason))
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
        _pump.Enqueue("err", [error], null);
        _pump.SendWaiting();
    }

    // ---- Hot swap ----

    private void BeginSwap(ReplaceInstance m)
    {
        _swap = new HotSwap<IActorRef>(m.Factory, Sender, this);
        if (_state == ConnectorState.Paused) _resumePaused = true;
        Timers.Cancel("reconnect");
        if (_pump.Pulling) _pump.CancelPull();
        _log.Info("{0}: replacing the plugin instance by one of the new version", _spec.Alias);
        Transition(ConnectorState.Swapping, Swapping, "replacing the plugin instance by one of the new version");
        Timers.StartSingleTimer("swap", SwapTimedOut.Instance, _dataPath.DrainTimeout);
        _swap.Begin();
    }

    /// <summary>
    /// A hot swap: the old instance's answers drive its steps (<see cref="HotSwap{TRequester}"/>), then one of the new
    /// version connects. Nothing new is pulled or delivered meanwhile; batches that arrive wait in the outbox for the
    /// new instance.
    /// </summary>
    private void Swapping()
    {
        Receive<PluginProxy.HookDone>(m =>
        {
            if (!_swap!.HookDone(m.Kind)) OnHookDone(m);
        });
        Receive<PluginProxy.Pulled>(m =>
        {
            var swap = _swap!;
            var status = swap.SourceSees(m.Status);
            OnPulled(status == m.Status ? m : m with { Status = status });
            swap.Pulled(m.Status, m.Events.Length > 0 || m.Errors.Length > 0);
        });
        Receive<PluginProxy.SourceStopped>(m =>
        {
            // The old instance's streams end here, not the source: the new instance goes on.
            LogUnfinished(m);
            _swap!.SourceStopped();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_proxy), _ => StartSwappedInstance());
        Receive<ReplaceInstance>(m => _swap!.Newer(m.Factory, Sender));
        Receive<SwapTimedOut>(_ =>
        {
            _log.Warning("{0}: the old plugin instance did not hand over within {1}s; stopping it (a batch it holds is delivered again by the new one)", _spec.Alias, _dataPath.DrainTimeout.TotalSeconds);
            _swap!.TimedOut();
        });
        Receive<Pause>(_ => _resumePaused = true);
        Receive<Resume>(_ => _resumePaused = false);
        Receive<Drain>(_ => _drainRequested = true);
        Common();
    }

    bool ISwapSteps.SourceDone => _decoder is null || _pump.Finished;

    bool ISwapSteps.PullsWhileDraining => _pump.PullsWhileDraining;

    bool ISwapSteps.SinkDone => _encoder is null || _sinkEnd is SinkEnd.Ending or SinkEnd.Ended or SinkEnd.Drained;

    void ISwapSteps.DrainHook() => _proxy?.Tell(new PluginProxy.Hook(PluginProxy.HookKind.Drain));

    void ISwapSteps.Pull() => _proxy?.Tell(new PluginProxy.Pull(_dataPath.BatchSize, CancellationToken.None));

    void ISwapSteps.StopSource() => _proxy?.Tell(PluginProxy.StopSource.Instance);

    void ISwapSteps.EndSink() => _proxy?.Tell(new PluginProxy.Hook(PluginProxy.HookKind.SinkEnd));

    void ISwapSteps.Retire()
    {
        // Its PostStop stops and disposes the instance; Terminated follows.
        if (_proxy is not null) Context.Stop(_proxy);
    }

    private void StartSwappedInstance()
    {
        Timers.Cancel("swap");
        var swap = _swap!;
        _swap = null;
        _proxy = null;
        _pump.InstanceGone();
        if (_sinkEnd is SinkEnd.Ending or SinkEnd.Ended) _sinkEnd = SinkEnd.Flushed; // the new instance is asked to end
        _provider.Value = swap.Factory;
        foreach (var requester in swap.ReplyTo) requester.Tell(new InstanceReplaced(_spec.Alias));
        _log.Info("{0}: old plugin instance stopped; starting one of the new version once it is disposed", _spec.Alias);
        StartInstance();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        RuntimeMetrics.Get(Context.System).Unregister(_metrics);
        LogUnlinkedErrorsSummary(); // what the rate limit held back is counted, even when the interval did not end
        // Stopped mid-swap (its flow was undeployed): the old instance is gone with this actor; the swap need not wait.
        if (_swap is { } swap) foreach (var requester in swap.ReplyTo) requester.Tell(new InstanceReplaced(_spec.Alias));
        _stopping.Cancel();
        _pump.CancelPull();
        if (_sourceId != 0) _services.UnregisterSource(_sourceId);
        // What is still in the outbox (or with an asynchronous sink) is lost with this actor: the run's summary says so.
        ReportTally();
    }

    /// <summary>The counts for the run's summary: when a side finished (a run that completes stops nothing) and at stop.</summary>
    private void ReportTally()
    {
        // With a payload ledger, what the sink holds is what the ledger has not settled (the outbox holds payloads).
        var sinkHeld = _payloads is { } payloads ? payloads.Unsettled : _outbox.HeldEvents + Math.Max(0, _acks.PendingAsync);
        var held = sinkHeld + _pump.WaitingEvents; // pulled, waiting for credit downstream
        _services.Ledger.Report(Self, new Flows.DeliveryTally(_spec.Alias, _metrics.EventsOut, _metrics.EventsIn, _acks.Delivered, _acks.Lost, _metrics.Dropped - _rejectedUnlinked, held, _acks.FailedBack));
    }
}
