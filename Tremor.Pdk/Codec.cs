using System.Buffers;

namespace Tremor.Pdk;

/// <summary>Turns bytes into a <see cref="Value"/> and back (<c>json</c>, <c>string</c>, <c>msgpack</c>, ...).</summary>
public interface ICodec
{
    /// <summary>Decodes one event's bytes; on bad input returns false with a reason (never throws for bad input).</summary>
    bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error);

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
