using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Tremor.Actors.Metrics;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Owns one plugin connector instance and makes every call into it, one at a time, on the plugin dispatcher. A
/// plugin that throws makes this actor fail; its parent <see cref="ConnectorActor"/> decides, with backoff, when to
/// re-create it, and keeps the batch that was in the call.
/// </summary>
internal sealed class PluginProxy : ReceiveActor
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
    public sealed record InstanceCreated(bool Transactional, bool PullsWhileDraining);

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

        ReceiveAsync<Pull>(async m =>
        {
            var replyTo = Sender;
            var source = Instance.Source ?? throw new InvalidOperationException($"{_context.Host.Alias} has no source side");
            _batch ??= new SourceBatch(m.Capacity);
            _batch.Clear();
            _metrics.Plugin?.Called();
            PullStatus status;
            try
            {
                status = await source.PullAsync(_batch, m.Cancel);
            }
            catch (OperationCanceledException) when (m.Cancel.IsCancellationRequested)
            {
                status = PullStatus.Empty;
            }
            _events.Clear();
            _errors.Clear();
            _metrics.AddBytesIn(RawBytes(_batch));
            _decoder!.Decode(_batch, _events, _errors);
            // Finished is the end of the data: what the preprocessors hold is complete and is decoded.
            if (status == PullStatus.Finished) _decoder.FinishAll(_events, _errors);
            replyTo.Tell(new Pulled(_events.ToArray(), _errors.ToArray(), status, EndedStreams(_batch)));
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
            Context.Parent.Tell(new InstanceCreated(source.IsTransactional, source.PullsWhileDraining));
        }
    }

    /// <summary>How long stopping and disposing an instance may take before the runtime goes on without it.</summary>
    internal static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_connector is null) return;
        var connector = _connector;
        _connector = null;
        _services.TrackInstanceStop(_context.Host.Alias, StopInstanceAsync(connector, _context.Host.Alias, _log));
    }

    /// <summary>
    /// Stops and disposes an instance on a thread of its own, never on the plugin dispatcher whose few threads every
    /// other connector needs: a plugin may block there (joining its threads, a peer that does not answer). The wait
    /// for it is bounded and logged; a plugin still stuck after it keeps only its own thread.
    /// </summary>
    private static async Task StopInstanceAsync(IConnector connector, string alias, ILoggingAdapter log)
    {
        var stopping = Task.Factory.StartNew(
            async () =>
            {
                try
                {
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
