// Implementation choice: NATS.Client.Core and NATS.Client.JetStream (the maintained .NET NATS client, NATS.Net's
// parts without key-value, object store and services) in this plugin's own load context.
using Tremor.Pdk;

namespace Tremor.Connectors.Nats;

/// <summary>The NATS connector: <c>nats</c>, core subjects and JetStream (ack after the downstream ack, nak on fail).</summary>
public sealed class NatsPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("nats", "0.1.0", "NATS connector: nats (core subjects, JetStream consumers with ack/nak after the downstream ack)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new NatsFactory()];
}

/// <summary>
/// <c>nats</c>: subscribes to a subject or consumes a JetStream durable consumer (<c>source { }</c>) and publishes
/// (<c>sink { }</c>). Keys: url, username, password, connect-timeout, source, sink.
/// </summary>
public sealed class NatsFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "nats";

    /// <inheritdoc />
    public string Description => "NATS client: core subjects or JetStream (ack after ack, nak on fail) in, publish out (keys: url, username, password, connect-timeout, source { subject, queue | stream, consumer, filter }, sink { subject, jetstream })";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context) =>
        new NatsConnector(context.Host, NatsOptions.Read(context.Config, context.Host.Alias));
}
