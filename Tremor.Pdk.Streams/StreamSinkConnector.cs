using System.Collections.Concurrent;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Tremor.Pdk.Streams;

/// <summary>One event handed to a streamed sink: its id, its encoded bytes (a copy the item owns) and the structured event.</summary>
/// <param name="Id">The event's id; what leaves the delivery flow is acked by it.</param>
/// <param name="Payload">What the codec and postprocessors made of it.</param>
/// <param name="Event">The structured event, for sinks that want values or metadata.</param>
public sealed record SinkItem(EventId Id, ReadOnlyMemory<byte> Payload, Event Event);

/// <summary>
/// A sink connector whose delivery is an Akka.Streams <see cref="Flow{TIn,TOut,TMat}"/>: implement
/// <see cref="CreateDelivery"/>; every event goes in as a <see cref="SinkItem"/>, and an item that comes out of the flow
/// was delivered and is acked. A batch is offered into a bounded queue in front of the flow: when the flow is slower
/// than the upstream, the batch call waits for room, so the runtime keeps the next batches in its outbox and grants no
/// more credit upstream. Replies are <see cref="SinkStatus.Pending"/>: acks follow as items come out. A flow that
/// fails fails every event still in it, and the next batch call throws, so the runtime re-creates the instance and
/// retries that batch.
/// </summary>
public abstract class StreamSinkConnector : ConnectorBase, ISink
{
    private readonly IPluginHost _host;
    private readonly int _buffer;
    private readonly ConcurrentDictionary<EventId, byte> _inFlight = new();
    private ISourceQueueWithComplete<SinkItem>? _queue;
    private Task? _done;

    /// <summary>An instance for <paramref name="context"/>; at most <paramref name="buffer"/> events wait in front of the flow.</summary>
    protected StreamSinkConnector(ConnectorContext context, int buffer = 16)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer, 1);
        _host = context.Host;
        _buffer = buffer;
    }

    /// <summary>The instance's delivery, built and run once, when it first connects: it emits each item once delivered.</summary>
    protected abstract Flow<SinkItem, SinkItem, NotUsed> CreateDelivery(IStreamsHost streams);

    /// <summary>Runs the delivery flow (once per instance).</summary>
    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_queue is null)
        {
            var streams = StreamsHost.For(_host);
            (_queue, _done) = Akka.Streams.Dsl.Source.Queue<SinkItem>(_buffer, OverflowStrategy.Backpressure)
                .Via(CreateDelivery(streams))
                .ToMaterialized(Akka.Streams.Dsl.Sink.ForEach<SinkItem>(Delivered), Keep.Both)
                .Run(streams.Materializer);
            _done.ContinueWith(t => FailInFlight(t.Exception?.GetBaseException().Message ?? "the delivery stream ended"), CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var queue = _queue ?? throw new InvalidOperationException($"{_host.Alias}: a batch before ConnectAsync");
        if (_done is { IsFaulted: true } failed) throw new IOException($"{_host.Alias}: the delivery stream failed: {failed.Exception?.GetBaseException().Message}", failed.Exception);
        var events = batch.Events;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            _inFlight[e.Id] = 0;
            IQueueOfferResult? offered;
            try
            {
                // The batch is lent for this call: the item keeps a copy of the bytes. An offer waiting for room when
                // the stream fails is not always answered, so the stream's end also ends the wait.
                var offer = queue.OfferAsync(new SinkItem(e.Id, e.Payload.ToArray(), e.Event));
                if (_done is { } done) await Task.WhenAny(offer, done).WaitAsync(cancellationToken);
                offered = offer.IsCompletedSuccessfully ? offer.Result : await OfferOrNullAsync(offer, cancellationToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                offered = null;
            }
            if (offered is QueueOfferResult.Enqueued) continue;
            // The stream ended under this batch: what it held and what it never took are failed with its reason, so
            // the batch is settled (a retry would deliver twice what was acked); the next batch call throws.
            var reason = await FailureOfAsync(offered, cancellationToken);
            var unsent = events.Skip(i + 1).Select(x => x.Id).ToList();
            if (_inFlight.TryRemove(e.Id, out _)) unsent.Insert(0, e.Id);
            FailInFlight(reason);
            if (unsent.Count > 0) _host.Fail(unsent, reason);
            return SinkReply.Pending;
        }
        // Failed meanwhile: the ones added after the failure was handled are failed now.
        if (_done is { IsCompleted: true, IsCompletedSuccessfully: false }) FailInFlight(await FailureOfAsync(null, cancellationToken));
        return SinkReply.Pending;
    }

    /// <summary>Why the stream took no more: its failure, once it terminated, or what the queue answered.</summary>
    private async Task<string> FailureOfAsync(IQueueOfferResult? offered, CancellationToken cancellationToken)
    {
        if (offered is null && _done is not null)
        {
            try
            {
                await _done.WaitAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return e.GetBaseException().Message;
            }
        }
        return $"the delivery stream took no more events ({offered?.ToString() ?? "it ended"})";
    }

    /// <summary>No more events: lets the flow deliver what it holds, then returns.</summary>
    public async ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        if (_queue is null || _done is null) return;
        _queue.Complete();
        try
        {
            await _done.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Already failed back to the runtime (FailInFlight); the end itself went through.
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        _queue?.Complete();
        return base.DisposeAsync();
    }

    private void Delivered(SinkItem item)
    {
        if (_inFlight.TryRemove(item.Id, out _)) _host.Ack([item.Id]);
    }

    /// <summary>
    /// Fails what the flow still holds. The stream's end and a batch call can both get here: each fails only the ids it
    /// took out itself, so no event is failed twice.
    /// </summary>
    private void FailInFlight(string reason)
    {
        var ids = new List<EventId>();
        foreach (var id in _inFlight.Keys)
        {
            if (_inFlight.TryRemove(id, out _)) ids.Add(id);
        }
        if (ids.Count > 0) _host.Fail(ids, reason);
    }

    /// <summary>The offer's answer if it has one by now (a failed or unanswered offer is null: the stream ended).</summary>
    private static async Task<IQueueOfferResult?> OfferOrNullAsync(Task<IQueueOfferResult> offer, CancellationToken cancellationToken)
    {
        if (!offer.IsCompleted) return null;
        return await offer.WaitAsync(cancellationToken);
    }
}
