using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

/// <summary>The <c>otel</c> plugin: OpenTelemetry (OTLP over gRPC and HTTP) in and out, and Prometheus remote write out.</summary>
public sealed class OtelPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("otel", "0.1.0", "OpenTelemetry and Prometheus connectors: otel_server, otel_client (OTLP gRPC and HTTP), prometheus_remote_write");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new OtelServerFactory(), new OtelClientFactory(), new PrometheusRemoteWriteFactory()];
}
