using MQTTnet.Protocol;
using Tremor.Pdk;

namespace Tremor.Connectors.Mqtt;

/// <summary>An <c>mqtt</c> connector's settings, read and checked at create so a bad key stops the flow before it starts.</summary>
internal sealed record MqttOptions(
    string Host,
    int Port,
    bool Tls,
    string ClientId,
    IReadOnlyList<string> Topics,
    MqttQualityOfServiceLevel Qos,
    string? Topic,
    bool Retain,
    string? Username,
    string? Password,
    TimeSpan KeepAlive,
    TimeSpan ConnectTimeout,
    uint SessionExpirySeconds)
{
    public string Where => $"{(Tls ? "mqtts" : "mqtt")}://{Host}:{Port}";

    /// <summary>Reads the <c>config { ... }</c> section; every error names its key path.</summary>
    public static MqttOptions Read(PluginConfig config, string alias)
    {
        config.RejectUnknownKeys(
            "url", "client-id", "topics", "qos", "topic", "retain", "username", "password", "keep-alive", "connect-timeout", "session-expiry");
        if (!config.Has("url")) throw new ConfigException(Key(config, "url"), "is required: url = \"mqtt://HOST:PORT\" (mqtts:// for TLS)");
        var text = config.GetString("url");
        if (!Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : $"mqtt://{text}", UriKind.Absolute, out var uri) ||
            uri.Host.Length == 0 ||
            uri.Scheme is not ("mqtt" or "mqtts") ||
            uri.AbsolutePath.Length > 1)
        {
            throw new ConfigException(Key(config, "url"), $"expected mqtt://HOST:PORT or mqtts://HOST:PORT, found '{text}'");
        }
        var tls = uri.Scheme == "mqtts";
        var port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 8883 : 1883) : uri.Port;

        var topics = config.Has("topics") ? config.GetStringList("topics") : [];
        for (var i = 0; i < topics.Count; i++)
        {
            if (topics[i].Length == 0) throw new ConfigException(Key(config, $"topics[{i}]"), "must not be empty (a topic filter such as \"sensors/#\")");
        }
        var qos = config.GetInt("qos", 1) switch
        {
            0 => MqttQualityOfServiceLevel.AtMostOnce,
            1 => MqttQualityOfServiceLevel.AtLeastOnce,
            var other => throw new ConfigException(Key(config, "qos"), $"must be 0 (at most once) or 1 (at least once), found {other}"),
        };
        var topic = config.GetOptionalString("topic");
        if (topic is not null && (topic.Length == 0 || topic.Contains('+', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal)))
        {
            throw new ConfigException(Key(config, "topic"), $"must be a topic name without wildcards (+, #) to publish to, found '{topic}'");
        }
        var clientId = config.GetString("client-id", DefaultClientId(alias));
        if (clientId.Length == 0) throw new ConfigException(Key(config, "client-id"), "must not be empty: the broker keeps the session under it");
        var username = config.GetOptionalString("username");
        var password = config.GetOptionalString("password");
        if (password is not null && username is null) throw new ConfigException(Key(config, "username"), "is required when password is given");
        var keepAlive = config.GetDuration("keep-alive", TimeSpan.FromSeconds(30));
        if (keepAlive < TimeSpan.Zero || keepAlive > TimeSpan.FromSeconds(ushort.MaxValue))
        {
            throw new ConfigException(Key(config, "keep-alive"), $"must be between 0s and 65535s, found '{config.Raw["keep-alive"]}'");
        }
        var connectTimeout = config.GetDuration("connect-timeout", TimeSpan.FromSeconds(5));
        if (connectTimeout <= TimeSpan.Zero) throw new ConfigException(Key(config, "connect-timeout"), $"must be greater than zero, found '{config.Raw["connect-timeout"]}'");
        var sessionExpiry = config.GetDuration("session-expiry", TimeSpan.FromHours(1));
        if (sessionExpiry < TimeSpan.Zero || sessionExpiry.TotalSeconds > uint.MaxValue)
        {
            throw new ConfigException(Key(config, "session-expiry"), $"must be between 0s and {uint.MaxValue}s, found '{config.Raw["session-expiry"]}'");
        }
        return new MqttOptions(
            uri.DnsSafeHost, port, tls, clientId, topics, qos, topic, config.GetBool("retain", false), username, password,
            keepAlive, connectTimeout, (uint)sessionExpiry.TotalSeconds);
    }

    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";

    /// <summary>
    /// A stable id per connector instance (the broker keeps the session, and so the unacknowledged messages, under it),
    /// made from the alias: <c>flow::connector</c> becomes <c>tremor-flow-connector</c>.
    /// </summary>
    private static string DefaultClientId(string alias) =>
        "tremor-" + new string(alias.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-');
}
