// Implementation choice: StackExchange.Redis (the maintained .NET Redis client) in this plugin's own load context.
// Its multiplexer does not run blocking commands, so the source polls (XREADGROUP / LPOP without BLOCK) on each pull.
using Tremor.Pdk;

namespace Tremor.Connectors.Redis;

/// <summary>The Redis connector: <c>redis</c>, streams (consumer groups, XACK after ack), lists and pub/sub.</summary>
public sealed class RedisPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("redis", "0.1.0", "Redis connector: redis (streams with consumer groups and XACK after ack, lists, pub/sub)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new RedisFactory()];
}

/// <summary>
/// <c>redis</c>: reads a stream through a consumer group, a list or channels (<c>source { }</c>) and writes to a
/// stream, a list or a channel (<c>sink { }</c>). Keys: url, username, password, connect-timeout, source, sink.
/// </summary>
public sealed class RedisFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "redis";

    /// <inheritdoc />
    public string Description => "Redis client: stream (consumer group, XACK after ack), list or pub/sub in and out (keys: url, username, password, connect-timeout, source { stream | list | channels, group, consumer, start, field }, sink { stream | list | channel, field })";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context) =>
        new RedisConnector(context.Host, RedisOptions.Read(context.Config, context.Host.Alias));
}
