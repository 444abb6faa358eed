// Implementation choice: FASTER's FasterLog (Microsoft.FASTER.Core) in this plugin's own load context: a log with a
// checksum per entry, group commit, recovery and truncation; chosen over LMDB by measuring (BENCHMARKS.md).
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>The durable storage connectors: <c>wal</c> and <c>kv</c>.</summary>
public sealed class WalPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("wal", "0.1.0", "Durable storage: wal (write-ahead log, transactional replay) and kv (key-value store driven by command events)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new WalFactory(), new KvFactory()];
}

/// <summary>
/// <c>wal</c>: a sink that appends events to a durable log and acks them once on disk, and a transactional source
/// that emits them in order and truncates what downstream acknowledged. Keys: fsync, commit-interval, max-bytes.
/// </summary>
public sealed class WalFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "wal";

    /// <inheritdoc />
    public string Description => "write-ahead log: events acked once on disk, replayed until acknowledged downstream (keys: fsync, commit-interval, max-bytes)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <summary>
    /// The wal keeps the bytes the codec made of each event and its source side decodes them with the same codec:
    /// msgpack keeps every kind of value (bytes, integers above i64, floats that are whole numbers) and is the
    /// runtime's cheapest to encode and decode.
    /// </summary>
    public string? DefaultCodec => "msgpack";

    /// <summary>
    /// The source side emits the values the sink side was given when the flow's bytes decode back to those very values:
    /// msgpack (every kind survives it, integers as the runtime keeps them) and no processors. Any other codec (json
    /// turns a whole float into an integer, bytes into text) decodes the entry's bytes as after a restart, so an event
    /// looks the same whichever way it came.
    /// </summary>
    public IConnector Create(ConnectorContext context) =>
        new WalConnector(context.Host, WalOptions.Read(context.Config), handoff: context.Codec == "msgpack" && !context.HasProcessors);
}
