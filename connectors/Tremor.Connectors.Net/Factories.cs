using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>Defaults shared by the connector types of this plugin.</summary>
internal static class NetDefaults
{
    public const int Backlog = 128;
    public const int MaxConnections = 1024;
    // Per read: 64 KiB reads cost ~10 % less CPU per event than 8 KiB ones at a fast peer (one system call and one
    // queue hand-off per 64 KiB; BENCHMARKS.md, bench/net). An idle connection holds no buffer (a zero-byte read waits).
    public const int BufferSize = 64 * 1024;
    public const int MaxBufferSize = 16 * 1024 * 1024;
    public const int MaxDatagramSize = 65_507;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    /// <summary><c>write-timeout</c>: 10s unless set; 0 turns it off.</summary>
    public static TimeSpan? ConfiguredWriteTimeout(PluginConfig config) =>
        config.Has("write-timeout") ? NetConfig.OptionalDuration(config, "write-timeout") : WriteTimeout;

    public static int ReadBacklog(PluginConfig config) => NetConfig.Int(config, "backlog", Backlog, 1, 65_535, "connections");

    public static int ReadMaxConnections(PluginConfig config) => NetConfig.Int(config, "max-connections", MaxConnections, 1, 1_000_000, "connections");

    public static int ReadBufferSize(PluginConfig config) => NetConfig.Int(config, "buffer-size", BufferSize, 1, MaxBufferSize, "bytes");

    public static int ReadMaxDatagramSize(PluginConfig config) => NetConfig.Int(config, "max-datagram-size", MaxDatagramSize, 1, MaxDatagramSize, "bytes");

    /// <summary>The most <c>receive-buffer-size</c> may ask for: 1 GiB (Linux doubles what it is asked for into an int).</summary>
    public const int MaxReceiveBufferSize = 1 << 30;

    /// <summary><c>receive-buffer-size</c> (SO_RCVBUF) in bytes, or null when absent: the OS default stays.</summary>
    public static int? ReadReceiveBufferSize(PluginConfig config) =>
        config.Has("receive-buffer-size") ? NetConfig.Int(config, "receive-buffer-size", 0, 1024, MaxReceiveBufferSize, "bytes") : null;
}

/// <summary>
/// <c>tcp_server</c>: listens on <c>url</c> (or <c>host</c> + <c>port</c>); one stream per connection; replies go back
/// on the connection named in an event's <c>$tcp_server.stream</c> meta. Keys: url, host, port, backlog,
/// max-connections, idle-timeout, write-timeout, buffer-size, tls { cert, key, client-ca }.
/// </summary>
public sealed class TcpServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "tcp_server";

    /// <inheritdoc />
    /// <remarks>Replies go to the connection named there.</remarks>
    public IReadOnlyList<string>? SinkStreamMeta { get; } = ["tcp_server", "stream"];

    /// <inheritdoc />
    public string Description => "TCP server: one stream per connection, replies back on it (keys: url | host + port, backlog, max-connections, idle-timeout, write-timeout, buffer-size, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "host", "port", "backlog", "max-connections", "idle-timeout", "write-timeout", "buffer-size", "tls");
        var options = new StreamServerOptions(
            Type,
            NetConfig.Endpoint(config, "tcp", "0.0.0.0", portRequired: false),
            SocketPath: null,
            Permissions: null,
            NetDefaults.ReadBacklog(config),
            NetDefaults.ReadMaxConnections(config),
            NetConfig.OptionalDuration(config, "idle-timeout"),
            NetDefaults.ConfiguredWriteTimeout(config),
            NetDefaults.ReadBufferSize(config),
            NetConfig.TlsServer(config));
        if (!config.Has("url") && !config.Has("port"))
        {
            throw new ConfigException(NetConfig.Key(config, "url"), "is required: url = \"HOST:PORT\" (or host and port)");
        }
        return new StreamServer(context.Host, options);
    }
}

/// <summary>
/// <c>tcp_client</c>: connects to <c>url</c> (or <c>host</c> + <c>port</c>), writes each batch to it and yields what it
/// sends back. Keys: url, host, port, buffer-size, connect-timeout, tls (true, or { ca, domain, cert, key }).
/// </summary>
public sealed class TcpClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "tcp_client";

    /// <inheritdoc />
    public string Description => "TCP client: writes events to a server, yields its replies, reconnects (keys: url | host + port, buffer-size, connect-timeout, tls)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "host", "port", "buffer-size", "connect-timeout", "tls");
        if (!config.Has("url") && !config.Has("host"))
        {
            throw new ConfigException(NetConfig.Key(config, "url"), "is required: url = \"HOST:PORT\" (or host and port)");
        }
        var endpoint = NetConfig.Endpoint(config, "tcp", "", portRequired: true);
        var options = new StreamClientOptions(
            Type,
            endpoint,
            SocketPath: null,
            NetDefaults.ReadBufferSize(config),
            NetConfig.PositiveDuration(config, "connect-timeout", NetDefaults.ConnectTimeout),
            NetConfig.TlsClient(config, endpoint.Host));
        return new StreamClient(context.Host, options);
    }
}

/// <summary>
/// <c>unix_socket_server</c>: listens on the socket file <c>path</c> (a stale one is replaced, it is removed at stop);
/// otherwise like <c>tcp_server</c>. Keys: path, permissions, backlog, max-connections, idle-timeout, write-timeout, buffer-size.
/// </summary>
public sealed class UnixSocketServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "unix_socket_server";

    /// <inheritdoc />
    /// <remarks>Replies go to the connection named there.</remarks>
    public IReadOnlyList<string>? SinkStreamMeta { get; } = ["unix_socket_server", "stream"];

    /// <inheritdoc />
    public string Description => "Unix socket server: one stream per connection, replies back on it (keys: path, permissions, backlog, max-connections, idle-timeout, write-timeout, buffer-size)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("path", "permissions", "backlog", "max-connections", "idle-timeout", "write-timeout", "buffer-size");
        var options = new StreamServerOptions(
            Type,
            Endpoint: null,
            NetConfig.SocketPath(config),
            NetConfig.Permissions(config),
            NetDefaults.ReadBacklog(config),
            NetDefaults.ReadMaxConnections(config),
            NetConfig.OptionalDuration(config, "idle-timeout"),
            NetDefaults.ConfiguredWriteTimeout(config),
            NetDefaults.ReadBufferSize(config),
            Tls: null);
        return new StreamServer(context.Host, options);
    }
}

/// <summary><c>unix_socket_client</c>: like <c>tcp_client</c> over the socket file <c>path</c>. Keys: path, buffer-size, connect-timeout.</summary>
public sealed class UnixSocketClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "unix_socket_client";

    /// <inheritdoc />
    public string Description => "Unix socket client: writes events to a server, yields its replies, reconnects (keys: path, buffer-size, connect-timeout)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("path", "buffer-size", "connect-timeout");
        var options = new StreamClientOptions(
            Type,
            Endpoint: null,
            NetConfig.SocketPath(config),
            NetDefaults.ReadBufferSize(config),
            NetConfig.PositiveDuration(config, "connect-timeout", NetDefaults.ConnectTimeout),
            Tls: null);
        return new StreamClient(context.Host, options);
    }
}

/// <summary>
/// <c>udp_server</c>: one datagram is one chunk with its sender in the meta. Keys: url, host, port, max-datagram-size,
/// stream-mode, receive-buffer-size.
/// </summary>
public sealed class UdpServerFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "udp_server";

    /// <inheritdoc />
    public string Description => "UDP server: one datagram per chunk, sender in the meta (keys: url | host + port, max-datagram-size, stream-mode = datagram | shared, receive-buffer-size)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Source;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "host", "port", "max-datagram-size", "stream-mode", "receive-buffer-size");
        if (!config.Has("url") && !config.Has("port"))
        {
            throw new ConfigException(NetConfig.Key(config, "url"), "is required: url = \"HOST:PORT\" (or host and port)");
        }
        var endpoint = NetConfig.Endpoint(config, "udp", "0.0.0.0", portRequired: false);
        // datagram: what a preprocessor holds never spans two datagrams. shared (Tremor's udp_server): every datagram
        // on one stream, so a preprocessor joins datagrams, as gelf-chunking must to put a message's chunks together.
        var shared = config.GetString("stream-mode", "datagram") switch
        {
            "datagram" => false,
            "shared" => true,
            var other => throw new ConfigException(NetConfig.Key(config, "stream-mode"), $"must be datagram (each datagram a stream of its own) or shared (one stream for all, as gelf-chunking needs), found '{other}'"),
        };
        return new UdpServerConnector(context.Host, endpoint, NetDefaults.ReadMaxDatagramSize(config), shared, NetDefaults.ReadReceiveBufferSize(config));
    }
}

/// <summary><c>udp_client</c>: each event's payload is one datagram to <c>url</c>. Keys: url, host, port, max-datagram-size.</summary>
public sealed class UdpClientFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "udp_client";

    /// <inheritdoc />
    public string Description => "UDP client: each event is one datagram (keys: url | host + port, max-datagram-size)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("url", "host", "port", "max-datagram-size");
        if (!config.Has("url") && !config.Has("host"))
        {
            throw new ConfigException(NetConfig.Key(config, "url"), "is required: url = \"HOST:PORT\" (or host and port)");
        }
        var endpoint = NetConfig.Endpoint(config, "udp", "", portRequired: true);
        return new UdpClientConnector(context.Host, endpoint, NetDefaults.ReadMaxDatagramSize(config));
    }
}
