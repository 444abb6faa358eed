using Tremor.Pdk;

namespace Tremor.Connectors.Redis;

/// <summary>Which Redis structure a side reads or writes.</summary>
internal enum RedisKind
{
    /// <summary>A stream: XREADGROUP / XACK in, XADD out.</summary>
    Stream,
    /// <summary>A list: LPOP in, RPUSH out.</summary>
    List,
    /// <summary>Pub/sub channels: SUBSCRIBE in, PUBLISH out.</summary>
    PubSub,
}

/// <summary>What the source reads: a stream through a consumer group, a list, or channels.</summary>
internal sealed record RedisSourceOptions(RedisKind Kind, string Key, IReadOnlyList<string> Channels, string Group, string Consumer, string Start, string Field);

/// <summary>Where the sink writes when an event names no <c>$redis</c> key or channel.</summary>
internal sealed record RedisSinkOptions(RedisKind Kind, string? Key, string Field);

/// <summary>A <c>redis</c> connector's settings, read and checked at create; every error names its key path.</summary>
internal sealed record RedisOptions(
    string Host,
    int Port,
    bool Tls,
    string? Username,
    string? Password,
    TimeSpan ConnectTimeout,
    RedisSourceOptions? Source,
    RedisSinkOptions? Sink)
{
    public string Where => $"{(Tls ? "rediss" : "redis")}://{Host}:{Port}";

    public static RedisOptions Read(PluginConfig config, string alias)
    {
        config.RejectUnknownKeys("url", "username", "password", "connect-timeout", "source", "sink");
        if (!config.Has("url")) throw new ConfigException(Key(config, "url"), "is required: url = \"redis://HOST:PORT\" (rediss:// for TLS)");
        var text = config.GetString("url");
        if (!Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : $"redis://{text}", UriKind.Absolute, out var uri) ||
            uri.Host.Length == 0 ||
            uri.Scheme is not ("redis" or "rediss") ||
            uri.AbsolutePath.Length > 1 ||
            uri.UserInfo.Length > 0)
        {
            throw new ConfigException(Key(config, "url"), $"expected redis://HOST:PORT or rediss://HOST:PORT (credentials go in username and password), found '{text}'");
        }
        var password = config.GetOptionalString("password");
        var username = config.GetOptionalString("username");
        if (username is not null && password is null) throw new ConfigException(Key(config, "password"), "is required when username is given");
        var connectTimeout = config.GetDuration("connect-timeout", TimeSpan.FromSeconds(5));
        if (connectTimeout <= TimeSpan.Zero) throw new ConfigException(Key(config, "connect-timeout"), $"must be greater than zero, found '{config.Raw["connect-timeout"]}'");
        var source = config.Has("source") ? ReadSource(config.GetSection("source"), alias) : null;
        var sink = config.Has("sink") ? ReadSink(config.GetSection("sink")) : null;
        if (source is null && sink is null)
        {
            throw new ConfigException(Key(config, "source"), "give source { stream | list | channels = ... } to read, sink { stream | list | channel = ... } to write, or both");
        }
        return new RedisOptions(uri.DnsSafeHost, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port, uri.Scheme == "rediss", username, password, connectTimeout, source, sink);
    }

    private static RedisSourceOptions ReadSource(PluginConfig source, string alias)
    {
        source.RejectUnknownKeys("stream", "list", "channels", "group", "consumer", "start", "field");
        var kind = OneOf(source, "stream", "list", "channels");
        if (kind != "stream")
        {
            foreach (var streamOnly in new[] { "group", "consumer", "start" })
            {
                if (source.Has(streamOnly)) throw new ConfigException(Key(source, streamOnly), $"applies to a stream source only (this one reads {kind})");
            }
        }
        var field = NonEmpty(source, "field", "data");
        switch (kind)
        {
            case "stream":
                var start = source.GetString("start", "$");
                if (start != "$" && start != "0" && !System.Text.RegularExpressions.Regex.IsMatch(start, "^[0-9]+(-[0-9]+)?$"))
                {
                    throw new ConfigException(Key(source, "start"), $"expected \"$\" (only new entries), \"0\" (the whole stream) or an entry id, found '{start}'");
                }
                return new RedisSourceOptions(RedisKind.Stream, NonEmpty(source, "stream", null), [], NonEmpty(source, "group", "tremor"),
                    NonEmpty(source, "consumer", DefaultConsumer(alias)), start, field);
            case "list":
                return new RedisSourceOptions(RedisKind.List, NonEmpty(source, "list", null), [], "", "", "", field);
            default:
                var channels = source.GetStringList("channels");
                if (channels.Count == 0) throw new ConfigException(Key(source, "channels"), "must name at least one channel");
                for (var i = 0; i < channels.Count; i++)
                {
                    if (channels[i].Length == 0) throw new ConfigException(Key(source, $"channels[{i}]"), "must not be empty");
                }
                return new RedisSourceOptions(RedisKind.PubSub, "", channels, "", "", "", field);
        }
    }

    private static RedisSinkOptions ReadSink(PluginConfig sink)
    {
        sink.RejectUnknownKeys("stream", "list", "channel", "field");
        var kind = OneOf(sink, "stream", "list", "channel");
        var key = sink.GetString(kind);
        if (key.Length == 0) throw new ConfigException(Key(sink, kind), "must not be empty");
        return new RedisSinkOptions(kind switch { "stream" => RedisKind.Stream, "list" => RedisKind.List, _ => RedisKind.PubSub }, key, NonEmpty(sink, "field", "data"));
    }

    private static string OneOf(PluginConfig section, params string[] keys)
    {
        var present = keys.Where(section.Has).ToList();
        if (present.Count == 1) return present[0];
        throw new ConfigException(
            Key(section, present.Count == 0 ? keys[0] : present[1]),
            present.Count == 0 ? $"give one of {string.Join(", ", keys)}" : $"give only one of {string.Join(", ", keys)}, found {string.Join(" and ", present)}");
    }

    private static string NonEmpty(PluginConfig section, string key, string? defaultValue)
    {
        if (defaultValue is null && !section.Has(key)) throw new ConfigException(Key(section, key), "is required");
        var value = section.GetString(key, defaultValue);
        if (value.Length == 0) throw new ConfigException(Key(section, key), "must not be empty");
        return value;
    }

    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";

    /// <summary>A stable consumer name per connector (its pending entries are redelivered to it after a restart).</summary>
    private static string DefaultConsumer(string alias) =>
        "tremor-" + new string(alias.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-');
}
