using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Util;

namespace Tremor.Pdk.Streams;

/// <summary>
/// A source connector whose data is an Akka.Streams <see cref="Source{TOut,TMat}"/>: implement
/// <see cref="CreateSource"/> and the runtime pulls the stream with its credits as demand. The graph is materialised
/// once per instance, when it connects, into a bounded queue; the runtime pulls (takes up to a batch from the queue)
/// only while every downstream granted credit, and the queue asks upstream only for what it has room for, so an
/// unconsumed stream is back-pressured, never buffered without bound. Reconnecting (<c>RestartSource.WithBackoff</c>),
/// framing (<c>Framing.Delimiter</c>) and throttling belong inside the graph. A stream that fails fails the pull that
/// reaches the failure: the runtime then re-creates the instance after its restart backoff, as for any plugin that
/// throws; a stream that completes finishes the source.
/// </summary>
public abstract class StreamSourceConnector : ConnectorBase, ISource
{
    private readonly IPluginHost _host;
    private readonly int _buffer;
    private ISinkQueue<SourceItem>? _queue;
    private UniqueKillSwitch? _stop;
    private Task<Option<SourceItem>>? _pending;

    /// <summary>An instance for <paramref name="context"/>; at most <paramref name="buffer"/> elements (a power of two) are read ahead of the runtime's pulls.</summary>
    protected StreamSourceConnector(ConnectorContext context, int buffer = 16)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (buffer < 1 || (buffer & (buffer - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(buffer), buffer, "a power of two, at least 1");
        _host = context.Host;
        _buffer = buffer;
    }

    /// <inheritdoc />
    public virtual bool IsTransactional => false;

    /// <summary>
    /// The instance's stream, built and run once, when it first connects. It may run forever (a live connection), or
    /// complete (the source is finished).
    /// </summary>
    protected abstract Source<SourceItem, NotUsed> CreateSource(IStreamsHost streams);

    /// <summary>Runs the stream (once per instance); connecting to the outside world is the graph's own business.</summary>
    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_queue is null)
        {
            var streams = StreamsHost.For(_host);
            var queue = Akka.Streams.Dsl.Sink.Queue<SourceItem>().WithAttributes(Attributes.CreateInputBuffer(_buffer, _buffer));
            (_stop, _queue) = CreateSource(streams)
                .ViaMaterialized(KillSwitches.Single<SourceItem>(), Keep.Right)
                .ToMaterialized(queue, Keep.Both)
                .Run(streams.Materializer);
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var queue = _queue ?? throw new InvalidOperationException($"{_host.Alias}: pulled before ConnectAsync");
        // A queue takes one pull at a time: a pull the runtime cancelled stays pending and is awaited by the next one.
        _pending ??= queue.PullAsync();
        Option<SourceItem> next;
        try
        {
            next = await _pending.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PullStatus.Empty;
        }
        while (true)
        {
            _pending = null;
            if (!next.HasValue) return PullStatus.Finished;
            Add(batch, next.Value);
            if (batch.IsFull) return PullStatus.Data;
            // Only what is already there joins this batch; a failure waits for the next pull, so what came before it is delivered.
            _pending = queue.PullAsync();
            if (!_pending.IsCompletedSuccessfully) return PullStatus.Data;
            next = _pending.Result;
        }
    }

    /// <inheritdoc />
    public virtual void Ack(ulong streamId, ulong pullId)
    {
    }

    /// <inheritdoc />
    public virtual void Fail(ulong streamId, ulong pullId)
    {
    }

    /// <inheritdoc />
    public override ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        _stop?.Shutdown();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        _stop?.Shutdown();
        return base.DisposeAsync();
    }

    private static void Add(SourceBatch batch, SourceItem item)
    {
        if (item.IsStreamEnd) batch.EndStream(item.StreamId);
        else if (item.IsStructured) batch.AddStructured(item.Structured, item.StreamId, 0, item.Meta);
        else batch.Add(item.Data, item.StreamId, 0, item.Meta);
    }
}
