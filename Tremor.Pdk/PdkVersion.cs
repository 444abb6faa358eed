namespace Tremor.Pdk;

/// <summary>The version of the plugin contract. A plugin built for another major is refused.</summary>
public static class PdkVersion
{
    /// <summary>Incompatible contract changes bump this; the host refuses plugins of another major.</summary>
    public const int Major = 1;

    /// <summary>
    /// Additive contract changes bump this; plugins of an older or newer minor of the same major load. 1.2 added
    /// <see cref="IPluginHost.StateDirectory"/> and postprocessors whose payloads are not one per event
    /// (<see cref="IPayloadPostprocessor"/>, <see cref="IPayloadWriter"/>). 1.3 added sinks of several streams
    /// (<see cref="IConnectorFactory.SinkStreamMeta"/>), opened to every codec what the built-in ones use: strings
    /// kept as UTF-8 (<see cref="Value.FromUtf8"/>, <see cref="Value.TryGetUtf8"/>) and records that adopt their arrays
    /// (<see cref="ValueRecord(string[], Value[], bool)"/>, <see cref="ValueRecord.KeySpan"/>,
    /// <see cref="ValueRecord.ValueSpan"/>, <see cref="ValueRecord.SharedKeys"/>), and a sink's answer that it is full
    /// (<see cref="SinkReply.Full"/>, <see cref="IPluginHost.SinkHasRoom"/>): the runtime keeps the batch and opens the
    /// circuit breaker upstream. 1.4 tells a connector its codec and whether it has processors
    /// (<see cref="ConnectorContext.Codec"/>, <see cref="ConnectorContext.HasProcessors"/>) and documents that a sink
    /// may keep the values of the events it was given (<see cref="ISink.OnBatchAsync"/>). 1.5 lets a source hand over
    /// input that never changes (<see cref="SourceBatch.AddImmutable"/>), so a codec may keep slices of it
    /// (<see cref="ICodec.TryDecode(ReadOnlyMemory{byte}, bool, out Value, out string?)"/>, <see cref="Value.TryFromUtf8"/>).
    /// </summary>
    public const int Minor = 5;

    /// <summary>The version as text, <c>major.minor</c>.</summary>
    public const string Text = "1.5";
}
