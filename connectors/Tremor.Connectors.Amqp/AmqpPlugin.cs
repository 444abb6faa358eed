// Implementation choice: RabbitMQ.Client (the official .NET AMQP 0-9-1 client) in this plugin's own load context,
// manual acks with a prefetch window on the way in and publisher confirms on the way out.
using Tremor.Pdk;

namespace Tremor.Connectors.Amqp;

/// <summary>The AMQP connector: <c>amqp</c>, source (consume a queue) and sink (publish to an exchange).</summary>
public sealed class AmqpPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("amqp", "0.1.0", "AMQP 0-9-1 connector (RabbitMQ): amqp (consume with ack after the downstream ack, publish with confirms)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new AmqpFactory()];
}

/// <summary>
/// <c>amqp</c>: consumes <c>source.queue</c> and publishes to <c>sink.exchange</c> with <c>sink.routing-key</c> or
/// <c>$amqp.routing_key</c>. Keys: url, username, password, connect-timeout, source { queue, declare, durable, exchange,
/// exchange-type, binding-keys, prefetch, undecodable, dead-letter-exchange }, sink { exchange, exchange-type,
/// routing-key, mandatory, persistent }.
/// </summary>
public sealed class AmqpFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "amqp";

    /// <inheritdoc />
    public string Description => "AMQP 0-9-1 client (RabbitMQ): consumes a queue (ack after the downstream ack, nack with requeue on fail) and publishes with publisher confirms (keys: url, username, password, connect-timeout, source { queue, ... }, sink { exchange, routing-key, ... })";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context) => new AmqpConnector(context.Host, AmqpOptions.Read(context.Config));
}
