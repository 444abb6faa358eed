namespace Tremor.Pdk;

/// <summary>Which sides a connector type has.</summary>
[Flags]
public enum ConnectorKinds
{
    /// <summary>Neither (not valid for a factory).</summary>
    None = 0,
    /// <summary>Produces events (port <c>out</c>, and <c>err</c> for what could not be decoded).</summary>
    Source = 1,
    /// <summary>Consumes events (port <c>in</c>).</summary>
    Sink = 2,
    /// <summary>Both.</summary>
    Both = Source | Sink,
}

/// <summary>What a connector instance is created with.</summary>
/// <param name="Host">The runtime services for this instance.</param>
/// <param name="Config">The connector's <c>config { ... }</c> section.</param>
public sealed record ConnectorContext(IPluginHost Host, PluginConfig Config)
{
    /// <summary>
    /// The codec of this connector as the flow configured it (named in the flow, else the factory's
    /// <see cref="IConnectorFactory.DefaultCodec"/>): what the runtime decodes the source's raw chunks with and encodes
    /// the sink's events with. Null when it has none or the host does not say (before PDK 1.4, or while a flow is only
    /// validated). Added in PDK 1.4.
    /// </summary>
    public string? Codec { get; init; }

    /// <summary>
    /// True when the flow gives this connector preprocessors or postprocessors, so a sink's payloads are more than
    /// the codec's bytes and a source's chunks pass through more than the codec. Added in PDK 1.4.
    /// </summary>
    public bool HasProcessors { get; init; }
}

/// <summary>Creates connector instances of one type (<c>metronome</c>, <c>file</c>, ...).</summary>
public interface IConnectorFactory
{
    /// <summary>The connector type as written in a flow (<c>type = metronome</c>).</summary>
    string Type { get; }

    /// <summary>One line for <c>tremor plugins list</c>.</summary>
    string Description { get; }

    /// <summary>Which sides instances have.</summary>
    ConnectorKinds Kinds { get; }

    /// <summary>The codec used when the flow names none; null means events cross structured (no codec).</summary>
    string? DefaultCodec { get; }

    /// <summary>
    /// Creates an instance. Validate <see cref="ConnectorContext.Config"/> here and throw <see cref="ConfigException"/>
    /// for bad values, so a flow with a bad config does not start. Do no I/O here: that belongs in
    /// <see cref="IConnector.ConnectAsync"/>.
    /// </summary>
    IConnector Create(ConnectorContext context);

    /// <summary>
    /// The metadata path (<c>["tcp_server", "stream"]</c>) whose value names the stream of the sink an event is written
    /// to, when the sink writes to several (a server's connections); null (the default) when it writes one.
    /// Postprocessors that keep state across events (<c>collect</c>, <c>chunk</c>, <c>streaming-compress</c>) keep it
    /// per value found there, so the payloads of two streams never mix; events without the value share one stream. The
    /// value should be the number of the source stream the connection reads (<see cref="SourceBatch.EndStream"/> of
    /// that number ends the sink stream too, dropping its state). Added in PDK 1.3.
    /// </summary>
    IReadOnlyList<string>? SinkStreamMeta => null;
}

/// <summary>
/// One running connector. The runtime calls it from one thread at a time (not always the same thread) and never
/// re-enters it. Lifecycle: <see cref="ConnectAsync"/> (retried with backoff while it fails), then data calls,
/// with pause / resume / drain / stop hooks, then <see cref="IAsyncDisposable.DisposeAsync"/>.
/// </summary>
public interface IConnector : IAsyncDisposable
{
    /// <summary>The source side, or null.</summary>
    ISource? Source { get; }

    /// <summary>The sink side, or null.</summary>
    ISink? Sink { get; }

    /// <summary>
    /// Connects to the outside world. Return false (or throw) to have the runtime retry with its reconnect
    /// strategy; <paramref name="attempt"/> counts from 1.
    /// </summary>
    ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken);

    /// <summary>The source should stop producing for now (pulls stop until resume).</summary>
    ValueTask OnPauseAsync(CancellationToken cancellationToken);

    /// <summary>Producing may go on.</summary>
    ValueTask OnResumeAsync(CancellationToken cancellationToken);

    /// <summary>No more pulls will come: flush what is buffered.</summary>
    ValueTask OnDrainAsync(CancellationToken cancellationToken);

    /// <summary>The runtime is about to dispose the instance.</summary>
    ValueTask OnStopAsync(CancellationToken cancellationToken);
}

/// <summary>A convenient base: lifecycle hooks do nothing, connect succeeds at once.</summary>
public abstract class ConnectorBase : IConnector
{
    /// <inheritdoc />
    public virtual ISource? Source => this as ISource;

    /// <inheritdoc />
    public virtual ISink? Sink => this as ISink;

    /// <inheritdoc />
    public virtual ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    /// <inheritdoc />
    public virtual ValueTask OnPauseAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask OnResumeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask OnDrainAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask OnStopAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>What a pull produced.</summary>
public enum PullStatus
{
    /// <summary>The batch holds chunks (it may still be empty, e.g. only stream ends).</summary>
    Data,
    /// <summary>Nothing right now; the runtime pulls again after a short pause.</summary>
    Empty,
    /// <summary>The source is exhausted: whatever is in the batch is the last; the runtime drains the flow.</summary>
    Finished,
}

/// <summary>The source side of a connector.</summary>
public interface ISource
{
    /// <summary>When true every event gets an <see cref="Ack"/> or <see cref="Fail"/> once its sinks are done with it.</summary>
    bool IsTransactional { get; }

    /// <summary>
    /// When true, after <see cref="IConnector.OnDrainAsync"/> the runtime keeps pulling until a pull returns
    /// <see cref="PullStatus.Finished"/> or comes back with nothing, so what the source had already accepted (reads
    /// queued from open connections) is delivered instead of dropped; once draining, accept nothing new. When false
    /// (the default) nothing is pulled after the drain. Added in PDK 1.1.
    /// </summary>
    bool PullsWhileDraining => false;

    /// <summary>
    /// Fills <paramref name="batch"/> with up to <see cref="SourceBatch.Capacity"/> chunks. It may wait for data
    /// asynchronously; it must return promptly when <paramref name="cancellationToken"/> fires (return
    /// <see cref="PullStatus.Empty"/> or throw <see cref="OperationCanceledException"/>: the runtime treats both alike).
    /// The runtime cancels a waiting pull when the instance has other work (a sink batch, a hook), so a pull may wait
    /// for input as long as it takes: an idle source needs no timer.
    /// </summary>
    ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken);

    /// <summary>Every event from the pull <paramref name="pullId"/> on the stream was delivered.</summary>
    void Ack(ulong streamId, ulong pullId);

    /// <summary>An event from the pull <paramref name="pullId"/> on the stream failed.</summary>
    void Fail(ulong streamId, ulong pullId);

    /// <summary>
    /// Bytes from the pull <paramref name="pullId"/> on the stream could not be preprocessed or decoded, so they never
    /// became an event (they went to the connector's <c>err</c> port); <paramref name="reason"/> is the preprocessor's or
    /// codec's message. The input was bad, not the flow: a request/response source can tell its client so (an HTTP
    /// server answers 400 with the reason). Called for transactional sources. The default treats it as
    /// <see cref="Fail"/>; a host that predates it calls <see cref="Fail"/>.
    /// </summary>
    void Reject(ulong streamId, ulong pullId, string reason) => Fail(streamId, pullId);
}

/// <summary>The chunks one pull produced. Owned by the runtime and reused: keep nothing of it after the pull returns.</summary>
public sealed class SourceBatch
{
    private readonly List<SourceChunk> _chunks;
    private ulong _nextPullId;

    /// <summary>A batch with room for <paramref name="capacity"/> chunks.</summary>
    public SourceBatch(int capacity)
    {
        Capacity = capacity;
        _chunks = new List<SourceChunk>(capacity);
    }

    /// <summary>How many chunks the runtime wants at most.</summary>
    public int Capacity { get; }

    /// <summary>How many chunks are in the batch.</summary>
    public int Count => _chunks.Count;

    /// <summary>True when no more chunks fit.</summary>
    public bool IsFull => _chunks.Count >= Capacity;

    /// <summary>The chunk at a position.</summary>
    public SourceChunk this[int index] => _chunks[index];

    /// <summary>
    /// Adds raw bytes to go through the connector's preprocessors and codec. The memory must stay valid and unchanged
    /// until the next pull (the runtime decodes before pulling again). Returns the pull id that acks will name.
    /// </summary>
    public ulong Add(ReadOnlyMemory<byte> data, ulong streamId = 0, ulong ingestNs = 0, Value meta = default) =>
        AddData(data, streamId, ingestNs, meta, immutable: false);

    /// <summary>
    /// As <see cref="Add"/>, for bytes that nothing changes again (a fresh array per message, or data held unchanged
    /// for the whole run): the runtime may keep slices of them in the events it decodes instead of copies (the json
    /// and msgpack codecs keep long strings), so decoding allocates less, and the memory stays alive while an event
    /// holds such a slice. Use <see cref="Add"/> for a buffer the source reuses. Added in PDK 1.5: call it only on a
    /// host of PDK 1.5 or later (the method is missing in an older one).
    /// </summary>
    public ulong AddImmutable(ReadOnlyMemory<byte> data, ulong streamId = 0, ulong ingestNs = 0, Value meta = default) =>
        AddData(data, streamId, ingestNs, meta, immutable: true);

    private ulong AddData(ReadOnlyMemory<byte> data, ulong streamId, ulong ingestNs, Value meta, bool immutable)
    {
        var id = _nextPullId++;
        _chunks.Add(new SourceChunk(id, streamId, ingestNs, data, default, false, meta, false) { IsImmutable = immutable });
        return id;
    }

    /// <summary>Adds an already structured event that skips preprocessors and codec. Returns its pull id.</summary>
    public ulong AddStructured(Value data, ulong streamId = 0, ulong ingestNs = 0, Value meta = default)
    {
        var id = _nextPullId++;
        _chunks.Add(new SourceChunk(id, streamId, ingestNs, default, data, true, meta, false));
        return id;
    }

    /// <summary>
    /// Adds an already structured event for the connector's <c>err</c> port (a command the connector could not carry
    /// out, with what went wrong in its data or metadata). Returns its pull id. Added in PDK 1.2.
    /// </summary>
    public ulong AddError(Value data, ulong streamId = 0, ulong ingestNs = 0, Value meta = default)
    {
        var id = _nextPullId++;
        _chunks.Add(new SourceChunk(id, streamId, ingestNs, default, data, true, meta, false) { IsError = true });
        return id;
    }

    /// <summary>The stream ended (connection closed, file done): the runtime flushes its preprocessor state.</summary>
    public void EndStream(ulong streamId) =>
        _chunks.Add(new SourceChunk(ulong.MaxValue, streamId, 0, default, default, false, default, true));

    /// <summary>For the runtime: empties the batch for the next pull.</summary>
    public void Clear() => _chunks.Clear();
}

/// <summary>One chunk of a <see cref="SourceBatch"/>.</summary>
/// <param name="PullId">What <see cref="ISource.Ack"/> will be called with.</param>
/// <param name="StreamId">The stream it belongs to.</param>
/// <param name="IngestNs">When it was ingested (0: the runtime stamps it).</param>
/// <param name="Data">Raw bytes, unless <paramref name="IsStructured"/>.</param>
/// <param name="Structured">The value, when <paramref name="IsStructured"/>.</param>
/// <param name="IsStructured">True for <see cref="SourceBatch.AddStructured"/> chunks.</param>
/// <param name="Meta">Metadata for the events made from it.</param>
/// <param name="IsStreamEnd">True for <see cref="SourceBatch.EndStream"/> markers.</param>
public readonly record struct SourceChunk(
    ulong PullId,
    ulong StreamId,
    ulong IngestNs,
    ReadOnlyMemory<byte> Data,
    Value Structured,
    bool IsStructured,
    Value Meta,
    bool IsStreamEnd)
{
    /// <summary>True for <see cref="SourceBatch.AddError"/> chunks: the event goes to the <c>err</c> port.</summary>
    public bool IsError { get; init; }

    /// <summary>True for <see cref="SourceBatch.AddImmutable"/> chunks: nothing changes <see cref="Data"/> again. Added in PDK 1.5.</summary>
    public bool IsImmutable { get; init; }
}

/// <summary>How a sink answers a batch.</summary>
public enum SinkStatus
{
    /// <summary>Every event was delivered.</summary>
    Ack,
    /// <summary>Delivery failed for every event (transactional sources are told).</summary>
    Fail,
    /// <summary>The sink acks or fails the ids later through <see cref="IPluginHost.Ack"/> / <see cref="IPluginHost.Fail"/>.</summary>
    Pending,
    /// <summary>
    /// The sink took nothing of the batch because a bound of its own is reached (a durable queue at its size limit)
    /// and will have room again later. The runtime keeps the batch, opens the circuit breaker upstream so sources stop
    /// pulling, and offers the same batch again once the plugin calls <see cref="IPluginHost.SinkHasRoom"/> (or after a
    /// backoff); the breaker closes when a batch is taken. The connector's own source side keeps running. Nothing is
    /// failed or dropped. Added in PDK 1.3: reply it only to a host of PDK 1.3 or later.
    /// </summary>
    Full,
}

/// <summary>The answer to <see cref="ISink.OnBatchAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Error">Why, for <see cref="SinkStatus.Fail"/> and <see cref="SinkStatus.Full"/>.</param>
public readonly record struct SinkReply(SinkStatus Status, string? Error = null)
{
    /// <summary>All delivered.</summary>
    public static SinkReply Acked => new(SinkStatus.Ack);

    /// <summary>Will be answered later through the host.</summary>
    public static SinkReply Pending => new(SinkStatus.Pending);

    /// <summary>All failed, with a reason.</summary>
    public static SinkReply Failed(string reason) => new(SinkStatus.Fail, reason);

    /// <summary>Nothing taken, the sink is at its bound: keep the batch and offer it again (see <see cref="SinkStatus.Full"/>). Added in PDK 1.3.</summary>
    public static SinkReply Full(string reason) => new(SinkStatus.Full, reason);

    /// <summary>
    /// The reply for a batch whose events fared differently: <see cref="Acked"/> when none failed, <see cref="Failed"/>
    /// when all did (the runtime may then retry the whole batch); otherwise the delivered events are acked and the
    /// failed ones failed through <paramref name="host"/>, each with its reason, and the reply is
    /// <see cref="Pending"/> (already settled), so a retry never sends a delivered event twice. Added in PDK 1.1.
    /// </summary>
    public static SinkReply Settle(IPluginHost host, SinkBatch batch, IReadOnlyCollection<(EventId Id, string Reason)>? failed)
    {
        if (failed is null || failed.Count == 0) return Acked;
        if (failed.Count == batch.Count)
        {
            var reasons = failed.Select(f => f.Reason).Distinct(StringComparer.Ordinal).ToList();
            return Failed(reasons.Count == 1 ? reasons[0] : string.Join("; ", reasons.Take(3)));
        }
        var failedIds = failed.Select(f => f.Id).ToHashSet();
        host.Ack(batch.Events.Select(e => e.Id).Where(id => !failedIds.Contains(id)).ToList());
        foreach (var group in failed.GroupBy(f => f.Reason, StringComparer.Ordinal))
        {
            host.Fail(group.Select(f => f.Id).ToList(), group.Key);
        }
        return Pending;
    }
}

/// <summary>The sink side of a connector.</summary>
public interface ISink
{
    /// <summary>
    /// Delivers a batch. The batch, its bytes and its list of events are lent for this call only; the values of its
    /// events (<see cref="SinkEvent.Event"/>'s <see cref="Event.Data"/> and <see cref="Event.Meta"/>) may be kept after
    /// it returns: once an event left its pipeline nothing writes into its records, arrays or bytes again (the query
    /// language copies a container before it writes into it, and a fan-out hands every copy the same values), so a
    /// sink must not write into them either. Throwing means the plugin instance is broken: the runtime keeps the
    /// batch, re-creates the instance and retries it.
    /// </summary>
    ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken);

    /// <summary>The upstream has no more events (drain or end of the flow); flush and report.</summary>
    ValueTask OnEndAsync(CancellationToken cancellationToken);
}

/// <summary>One event handed to a sink: its id, ingest time, the encoded bytes and the structured event.</summary>
/// <param name="Id">Its id, for asynchronous acks.</param>
/// <param name="IngestNs">When it was ingested.</param>
/// <param name="Payload">The bytes the codec and postprocessors made of it (a slice of <see cref="SinkBatch.Bytes"/>).</param>
/// <param name="Event">The structured event, for sinks that want values or metadata.</param>
public readonly record struct SinkEvent(EventId Id, ulong IngestNs, ReadOnlyMemory<byte> Payload, Event Event);

/// <summary>A batch for a sink: events in order, their encoded bytes back to back in <see cref="Bytes"/>.</summary>
public sealed class SinkBatch
{
    /// <summary>A batch over events and their contiguous encoded bytes.</summary>
    public SinkBatch(IReadOnlyList<SinkEvent> events, ReadOnlyMemory<byte> bytes)
    {
        Events = events;
        Bytes = bytes;
    }

    /// <summary>The events.</summary>
    public IReadOnlyList<SinkEvent> Events { get; }

    /// <summary>All encoded payloads back to back (what a byte-stream sink writes in one call).</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>How many events.</summary>
    public int Count => Events.Count;
}
