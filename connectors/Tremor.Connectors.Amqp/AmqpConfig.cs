using Tremor.Pdk;

namespace Tremor.Connectors.Amqp;

/// <summary>What a message whose payload the codec could not decode becomes: it went to <c>err</c> either way.</summary>
internal enum UndecodableAction
{
    /// <summary><c>basic.reject</c> without requeue: the queue's dead-letter exchange gets it, or RabbitMQ drops it.</summary>
    Reject,
    /// <summary><c>basic.ack</c>: the <c>err</c> port is where it lives on.</summary>
    Ack,
}

/// <summary>What the source consumes: a queue (declared or existing), optionally bound to an exchange.</summary>
internal sealed record AmqpSourceOptions(
    string Queue,
    bool Declare,
    bool Durable,
    string? Exchange,
    string ExchangeType,
    IReadOnlyList<string> BindingKeys,
    ushort Prefetch,
    UndecodableAction Undecodable,
    string? DeadLetterExchange);

/// <summary>Where the sink publishes when an event's <c>$amqp</c> names no exchange or routing key.</summary>
internal sealed record AmqpSinkOptions(string Exchange, string? ExchangeType, string RoutingKey, bool Mandatory, bool Persistent);

/// <summary>An <c>amqp</c> connector's settings, read and checked at create; every error names its key path.</summary>
internal sealed record AmqpOptions(
    string Host,
    int Port,
    bool Tls,
    string VirtualHost,
    string Username,
    string Password,
    TimeSpan ConnectTimeout,
    AmqpSourceOptions? Source,
    AmqpSinkOptions? Sink)
{
    private static readonly string[] ExchangeTypes = ["direct", "fanout", "topic", "headers"];

    public string Where => $"{(Tls ? "amqps" : "amqp")}://{Host}:{Port}{(VirtualHost == "/" ? "" : "/" + Uri.EscapeDataString(VirtualHost))}";

    public static AmqpOptions Read(PluginConfig config)
    {
        config.RejectUnknownKeys("url", "username", "password", "connect-timeout", "source", "sink");
        if (!config.Has("url")) throw new ConfigException(Key(config, "url"), "is required: url = \"amqp://HOST:PORT/VHOST\" (amqps:// for TLS)");
        var text = config.GetString("url");
        if (!Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : $"amqp://{text}", UriKind.Absolute, out var uri) ||
            uri.Host.Length == 0 ||
            uri.Scheme is not ("amqp" or "amqps") ||
            uri.UserInfo.Length > 0 ||
            uri.AbsolutePath.TrimStart('/').Contains('/', StringComparison.Ordinal))
        {
            throw new ConfigException(Key(config, "url"), $"expected amqp://HOST:PORT/VHOST or amqps://HOST:PORT/VHOST (credentials go in username and password), found '{text}'");
        }
        var tls = uri.Scheme == "amqps";
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        var username = config.GetString("username", "guest");
        if (username.Length == 0) throw new ConfigException(Key(config, "username"), "must not be empty");
        var password = config.GetString("password", "guest");
        var connectTimeout = config.GetDuration("connect-timeout", TimeSpan.FromSeconds(5));
        if (connectTimeout <= TimeSpan.Zero) throw new ConfigException(Key(config, "connect-timeout"), $"must be greater than zero, found '{config.Raw["connect-timeout"]}'");
        var source = config.Has("source") ? ReadSource(config.GetSection("source")) : null;
        var sink = config.Has("sink") ? ReadSink(config.GetSection("sink")) : null;
        if (source is null && sink is null)
        {
            throw new ConfigException(Key(config, "source"), "give source { queue = ... } to consume, sink { exchange = ..., routing-key = ... } to publish, or both");
        }
        return new AmqpOptions(
            uri.DnsSafeHost, uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 5671 : 5672) : uri.Port, tls, vhost.Length == 0 ? "/" : vhost,
            username, password, connectTimeout, source, sink);
    }

    private static AmqpSourceOptions ReadSource(PluginConfig source)
    {
        source.RejectUnknownKeys("queue", "declare", "durable", "exchange", "exchange-type", "binding-keys", "prefetch", "undecodable", "dead-letter-exchange");
        if (!source.Has("queue")) throw new ConfigException(Key(source, "queue"), "is required: the queue to consume");
        var queue = source.GetString("queue");
        if (queue.Length == 0) throw new ConfigException(Key(source, "queue"), "must not be empty (a server-named queue would be lost with the connection)");
        var declare = source.GetBool("declare", true);
        var exchange = source.GetOptionalString("exchange");
        if (exchange is { Length: 0 }) throw new ConfigException(Key(source, "exchange"), "must not be empty: the default exchange routes to every queue by its name already");
        foreach (var exchangeOnly in new[] { "exchange-type", "binding-keys" })
        {
            if (exchange is null && source.Has(exchangeOnly)) throw new ConfigException(Key(source, exchangeOnly), "applies only with exchange = ... (the exchange the queue is bound to)");
        }
        var exchangeType = ExchangeType(source, "topic");
        var bindingKeys = source.Has("binding-keys") ? source.GetStringList("binding-keys") : ["#"];
        if (bindingKeys.Count == 0) throw new ConfigException(Key(source, "binding-keys"), "must name at least one binding key (\"#\" takes everything on a topic exchange)");
        var prefetch = source.GetInt("prefetch", 64);
        if (prefetch is < 1 or > ushort.MaxValue) throw new ConfigException(Key(source, "prefetch"), $"must be between 1 and {ushort.MaxValue}, found {prefetch}");
        var undecodable = source.GetString("undecodable", "reject") switch
        {
            "reject" => UndecodableAction.Reject,
            "ack" => UndecodableAction.Ack,
            var other => throw new ConfigException(Key(source, "undecodable"), $"must be reject (to the queue's dead-letter exchange, or dropped) or ack, found '{other}'"),
        };
        var deadLetter = source.GetOptionalString("dead-letter-exchange");
        if (deadLetter is not null && !declare)
        {
            throw new ConfigException(Key(source, "dead-letter-exchange"), "is set when the queue is declared (declare = true); an existing queue keeps the arguments it was made with");
        }
        return new AmqpSourceOptions(queue, declare, source.GetBool("durable", true), exchange, exchangeType, bindingKeys, (ushort)prefetch, undecodable, deadLetter);
    }

    private static AmqpSinkOptions ReadSink(PluginConfig sink)
    {
        sink.RejectUnknownKeys("exchange", "exchange-type", "routing-key", "mandatory", "persistent");
        var exchange = sink.GetString("exchange", "");
        string? exchangeType = null;
        if (sink.Has("exchange-type"))
        {
            if (exchange.Length == 0) throw new ConfigException(Key(sink, "exchange-type"), "applies to a named exchange (the default exchange \"\" always exists)");
            exchangeType = ExchangeType(sink, "topic");
        }
        return new AmqpSinkOptions(exchange, exchangeType, sink.GetString("routing-key", ""), sink.GetBool("mandatory", true), sink.GetBool("persistent", true));
    }

    private static string ExchangeType(PluginConfig section, string defaultValue)
    {
        var type = section.GetString("exchange-type", defaultValue);
        if (!ExchangeTypes.Contains(type, StringComparer.Ordinal))
        {
            throw new ConfigException(Key(section, "exchange-type"), $"must be one of {string.Join(", ", ExchangeTypes)}, found '{type}'");
        }
        return type;
    }

    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";
}
