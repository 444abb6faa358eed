namespace Tremor.Pdk;

/// <summary>
/// Identifies an event for acknowledgement: which source instance made it (assigned by the runtime),
/// on which stream, and from which pull of that source. Never derived from the payload.
/// </summary>
/// <param name="SourceId">The runtime's number for the source connector instance.</param>
/// <param name="StreamId">The stream inside that connector (one per connection, file, ...).</param>
/// <param name="PullId">The id of the pull (chunk) the event came from, as handed to <see cref="ISource.Ack"/>.</param>
/// <param name="Sequence">Unique per source instance: the n-th event it emitted.</param>
public readonly record struct EventId(uint SourceId, ulong StreamId, ulong PullId, ulong Sequence)
{
    /// <inheritdoc />
    public override string ToString() => $"{SourceId}:{StreamId}:{PullId}:{Sequence}";
}

/// <summary>One event flowing through a flow: its id, when it was ingested, its value and metadata.</summary>
public sealed class Event
{
    /// <summary>The event's id, assigned by the runtime when its source emitted it.</summary>
    public EventId Id { get; init; }

    /// <summary>The stream inside the source connector.</summary>
    public ulong StreamId => Id.StreamId;

    /// <summary>Ingest time in nanoseconds since the Unix epoch.</summary>
    public ulong IngestNs { get; init; }

    /// <summary>The payload.</summary>
    public Value Data { get; set; }

    /// <summary>Metadata (<c>$</c> in the query language); <see cref="Value.Null"/> when none.</summary>
    public Value Meta { get; set; }

    /// <summary>When true the source wants an ack or fail for this event.</summary>
    public bool Transactional { get; init; }
}
