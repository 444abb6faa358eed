using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>chunk</c> postprocessor, as Tremor's: payloads of at most <c>max-bytes</c> (required), e.g. a UDP datagram
/// size, as close to it as whole events allow: events are joined until the next would pass the limit, and never
/// split. An event larger than the limit fails with both sizes (Tremor drops it with a warning; here it reaches the
/// <c>err</c> port / is failed back instead of vanishing). <c>max-wait</c> (not in Tremor, default: none) sends a
/// partly filled payload once its first event waited that long; otherwise it waits for more events or the end of the
/// stream. Put <c>separate</c> before it when the receiver must split the events again.
/// </summary>
public sealed class ChunkPostprocessor : JoiningPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "chunk";

    /// <summary>Payloads of at most <paramref name="maxBytes"/> bytes.</summary>
    public ChunkPostprocessor(int maxBytes, TimeSpan? maxWait = null)
        : base(maxBytes, 0, maxWait, [], refuseLarger: true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public ChunkPostprocessor(PluginConfig config)
        : this(ReadMaxBytes(config, required: true), ReadMaxWait(config))
    {
        config.RejectUnknownKeys(Keys());
    }
}
