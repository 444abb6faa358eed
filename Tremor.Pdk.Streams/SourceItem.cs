namespace Tremor.Pdk.Streams;

/// <summary>One element of a streamed source: bytes for the connector's preprocessors and codec, a structured event, or the end of a stream.</summary>
public readonly record struct SourceItem
{
    private SourceItem(ReadOnlyMemory<byte> data, Value structured, bool isStructured, bool isStreamEnd, ulong streamId, Value meta)
    {
        Data = data;
        Structured = structured;
        IsStructured = isStructured;
        IsStreamEnd = isStreamEnd;
        StreamId = streamId;
        Meta = meta;
    }

    /// <summary>The bytes (unless structured or a stream end); the element owns them.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The event, for <see cref="IsStructured"/> items.</summary>
    public Value Structured { get; }

    /// <summary>True for <see cref="Event"/> items, which skip preprocessors and codec.</summary>
    public bool IsStructured { get; }

    /// <summary>True for <see cref="EndOfStream"/>: the runtime flushes the stream's preprocessor state.</summary>
    public bool IsStreamEnd { get; }

    /// <summary>The stream it belongs to (a connection, a file): preprocessors keep their state per stream.</summary>
    public ulong StreamId { get; }

    /// <summary>Metadata for the events made from it.</summary>
    public Value Meta { get; }

    /// <summary>Raw bytes, decoded by the connector's preprocessors and codec.</summary>
    public static SourceItem Bytes(ReadOnlyMemory<byte> data, ulong streamId = 0, Value meta = default) => new(data, default, false, false, streamId, meta);

    /// <summary>A structured event.</summary>
    public static SourceItem Event(Value value, ulong streamId = 0, Value meta = default) => new(default, value, true, false, streamId, meta);

    /// <summary>The stream ended (a connection closed).</summary>
    public static SourceItem EndOfStream(ulong streamId) => new(default, default, false, true, streamId, default);
}
