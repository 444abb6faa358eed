using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>chunk</c> postprocessor: guarantees that no payload handed to the sink is larger than <c>max-bytes</c>
/// (required), e.g. a UDP datagram size. A payload within the limit passes unchanged; a larger one fails its event
/// with an error naming both sizes (Tremor drops it with a warning; here it reaches the <c>err</c> port / is failed
/// back instead of vanishing).
/// </summary>
/// <remarks>
/// Tremor's <c>chunk</c> also concatenates several small events into one payload of up to <c>max-bytes</c>. The
/// PDK's <see cref="IPostprocessor"/> maps one event to exactly one payload and has no flush at the end of a stream,
/// so holding an event's bytes back to send them with a later event would lose the last group (already acknowledged)
/// when the sink stops. That grouping needs a postprocessor flush in the PDK and is not done here.
/// </remarks>
public sealed class ChunkPostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "chunk";

    private readonly int _maxBytes;

    /// <summary>A postprocessor refusing payloads over <paramref name="maxBytes"/> bytes.</summary>
    public ChunkPostprocessor(int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _maxBytes = maxBytes;
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public ChunkPostprocessor(PluginConfig config)
        : this(ProcessorConfig.ReadBytes(config, "max-bytes", null, max: int.MaxValue))
    {
        config.RejectUnknownKeys("max-bytes");
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        if (data.Length > _maxBytes)
        {
            error = $"payload of {data.Length} bytes exceeds max-bytes {_maxBytes}; event not sent (raise max-bytes if payloads this big are expected)";
            return false;
        }
        output.Write(data);
        error = null;
        return true;
    }
}
