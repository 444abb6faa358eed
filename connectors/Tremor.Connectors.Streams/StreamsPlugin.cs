using Tremor.Pdk;

namespace Tremor.Connectors.Streams;

/// <summary>Connectors written as Akka.Streams graphs on <c>Tremor.Pdk.Streams</c>.</summary>
public sealed class StreamsPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("streams", "0.1.0", "Connectors on Akka.Streams: tcp_reader");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new TcpReaderFactory()];
}
