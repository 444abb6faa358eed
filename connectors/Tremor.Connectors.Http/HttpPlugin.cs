using Tremor.Pdk;

namespace Tremor.Connectors.Http;

/// <summary>The <c>http</c> plugin: HTTP and WebSocket servers and clients, plain or over TLS.</summary>
public sealed class HttpPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("http", "0.1.0", "HTTP and WebSocket connectors: http_server, http_client, ws_server, ws_client (TLS with tls { })");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new HttpServerFactory(), new HttpClientFactory(), new WsServerFactory(), new WsClientFactory()];
}
