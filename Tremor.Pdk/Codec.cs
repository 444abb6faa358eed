using System.Buffers;

namespace Tremor.Pdk;

/// <summary>Turns bytes into a <see cref="Value"/> and back (<c>json</c>, <c>string</c>, <c>msgpack</c>, ...).</summary>
public interface ICodec
{
    /// <summary>Decodes one event's bytes; on bad input returns false with a reason (never throws for bad input).</summary>
    bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error);

    /// <summary>
    /// As <see cref="TryDecode(ReadOnlyMemory{byte}, out Value, out string?)"/>; when <paramref name="immutable"/> is
    /// true nothing ever changes <paramref name="data"/> again, so the value may keep slices of it instead of copies
    /// (<see cref="Value.TryFromUtf8"/>; the built-in json and msgpack codecs keep long strings so). The runtime passes
    /// true for input a source handed over with <see cref="SourceBatch.AddImmutable"/>. The default ignores the flag.
    /// Added in PDK 1.5.
    /// </summary>
    bool TryDecode(ReadOnlyMemory<byte> data, bool immutable, out Value value, out string? error) =>
        TryDecode(data, out value, out error);

    /// <summary>Appends the encoding of <paramref name="value"/> to <paramref name="output"/>.</summary>
    void Encode(in Value value, IBufferWriter<byte> output);
}

/// <summary>
/// Splits or transforms raw source bytes before the codec (<c>separate</c>, <c>base64</c>, ...). One instance per
/// stream, so state such as a partial line never mixes two streams.
/// </summary>
public interface IPreprocessor
{
    /// <summary>
    /// Processes one chunk, adding zero or more chunks to <paramref name="output"/>. Output may alias the input
    /// (valid until the next call) or memory the preprocessor owns. Bad input: return false with a reason.
    /// </summary>
    bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error);

    /// <summary>The stream ended: emit whatever is buffered.</summary>
    void Finish(List<ReadOnlyMemory<byte>> output);
}

/// <summary>Transforms one encoded event's bytes on the way to a sink (<c>separate</c>, <c>base64</c>, ...).</summary>
public interface IPostprocessor
{
    /// <summary>Appends the processed form of <paramref name="data"/> to <paramref name="output"/>; false with a reason on failure.</summary>
    bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error);

    /// <summary>
    /// As <see cref="TryProcess(ReadOnlySpan{byte}, IBufferWriter{byte}, out string?)"/>, told the event's ingest time
    /// (nanoseconds since the Unix epoch); the runtime calls this one. Override it when the output depends on the
    /// ingest time (<c>ingest-ns</c>). Added in PDK 1.1.
    /// </summary>
    bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IBufferWriter<byte> output, out string? error) =>
        TryProcess(data, output, out error);
}

/// <summary>
/// Where an <see cref="IPayloadPostprocessor"/> writes: bytes go into the open payload; <see cref="EndPayload"/> cuts it
/// and hands it on (to the next postprocessor, or to the sink as one payload: one datagram, one message, one request).
/// Bytes left in the open payload when a call returns are held: they wait for a later event, a timer or the end of
/// the stream. The runtime knows which events each payload carries from which calls wrote into it, so an event is
/// acknowledged only once every payload that carried it was delivered, and fails with any of them. Added in PDK 1.2.
/// </summary>
public interface IPayloadWriter : IBufferWriter<byte>
{
    /// <summary>How many bytes the open payload holds (0: nothing held).</summary>
    int OpenLength { get; }

    /// <summary>Ends the open payload (also an empty one) and hands it on; the next byte written opens a new one.</summary>
    void EndPayload();
}

/// <summary>
/// A postprocessor whose payloads are not one per event: it may cut one event into several payloads (GELF chunks),
/// hold events and send several as one payload (<c>collect</c>), or keep a stream's state across events (streaming
/// compression). It holds only what it leaves in the writer's open payload, so the runtime can flush it: on the
/// timer of <see cref="MaxHold"/> and when the sink drains. One instance per sink stream; called from one thread at
/// a time. Added in PDK 1.2 (an older runtime does not create these).
/// </summary>
public interface IPayloadPostprocessor : IPostprocessor
{
    /// <summary>
    /// Processes one input (an encoded event, or a payload of the postprocessor before this one), writing to
    /// <paramref name="output"/>. On failure return false with a reason before writing anything for this input: the
    /// runtime fails the events it carries and discards what the call wrote.
    /// </summary>
    bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IPayloadWriter output, out string? error);

    /// <summary>
    /// Emits what is held, after writing whatever closes it (a stream's trailer when <paramref name="endOfStream"/>:
    /// the sink drains and no event follows); the runtime ends the payload still open after the call. Called when
    /// <see cref="MaxHold"/> has passed since the open payload was opened, and at the end of the stream (then also
    /// with nothing held). A failure fails the events the open payload carries.
    /// </summary>
    bool TryFlush(IPayloadWriter output, bool endOfStream, out string? error);

    /// <summary>How long the open payload may wait for more events before the runtime flushes it; null: until it is full or the stream ends.</summary>
    TimeSpan? MaxHold { get; }
}

/// <summary>Makes codecs of one name.</summary>
public interface ICodecFactory
{
    /// <summary>The name written in a flow (<c>codec = json</c>).</summary>
    string Name { get; }

    /// <summary>A new codec with its configuration (the <c>codec { name = ..., config { } }</c> form).</summary>
    ICodec Create(PluginConfig config);
}

/// <summary>Makes preprocessors of one name.</summary>
public interface IPreprocessorFactory
{
    /// <summary>The name written in a flow.</summary>
    string Name { get; }

    /// <summary>A new instance (one per stream).</summary>
    IPreprocessor Create(PluginConfig config);
}

/// <summary>Makes postprocessors of one name.</summary>
public interface IPostprocessorFactory
{
    /// <summary>The name written in a flow.</summary>
    string Name { get; }

    /// <summary>A new instance.</summary>
    IPostprocessor Create(PluginConfig config);
}
