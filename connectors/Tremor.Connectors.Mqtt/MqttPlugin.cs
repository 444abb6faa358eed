// Implementation choice: MQTTnet (the maintained .NET MQTT client) in this plugin's own load context, MQTT 5 with a
// persistent session so QoS 1 messages not acknowledged downstream are redelivered by the broker.
using Tremor.Pdk;

namespace Tremor.Connectors.Mqtt;

/// <summary>The MQTT connector: <c>mqtt</c>, source (subscribe) and sink (publish).</summary>
public sealed class MqttPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("mqtt", "0.1.0", "MQTT connector: mqtt (subscribe and publish, QoS 0/1, PUBACK after the downstream ack)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new MqttFactory()];
}

/// <summary>
/// <c>mqtt</c>: subscribes to <c>topics</c> (source) and publishes to <c>topic</c> or <c>$mqtt.topic</c> (sink).
/// Keys: url, client-id, topics, qos, topic, retain, username, password, keep-alive, connect-timeout, session-expiry.
/// </summary>
public sealed class MqttFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "mqtt";

    /// <inheritdoc />
    public string Description => "MQTT 5 client: subscribes (QoS 1 PUBACK after ack) and publishes (acked when the broker confirmed) (keys: url, client-id, topics, qos, topic, retain, username, password, keep-alive, connect-timeout, session-expiry)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context) =>
        new MqttConnector(context.Host, MqttOptions.Read(context.Config, context.Host.Alias));
}
