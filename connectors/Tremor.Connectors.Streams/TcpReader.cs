using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Tremor.Pdk;
using Tremor.Pdk.Streams;

namespace Tremor.Connectors.Streams;

/// <summary>
/// <c>tcp_reader</c>: connects to <c>host</c>:<c>port</c> and emits each line the server sends; when the connection
/// cannot be made or ends, it connects again with exponential backoff, for as long as the flow runs. Keys: host, port,
/// max-line-length, min-backoff, max-backoff. The whole connector is one Akka.Streams graph: Akka's TCP client,
/// <c>Framing.Delimiter</c> for the lines, <c>RestartSource.WithBackoff</c> for the reconnects.
/// </summary>
public sealed class TcpReaderFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "tcp_reader";

    /// <inheritdoc />
    public string Description => "TCP reader on Akka.Streams: emits the lines a server sends, reconnects with backoff (keys: host, port, max-line-length, min-backoff, max-backoff)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Source;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        config.RejectUnknownKeys("host", "port", "max-line-length", "min-backoff", "max-backoff");
        var host = config.GetString("host", "127.0.0.1");
        if (host.Length == 0 || host.Any(char.IsWhiteSpace)) throw new ConfigException($"{config.Path}.host", $"expected a host name or IP address, found '{host}'");
        if (!config.Has("port")) throw new ConfigException($"{config.Path}.port", "is required: the port of the server to read lines from");
        var port = config.GetInt("port");
        if (port is < 1 or > 65535) throw new ConfigException($"{config.Path}.port", $"must be between 1 and 65535, found {port}");
        var maxLine = config.GetInt("max-line-length", 1 << 20);
        if (maxLine < 1) throw new ConfigException($"{config.Path}.max-line-length", $"must be at least 1 byte, found {maxLine}");
        var minBackoff = config.GetDuration("min-backoff", TimeSpan.FromMilliseconds(100));
        var maxBackoff = config.GetDuration("max-backoff", TimeSpan.FromSeconds(5));
        if (minBackoff <= TimeSpan.Zero) throw new ConfigException($"{config.Path}.min-backoff", $"must be positive, found {minBackoff}");
        if (maxBackoff < minBackoff) throw new ConfigException($"{config.Path}.max-backoff", $"must be at least min-backoff ({minBackoff}), found {maxBackoff}");
        return new TcpReader(context, host, (int)port, (int)maxLine, minBackoff, maxBackoff);
    }
}

/// <summary>One <c>tcp_reader</c> instance: each connection is a stream of its own, so a line cut by a dropped connection is not glued to the next one's.</summary>
internal sealed class TcpReader(ConnectorContext context, string host, int port, int maxLine, TimeSpan minBackoff, TimeSpan maxBackoff)
    : StreamSourceConnector(context)
{
    private readonly IPluginHost _log = context.Host;
    private long _connections;

    protected override Source<SourceItem, NotUsed> CreateSource(IStreamsHost streams)
    {
        var log = _log;
        var settings = RestartSettings.Create(minBackoff, maxBackoff, randomFactor: 0.2);
        return RestartSource.WithBackoff(
            () =>
            {
                var stream = (ulong)Interlocked.Increment(ref _connections);
                // Never completes: keeps our side of the connection open, so only the server ends it.
                var connection = Akka.Streams.Dsl.Source.Maybe<ByteString>()
                    .ViaMaterialized(streams.System.TcpStream().OutgoingConnection(host, port), Keep.Right)
                    .MapMaterializedValue(connected =>
                    {
                        connected.ContinueWith(
                            t => log.Log(t.IsCompletedSuccessfully ? PluginLogLevel.Info : PluginLogLevel.Warning, t.IsCompletedSuccessfully
                                ? $"connected to {host}:{port}"
                                : $"cannot connect to {host}:{port}: {t.Exception?.GetBaseException().Message}; retrying with backoff (at most {maxBackoff.TotalSeconds}s)"),
                            TaskScheduler.Default);
                        return NotUsed.Instance;
                    });
                return connection
                    .Via(Framing.Delimiter(ByteString.FromString("\n"), maxLine, allowTruncation: true))
                    .Select(line => SourceItem.Bytes(line.ToArray(), stream))
                    .Concat(Akka.Streams.Dsl.Source.Single(SourceItem.EndOfStream(stream)));
            },
            settings);
    }
}
