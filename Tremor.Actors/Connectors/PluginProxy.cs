using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Event;
using Tremor.Actors.Metrics;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Owns one plugin connector instance and makes every call into it, one at a time, on the plugin dispatcher. A
/// plugin that throws makes this actor fail; its parent <see cref="ConnectorActor"/> decides, with backoff, when to
/// re-create it, and keeps the batch that was in the call. A source that pulls beside its other calls
/// (<see cref="ISource.PullsConcurrently"/>) has each pull run as a task of its own while this actor goes on serving
/// sink batches and acks; a lifecycle call (connect, a hook, the source's stop) waits for that pull, and everything
/// sent after it waits behind it, so the calls keep their order.
/// </summary>
internal sealed class PluginProxy : ReceiveActor, IWithUnboundedStash
{
    /// <summary>The dispatcher plugin calls run on (see <c>reference.conf</c>).</summary>
    public const string Dispatcher = "akka.actor.tremor-plugin-dispatcher";

    private readonly IConnectorFactory _factory;
    private readonly ConnectorContext _context;
    private readonly SourceDecoder? _decoder;
    private readonly RuntimeServices _services;
    // Counted here, where the calls are made: once per call, never per event.
    private readonly ConnectorMetrics _metrics;
    private readonly CancellationToken _stopping;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Event> _events = new(256);
    private readonly List<Event> _errors = [];
    private IConnector? _connector;
    private SourceBatch? _batch;
    // The last sink call's answer was not a taking one (full, failed): a pipelined batch behind it is not offered.
    private bool _lastNotTaken;
    // The instance's source pulls beside its other calls (ISource.PullsConcurrently).
    private bool _pullsConcurrently;
    // That source's pull in progress, and who gets its answer; it never throws (it ends in a PullDone to this actor).
    private Task? _pullInFlight;
    private IActorRef _pullReplyTo = ActorRefs.Nobody;
    // A lifecycle call waits for the pull in progress: what comes after it waits too, in order.
    private bool _holding;
    // Cancels a pull in progress when this actor stops (the connector's own token may not: a crash of a sink call).
    private readonly CancellationTokenSource _instanceStopped = new();
    // The pull's token, linked to the connector's and to _instanceStopped; made again only when the connector's changes.
    private CancellationTokenSource? _pullCancel;
    private CancellationToken _pullCancelFor;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Connect (attempt counts from 1); answered with <see cref="Connected"/>.</summary>
    public sealed record Connect(int Attempt);

    /// <summary>The answer to <see cref="Connect"/>.</summary>
    public sealed record Connected(bool Ok, string? Error);

    /// <summary>Pull one batch; answered with <see cref="Pulled"/>.</summary>
    public sealed record Pull(int Capacity, CancellationToken Cancel);

    /// <summary>What a pull produced, decoded (the connector actor cuts it into batches: a 64 KiB chunk of lines is thousands of events).</summary>
    /// <param name="EndedStreams">The source streams that ended in this pull (a connection closed): the sink stream of the same number ends too.</param>
    public sealed record Pulled(Event[] Events, Event[] Errors, PullStatus Status, ulong[]? EndedStreams = null);

    /// <summary>
    /// Sent to the parent once the instance exists: what the source side says of itself. It travels as a message so
    /// that the connector actor never reads state this actor writes.
    /// </summary>
    /// <param name="PullsConcurrently">Sink batches and acks reach the instance while a pull waits (<see cref="ISource.PullsConcurrently"/>): they need not cut it short.</param>
    public sealed record InstanceCreated(bool Transactional, bool PullsWhileDraining, bool PullsConcurrently = false);

    /// <summary>Deliver a batch to the sink; answered with <see cref="Delivered"/>.</summary>
    /// <remarks>The batch was encoded by the connector actor, so encoding runs in parallel with this instance's pulls.</remarks>
    /// <param name="Pipelined">Sent while the batch before it was still unanswered: it is offered to the sink only if
    /// that one was taken (acked or pending); otherwise it comes back <see cref="Delivered.NotCalled"/>, so it never
    /// overtakes a batch the connector keeps to send again.</param>
    public sealed record Deliver(long Sequence, SinkBatch Batch, bool Pipelined = false);

    /// <summary>The sink's answer for batch <paramref name="Sequence"/>.</summary>
    /// <param name="NotCalled">A pipelined batch the sink was not offered (the one before it was not taken): it is
    /// to be sent again; <paramref name="Reply"/> means nothing then.</param>
    public sealed record Delivered(long Sequence, SinkReply Reply, bool NotCalled = false);

    /// <summary>
    /// The last step of a source's drain: no pull follows. What the preprocessors still hold is the start of a frame
    /// whose rest was never read (a drain is not the end of the data), so it is dropped, not decoded; answered with
    /// <see cref="SourceStopped"/>.
    /// </summary>
    public sealed record StopSource
    {
        /// <summary>The one instance.</summary>
        public static StopSource Instance { get; } = new();
    }

    /// <summary>The answer to <see cref="StopSource"/>: the unfinished frames dropped, per stream.</summary>
    public sealed record SourceStopped(IReadOnlyList<SourceDecoder.UnfinishedFrame> Unfinished);

    /// <summary>A lifecycle hook to call; answered with <see cref="HookDone"/>.</summary>
    public sealed record Hook(HookKind Kind);

    /// <summary>A lifecycle hook finished.</summary>
    public sealed record HookDone(HookKind Kind);

    /// <summary>Acks / fails to hand to the source plugin.</summary>
    public sealed record SourceAcks(IReadOnlyList<EventId> Acked, IReadOnlyList<EventId> Failed);

    /// <summary>Bytes of these pulls could not be decoded (the reason each): the source's input was bad (ISource.Reject).</summary>
    public sealed record SourceRejects(IReadOnlyList<(EventId Id, string Reason)> Rejected);

    /// <summary>A concurrent pull ended (<paramref name="Error"/> when it threw): its batch is decoded here.</summary>
    private sealed record PullDone(PullStatus Status, Exception? Error);

    /// <summary>Which hook.</summary>
    public enum HookKind
    {
        /// <summary>OnPauseAsync.</summary>
        Pause,
        /// <summary>OnResumeAsync.</summary>
        Resume,
        /// <summary>OnDrainAsync.</summary>
        Drain,
        /// <summary>Sink.OnEndAsync.</summary>
        SinkEnd,
    }

    /// <summary>Props on the plugin dispatcher.</summary>
    public static Props Props(IConnectorFactory factory, ConnectorContext context, SourceDecoder? decoder, RuntimeServices services, ConnectorMetrics metrics, CancellationToken stopping) =>
        Akka.Actor.Props.Create(() => new PluginProxy(factory, context, decoder, services, metrics, stopping)).WithDispatcher(Dispatcher);

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through their public constructor.</summary>
    public PluginProxy(IConnectorFactory factory, ConnectorContext context, SourceDecoder? decoder, RuntimeServices services, ConnectorMetrics metrics, CancellationToken stopping)
    {
        _services = services;
        _metrics = metrics;
        _factory = factory;
        _context = context;
        _decoder = decoder;
        _stopping = stopping;

        // First: while a concurrent pull runs, a lifecycle call (and everything after it) waits for its end.
        Receive<object>(WaitsForPull, _ =>
        {
            _holding = true;
            Stash.Stash();
        });

        ReceiveAsync<Connect>(async m =>
        {
            var replyTo = Sender;
            _metrics.Plugin?.Called();
            try
            {
                var ok = await Instance.ConnectAsync(m.Attempt, _stopping);
                if (!ok) _metrics.Plugin?.Failed();
                replyTo.Tell(new Connected(ok, ok ? null : "the connector reported it could not connect"));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _metrics.Plugin?.Failed();
                replyTo.Tell(new Connected(false, $"{e.GetType().Name}: {e.Message}"));
            }
        });

        ReceiveAsync<Pull>(_ => !_pullsConcurrently, async m =>
        {
            var replyTo = Sender;
            var source = StartPull(m);
            PullStatus status;
            try
            {
                status = await source.PullAsync(_batch!, m.Cancel);
            }
            catch (OperationCanceledException) when (m.Cancel.IsCancellationRequested)
            {
                status = PullStatus.Empty;
            }
            ReplyPulled(replyTo, status);
        });

        Receive<Pull>(_ => _pullsConcurrently, m =>
        {
            var source = StartPull(m);
            var cancel = PullCancel(m.Cancel);
            ValueTask<PullStatus> pulling;
            try
            {
                pulling = source.PullAsync(_batch!, cancel);
                if (pulling.IsCompleted)
                {
                    // Data was there: answered at once, no task. A pull that threw fails this actor, as any plugin call.
                    ReplyPulled(Sender, pulling.Result);
                    return;
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                ReplyPulled(Sender, PullStatus.Empty);
                return;
            }
            _pullReplyTo = Sender;
            _pullInFlight = AwaitPull(pulling, cancel, _instanceStopped.Token, Self);
        });

        Receive<PullDone>(m =>
        {
            _pullInFlight = null;
            var replyTo = _pullReplyTo;
            _pullReplyTo = ActorRefs.Nobody;
            // Thrown here, so a failed pull fails this actor as it does when the pull is awaited in the call.
            if (m.Error is { } error) ExceptionDispatchInfo.Throw(error);
            ReplyPulled(replyTo, m.Status);
            if (!_holding) return;
            _holding = false;
            Stash.UnstashAll();
        });

        Receive<StopSource>(_ => Sender.Tell(new SourceStopped(_decoder!.Abandon())));

        ReceiveAsync<Deliver>(async m =>
        {
            var replyTo = Sender;
            var sink = Instance.Sink ?? throw new InvalidOperationException($"{_context.Host.Alias} has no sink side");
            if (m.Pipelined && _lastNotTaken)
            {
                replyTo.Tell(new Delivered(m.Sequence, SinkReply.Acked, NotCalled: true));
                return;
            }
            var reply = SinkReply.Acked;
            if (m.Batch.Count > 0)
            {
                _metrics.Plugin?.Called();
                _metrics.AddBytesOut(m.Batch.Bytes.Length);
                var started = Stopwatch.GetTimestamp();
                reply = await sink.OnBatchAsync(m.Batch, _stopping);
                _metrics.RecordBatch(started);
            }
            _lastNotTaken = reply.Status is not (SinkStatus.Ack or SinkStatus.Pending);
            replyTo.Tell(new Delivered(m.Sequence, reply));
        });

        ReceiveAsync<Hook>(async m =>
        {
            var replyTo = Sender;
            var c = Instance;
            _metrics.Plugin?.Called();
            switch (m.Kind)
            {
                case HookKind.Pause: await c.OnPauseAsync(_stopping); break;
                case HookKind.Resume: await c.OnResumeAsync(_stopping); break;
                case HookKind.Drain: await c.OnDrainAsync(CancellationToken.None); break;
                case HookKind.SinkEnd:
                    if (c.Sink is { } sink) await sink.OnEndAsync(CancellationToken.None);
                    break;
            }
            replyTo.Tell(new HookDone(m.Kind));
        });

        Receive<SourceAcks>(m =>
        {
            if (Instance.Source is not { } source) return;
            _metrics.Plugin?.Called();
            foreach (var id in m.Acked) source.Ack(id.StreamId, id.PullId);
            foreach (var id in m.Failed) source.Fail(id.StreamId, id.PullId);
        });

        Receive<SourceRejects>(m =>
        {
            if (Instance.Source is not { } source) return;
            _metrics.Plugin?.Called();
            foreach (var (id, reason) in m.Rejected) source.Reject(id.StreamId, id.PullId, reason);
        });
    }

    private IConnector Instance => _connector ?? throw new InvalidOperationException("the plugin instance is not created");

    /// <summary>
    /// While a concurrent pull runs, sink batches and acks are served beside it; a lifecycle call (or another pull)
    /// waits for it, and once one waits, so does everything after it.
    /// </summary>
    private bool WaitsForPull(object message)
    {
        if (message is PullDone) return false;
        return _holding || (_pullInFlight is not null && message is Connect or Hook or StopSource or Pull);
    }

    private ISource StartPull(Pull m)
    {
        var source = Instance.Source ?? throw new InvalidOperationException($"{_context.Host.Alias} has no source side");
        _batch ??= new SourceBatch(m.Capacity);
        _batch.Clear();
        _metrics.Plugin?.Called();
        return source;
    }

    /// <summary>The token of a concurrent pull: the connector's (interrupts, drains, stops) or this actor's stop.</summary>
    private CancellationToken PullCancel(CancellationToken connector)
    {
        if (_pullCancel is null || _pullCancelFor != connector)
        {
            _pullCancel?.Dispose();
            _pullCancel = CancellationTokenSource.CreateLinkedTokenSource(connector, _instanceStopped.Token);
            _pullCancelFor = connector;
        }
        return _pullCancel.Token;
    }

    /// <summary>Waits for a concurrent pull off this actor and tells it how it ended; never throws.</summary>
    private static async Task AwaitPull(ValueTask<PullStatus> pulling, CancellationToken cancel, CancellationToken stopped, IActorRef self)
    {
        PullDone done;
        try
        {
            done = new PullDone(await pulling.ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            done = new PullDone(PullStatus.Empty, null);
        }
        catch (Exception e)
        {
            done = new PullDone(PullStatus.Empty, e);
        }
        // A stopped proxy has no one to tell (its instance is being stopped).
        if (!stopped.IsCancellationRequested) self.Tell(done, ActorRefs.NoSender);
    }

    /// <summary>Decodes what the pull brought (here, on this actor: the decoder is used by one call at a time) and answers it.</summary>
    private void ReplyPulled(IActorRef replyTo, PullStatus status)
    {
        var batch = _batch!;
        _events.Clear();
        _errors.Clear();
        _metrics.AddBytesIn(RawBytes(batch));
        _decoder!.Decode(batch, _events, _errors);
        // Finished is the end of the data: what the preprocessors hold is complete and is decoded.
        if (status == PullStatus.Finished) _decoder.FinishAll(_events, _errors);
        replyTo.Tell(new Pulled(_events.ToArray(), _errors.ToArray(), status, EndedStreams(batch)));
    }

    private static long RawBytes(SourceBatch batch)
    {
        long bytes = 0;
        for (var i = 0; i < batch.Count; i++) bytes += batch[i].Data.Length;
        return bytes;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        // Creating the instance can fail (bad config the checks missed, plugin bug): that fails this actor and the
        // parent's backoff applies, like any other plugin failure.
        _metrics.Plugin?.Called();
        _connector = _factory.Create(_context);
        if (_decoder is not null && _connector.Source is { } source)
        {
            // The decoder is this actor's while it lives (the connector actor only keeps it for the next instance).
            _decoder.Transactional = source.IsTransactional;
            _pullsConcurrently = source.PullsConcurrently;
            Context.Parent.Tell(new InstanceCreated(source.IsTransactional, source.PullsWhileDraining, _pullsConcurrently));
        }
    }

    /// <summary>How long stopping and disposing an instance may take before the runtime goes on without it.</summary>
    internal static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    protected override void PostStop()
    {
        // A concurrent pull still waiting ends now; the instance is stopped only after it.
        _instanceStopped.Cancel();
        _pullCancel?.Dispose();
        if (_connector is null) return;
        var connector = _connector;
        _connector = null;
        _services.TrackInstanceStop(_context.Host.Alias, StopInstanceAsync(connector, _pullInFlight, _context.Host.Alias, _log));
    }

    /// <summary>
    /// Stops and disposes an instance on a thread of its own, never on the plugin dispatcher whose few threads every
    /// other connector needs: a plugin may block there (joining its threads, a peer that does not answer). The wait
    /// for it is bounded and logged; a plugin still stuck after it keeps only its own thread.
    /// </summary>
    private static async Task StopInstanceAsync(IConnector connector, Task? pullInFlight, string alias, ILoggingAdapter log)
    {
        var stopping = Task.Factory.StartNew(
            async () =>
            {
                try
                {
                    // The pull was cancelled; the instance is not stopped under it (AwaitPull never throws).
                    if (pullInFlight is not null) await pullInFlight.ConfigureAwait(false);
                    await connector.OnStopAsync(CancellationToken.None);
                }
                finally
                {
                    await connector.DisposeAsync();
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
        try
        {
            await stopping.WaitAsync(StopTimeout);
        }
        catch (TimeoutException)
        {
            log.Warning("{0}: the plugin instance did not stop within {1:0}s; going on without it", alias, StopTimeout.TotalSeconds);
        }
        catch (Exception e)
        {
            log.Warning("{0}: stopping the plugin instance failed: {1}", alias, e.Message);
        }
    }

    private static ulong[]? EndedStreams(SourceBatch batch)
    {
        List<ulong>? ended = null;
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].IsStreamEnd) (ended ??= []).Add(batch[i].StreamId);
        }
        return ended?.ToArray();
    }
}
