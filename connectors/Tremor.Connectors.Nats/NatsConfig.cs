using Tremor.Pdk;

namespace Tremor.Connectors.Nats;

/// <summary>What the source reads: a core subject (optionally in a queue group), or a JetStream durable consumer.</summary>
internal sealed record NatsSourceOptions(string? Subject, string? Queue, string? Stream, string? Consumer, string? Filter, IReadOnlyList<string> StreamSubjects)
{
    public bool IsJetStream => Stream is not null;
}

/// <summary>Where the sink publishes (unless an event's <c>$nats.subject</c> says otherwise), and whether through JetStream.</summary>
internal sealed record NatsSinkOptions(string Subject, bool JetStream);

/// <summary>A <c>nats</c> connector's settings, read and checked at create; every error names its key path.</summary>
internal sealed record NatsOptions(string Url, string? Username, string? Password, TimeSpan ConnectTimeout, NatsSourceOptions? Source, NatsSinkOptions? Sink)
{
    public static NatsOptions Read(PluginConfig config, string alias)
    {
        config.RejectUnknownKeys("url", "username", "password", "connect-timeout", "source", "sink");
        if (!config.Has("url")) throw new ConfigException(Key(config, "url"), "is required: url = \"nats://HOST:PORT\"");
        var text = config.GetString("url");
        if (!Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : $"nats://{text}", UriKind.Absolute, out var uri) ||
            uri.Host.Length == 0 || uri.Scheme is not ("nats" or "tls") || uri.AbsolutePath.Length > 1 || uri.UserInfo.Length > 0)
        {
            throw new ConfigException(Key(config, "url"), $"expected nats://HOST:PORT or tls://HOST:PORT (credentials go in username and password), found '{text}'");
        }
        var url = $"{uri.Scheme}://{uri.Authority}{(uri.IsDefaultPort || uri.Port <= 0 ? ":4222" : "")}";
        var username = config.GetOptionalString("username");
        var password = config.GetOptionalString("password");
        if (password is not null && username is null) throw new ConfigException(Key(config, "username"), "is required when password is given");
        var connectTimeout = config.GetDuration("connect-timeout", TimeSpan.FromSeconds(5));
        if (connectTimeout <= TimeSpan.Zero) throw new ConfigException(Key(config, "connect-timeout"), $"must be greater than zero, found '{config.Raw["connect-timeout"]}'");
        var source = config.Has("source") ? ReadSource(config.GetSection("source"), alias) : null;
        var sink = config.Has("sink") ? ReadSink(config.GetSection("sink")) : null;
        if (source is null && sink is null)
        {
            throw new ConfigException(Key(config, "source"), "give source { subject = ... } or source { stream = ... } to read, sink { subject = ... } to write, or both");
        }
        return new NatsOptions(url, username, password, connectTimeout, source, sink);
    }

    private static NatsSourceOptions ReadSource(PluginConfig source, string alias)
    {
        source.RejectUnknownKeys("subject", "queue", "stream", "consumer", "filter", "subjects");
        if (source.Has("stream"))
        {
            if (source.Has("subject")) throw new ConfigException(Key(source, "subject"), "give subject (core NATS) or stream (JetStream), not both; a JetStream consumer narrows with filter");
            if (source.Has("queue")) throw new ConfigException(Key(source, "queue"), "applies to core subjects only: JetStream consumers share work through one durable consumer");
            var subjects = source.Has("subjects") ? source.GetStringList("subjects") : [];
            for (var i = 0; i < subjects.Count; i++)
            {
                if (subjects[i].Length == 0) throw new ConfigException(Key(source, $"subjects[{i}]"), "must not be empty (a subject such as \"events.>\")");
            }
            return new NatsSourceOptions(null, null, NonEmpty(source, "stream", null), NonEmpty(source, "consumer", DefaultName(alias)), source.GetOptionalString("filter"), subjects);
        }
        if (!source.Has("subject")) throw new ConfigException(Key(source, "subject"), "is required (a core subject such as \"events.>\"), or give stream for JetStream");
        foreach (var jetStreamOnly in new[] { "consumer", "filter", "subjects" })
        {
            if (source.Has(jetStreamOnly)) throw new ConfigException(Key(source, jetStreamOnly), "applies to a JetStream source (stream = ...) only");
        }
        return new NatsSourceOptions(NonEmpty(source, "subject", null), source.GetOptionalString("queue"), null, null, null, []);
    }

    private static NatsSinkOptions ReadSink(PluginConfig sink)
    {
        sink.RejectUnknownKeys("subject", "jetstream");
        var subject = NonEmpty(sink, "subject", null);
        if (subject.Contains('*', StringComparison.Ordinal) || subject.Contains('>', StringComparison.Ordinal))
        {
            throw new ConfigException(Key(sink, "subject"), $"must be a subject without wildcards (*, >) to publish to, found '{subject}'");
        }
        return new NatsSinkOptions(subject, sink.GetBool("jetstream", false));
    }

    private static string NonEmpty(PluginConfig section, string key, string? defaultValue)
    {
        if (defaultValue is null && !section.Has(key)) throw new ConfigException(Key(section, key), "is required");
        var value = section.GetString(key, defaultValue);
        if (value.Length == 0 || value.Any(char.IsWhiteSpace)) throw new ConfigException(Key(section, key), $"must be a name without spaces, found '{value}'");
        return value;
    }

    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";

    /// <summary>A stable durable name per connector (the server keeps its unacknowledged messages for it).</summary>
    private static string DefaultName(string alias) =>
        "tremor-" + new string(alias.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-');
}
