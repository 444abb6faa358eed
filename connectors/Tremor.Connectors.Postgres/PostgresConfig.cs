using Tremor.Pdk;

namespace Tremor.Connectors.Postgres;

/// <summary>What the source reads: a query polled with a tracked cursor column, and/or LISTEN channels.</summary>
internal sealed record PostgresSourceOptions(string? Query, string? Cursor, Value Start, TimeSpan Interval, IReadOnlyList<string> Channels);

/// <summary>Where the sink writes: a table, columns from event fields, optionally an upsert on conflict keys.</summary>
internal sealed record PostgresSinkOptions(string Table, IReadOnlyList<(string Column, string[] Field)>? Columns, IReadOnlyList<string> OnConflict);

/// <summary>A <c>postgres</c> connector's settings, read and checked at create; every error names its key path.</summary>
internal sealed record PostgresOptions(
    string Host,
    int Port,
    string Database,
    string Username,
    string? Password,
    bool Tls,
    TimeSpan ConnectTimeout,
    PostgresSourceOptions? Source,
    PostgresSinkOptions? Sink)
{
    public string Where => $"postgres://{Host}:{Port}/{Database}";

    public static PostgresOptions Read(PluginConfig config)
    {
        config.RejectUnknownKeys("url", "username", "password", "tls", "connect-timeout", "source", "sink");
        if (!config.Has("url")) throw new ConfigException(Key(config, "url"), "is required: url = \"postgres://HOST:PORT/DATABASE\"");
        var text = config.GetString("url");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) ||
            uri.Host.Length == 0 ||
            uri.Scheme is not ("postgres" or "postgresql") ||
            uri.UserInfo.Length > 0 ||
            uri.Query.Length > 0 ||
            uri.AbsolutePath.TrimStart('/').Length == 0 ||
            uri.AbsolutePath.TrimStart('/').Contains('/', StringComparison.Ordinal))
        {
            throw new ConfigException(Key(config, "url"), $"expected postgres://HOST:PORT/DATABASE (credentials go in username and password), found '{text}'");
        }
        var username = config.GetString("username", "postgres");
        if (username.Length == 0) throw new ConfigException(Key(config, "username"), "must not be empty");
        var connectTimeout = config.GetDuration("connect-timeout", TimeSpan.FromSeconds(5));
        if (connectTimeout < TimeSpan.FromSeconds(1)) throw new ConfigException(Key(config, "connect-timeout"), $"must be at least 1s, found '{config.Raw["connect-timeout"]}'");
        var source = config.Has("source") ? ReadSource(config.GetSection("source")) : null;
        var sink = config.Has("sink") ? ReadSink(config.GetSection("sink")) : null;
        if (source is null && sink is null)
        {
            throw new ConfigException(Key(config, "source"), "give source { query = ..., cursor = ... } or source { channels = [...] } to read, sink { table = ... } to write, or both");
        }
        return new PostgresOptions(
            uri.DnsSafeHost, uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port, Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
            username, config.GetOptionalString("password"), config.GetBool("tls", false), connectTimeout, source, sink);
    }

    private static PostgresSourceOptions ReadSource(PluginConfig source)
    {
        source.RejectUnknownKeys("query", "cursor", "start", "interval", "channels");
        var query = source.GetOptionalString("query");
        var channels = source.Has("channels") ? source.GetStringList("channels") : [];
        for (var i = 0; i < channels.Count; i++)
        {
            if (channels[i].Length == 0) throw new ConfigException(Key(source, $"channels[{i}]"), "must not be empty");
        }
        if (query is null)
        {
            foreach (var queryOnly in new[] { "cursor", "start", "interval" })
            {
                if (source.Has(queryOnly)) throw new ConfigException(Key(source, queryOnly), "applies to a polled query only: set query = \"SELECT ...\"");
            }
            if (channels.Count == 0) throw new ConfigException(Key(source, "query"), "give query = \"SELECT ... WHERE id > $1 ORDER BY id LIMIT 1000\" with cursor = \"id\", channels = [...] to LISTEN, or both");
            return new PostgresSourceOptions(null, null, default, TimeSpan.Zero, channels);
        }
        if (query.Trim().Length == 0) throw new ConfigException(Key(source, "query"), "must not be empty");
        var cursor = source.GetOptionalString("cursor");
        if (cursor is null) throw new ConfigException(Key(source, "cursor"), "is required with a query: the column whose last acknowledged value the next poll starts after (e.g. a serial id)");
        if (cursor.Length == 0) throw new ConfigException(Key(source, "cursor"), "must not be empty");
        if (!query.Contains("$1", StringComparison.Ordinal))
        {
            throw new ConfigException(Key(source, "query"), $"must use $1 for the cursor's last value, e.g. \"SELECT * FROM events WHERE {cursor} > $1 ORDER BY {cursor} LIMIT 1000\"");
        }
        var start = source.Has("start") ? source.Raw["start"] : Value.From(0L);
        if (start.Kind is not (ValueKind.I64 or ValueKind.String))
        {
            throw new ConfigException(Key(source, "start"), $"must be an integer or a string (a timestamp, a text key), found {start}");
        }
        var interval = source.GetDuration("interval", TimeSpan.FromSeconds(1));
        if (interval <= TimeSpan.Zero) throw new ConfigException(Key(source, "interval"), $"must be greater than zero, found '{source.Raw["interval"]}'");
        return new PostgresSourceOptions(query, cursor, start, interval, channels);
    }

    private static PostgresSinkOptions ReadSink(PluginConfig sink)
    {
        sink.RejectUnknownKeys("table", "columns", "on-conflict");
        if (!sink.Has("table")) throw new ConfigException(Key(sink, "table"), "is required: the table rows are inserted into (schema.table or table)");
        var table = sink.GetString("table");
        if (table.Length == 0) throw new ConfigException(Key(sink, "table"), "must not be empty");
        List<(string, string[])>? columns = null;
        if (sink.Has("columns"))
        {
            var section = sink.GetSection("columns");
            columns = [];
            foreach (var (column, field) in section.Raw)
            {
                if (field.AsString() is not { Length: > 0 } path)
                {
                    throw new ConfigException(Key(section, column), $"must be the event field the column takes (\"name\" or \"nested.name\"), found {field}");
                }
                columns.Add((column, path.Split('.')));
            }
            if (columns.Count == 0) throw new ConfigException(Key(sink, "columns"), "must map at least one column, or be left out (columns named as the event's fields)");
        }
        var onConflict = sink.Has("on-conflict") ? sink.GetStringList("on-conflict") : [];
        for (var i = 0; i < onConflict.Count; i++)
        {
            if (onConflict[i].Length == 0) throw new ConfigException(Key(sink, $"on-conflict[{i}]"), "must not be empty");
            if (columns is not null && !columns.Exists(c => c.Item1 == onConflict[i]))
            {
                throw new ConfigException(Key(sink, $"on-conflict[{i}]"), $"'{onConflict[i]}' is not one of the mapped columns ({string.Join(", ", columns.Select(c => c.Item1))})");
            }
        }
        if (sink.Has("on-conflict") && onConflict.Count == 0) throw new ConfigException(Key(sink, "on-conflict"), "must name the key columns of a unique index, e.g. [\"id\"]");
        return new PostgresSinkOptions(table, columns, onConflict);
    }

    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";
}
