using System.Globalization;
using Tremor.Pdk;
using Tremor.Script.Troy;

namespace Tremor.Actors.Configuration.Troy;

/// <summary>
/// Tremor's connector config keys and value shapes mapped onto ours, one table per connector type both systems have.
/// A Tremor key we have no equivalent for is an error naming it, never dropped; our own keys pass unchanged, so a
/// troy file may also use what only Tremor.NET has (a metronome's <c>iterations</c>).
/// </summary>
internal static class TroyKeyMap
{
    /// <summary>How one Tremor key becomes ours: the key, or null when we have none (<paramref name="Missing"/> says what to do).</summary>
    /// <param name="Ours">Our key.</param>
    /// <param name="Shape">How the value changes (<c>same</c>, <c>nanoseconds</c> to a duration, <c>tls-server</c>, <c>tls-client</c>).</param>
    /// <param name="Missing">Why there is no equivalent and what to do instead.</param>
    public sealed record Rule(string? Ours, string Shape = "same", string? Missing = null);

    private static Rule Same(string ours) => new(ours);

    private static Rule Nanos(string ours) => new(ours, "nanoseconds");

    private static Rule None(string why) => new(null, Missing: why);

    private const string SocketOptions = "Tremor.NET sets no socket options (SO_REUSEADDR and TCP_NODELAY are its defaults); remove it";

    /// <summary>Per connector type: Tremor key → rule. Types not listed take their config unchanged.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, Rule>> Tables { get; } = new Dictionary<string, IReadOnlyDictionary<string, Rule>>(StringComparer.Ordinal)
    {
        ["file"] = Table(("path", Same("path")), ("mode", Same("mode")), ("chunk_size", Same("chunk_size"))),
        ["metronome"] = Table(("interval", Nanos("interval"))),
        ["stdio"] = Table(),
        ["exit"] = Table(),
        ["null"] = Table(),
        ["bench"] = Table(
            ("path", Same("path")),
            ("interval", Nanos("interval")),
            ("iters", Same("iterations")),
            ("base64", Same("base64")),
            ("stop_after_secs", Same("stop-after-secs")),
            ("warmup_secs", Same("warmup-secs")),
            ("chunk_size", None("the bench source splits its file into lines only; remove it")),
            ("is_transactional", None("bench events are not transactional here; remove it")),
            ("structured", None("the report is printed as text; remove it")),
            ("significant_figures", None("the histogram keeps 3 significant figures; remove it"))),
        ["tcp_server"] = Table(
            ("url", Same("url")),
            ("buf_size", Same("buffer-size")),
            ("backlog", Same("backlog")),
            ("tls", new Rule("tls", "tls-server")),
            ("socket_options", None(SocketOptions))),
        ["tcp_client"] = Table(
            ("url", Same("url")),
            ("buf_size", Same("buffer-size")),
            ("tls", new Rule("tls", "tls-client")),
            ("no_delay", None("TCP_NODELAY is always on; remove it")),
            ("socket_options", None(SocketOptions))),
        ["udp_server"] = Table(
            ("url", Same("url")),
            ("buf_size", Same("max-datagram-size")),
            ("socket_options", None(SocketOptions))),
        ["udp_client"] = Table(
            ("url", Same("url")),
            ("bind", None("the local address is chosen by the system; remove it")),
            ("socket_options", None(SocketOptions))),
        ["unix_socket_server"] = Table(("path", Same("path")), ("permissions", Same("permissions")), ("buf_size", Same("buffer-size"))),
        ["unix_socket_client"] = Table(("path", Same("path")), ("buf_size", Same("buffer-size"))),
        ["http_server"] = Table(
            ("url", Same("url")),
            ("tls", new Rule("tls", "tls-server")),
            ("mime_mapping", None("the connector's codec decodes every body; remove it and set codec")),
            ("custom_codecs", None("the connector's codec decodes every body; remove it and set codec"))),
        ["http_client"] = Table(
            ("url", Same("url")),
            ("method", Same("method")),
            ("headers", Same("headers")),
            ("timeout", Nanos("timeout")),
            ("concurrency", Same("concurrency")),
            ("tls", new Rule("tls", "tls-client-ca")),
            ("auth", None("set the Authorization header in headers instead")),
            ("mime_mapping", None("the connector's codec decodes every body; remove it and set codec")),
            ("custom_codecs", None("the connector's codec decodes every body; remove it and set codec"))),
        ["ws_server"] = Table(
            ("url", Same("url")),
            ("tls", new Rule("tls", "tls-server")),
            ("backlog", None("Kestrel keeps its own backlog; remove it")),
            ("socket_options", None(SocketOptions))),
        ["ws_client"] = Table(
            ("url", Same("url")),
            ("tls", new Rule("tls", "tls-client-ca")),
            ("socket_options", None(SocketOptions))),
    };

    /// <summary>Our own config keys per type (those a plugin accepts beyond Tremor's), passed through unchanged.</summary>
    private static readonly Dictionary<string, string[]> OwnKeys = new(StringComparer.Ordinal)
    {
        ["file"] = ["paths", "poll-interval", "read-from", "partial-line-timeout", "max-line-bytes", "multiline"],
        ["metronome"] = ["iterations"],
        ["stdio"] = ["output"],
        ["exit"] = ["code", "delay"],
        ["null"] = [],
        ["bench"] = ["iterations", "stop-after-secs", "warmup-secs"],
        ["tcp_server"] = ["host", "port", "max-connections", "idle-timeout", "write-timeout", "buffer-size"],
        ["tcp_client"] = ["host", "port", "buffer-size", "connect-timeout"],
        ["udp_server"] = ["host", "port", "max-datagram-size", "stream-mode", "receive-buffer-size"],
        ["udp_client"] = ["host", "port", "max-datagram-size"],
        ["unix_socket_server"] = ["backlog", "max-connections", "idle-timeout", "write-timeout", "buffer-size"],
        ["unix_socket_client"] = ["buffer-size", "connect-timeout"],
        ["http_server"] = ["reply", "response-timeout", "max-body-size", "max-pending-requests", "max-connections", "idle-timeout"],
        ["http_client"] = ["fail-on-status", "max-queued-responses", "max-response-size"],
        ["ws_server"] = ["mode", "max-message-size", "max-queued-messages", "max-connections", "idle-timeout"],
        ["ws_client"] = ["mode", "max-message-size", "max-queued-messages", "connect-timeout"],
    };

    private static Dictionary<string, Rule> Table(params (string Key, Rule Rule)[] rules) => rules.ToDictionary(r => r.Key, r => r.Rule, StringComparer.Ordinal);

    /// <summary>A connector's Tremor <c>config</c> record in our keys; errors at the key's place in the troy file.</summary>
    /// <param name="type">The connector type.</param>
    /// <param name="config">Tremor's config record.</param>
    /// <param name="setting">The <c>config</c> parameter, for where its fields are written.</param>
    /// <param name="written">Told each of our keys and where its Tremor key is written.</param>
    public static Value Config(string type, Value config, TroySetting setting, Action<string, TroyLocation>? written = null)
    {
        var record = config.AsRecord() ?? throw setting.Location.Error($"`config` of a {type} connector must be a record, found {Describe(config)}", "config = {\"key\": value}");
        if (!Tables.TryGetValue(type, out var table))
        {
            foreach (var (key, _) in record) written?.Invoke(key, setting.Fields.TryGetValue(key, out var l) ? l : setting.Location);
            return config;
        }
        var own = OwnKeys[type];
        var result = new ValueRecord();
        foreach (var (key, value) in record)
        {
            var where = setting.Fields.TryGetValue(key, out var l) ? l : setting.Location;
            if (table.TryGetValue(key, out var rule))
            {
                if (rule.Ours is null) throw where.Error($"Tremor's {type} key `{key}` has no equivalent in Tremor.NET", rule.Missing);
                var converted = Convert(rule, type, key, value, where);
                if (converted.IsNull) continue;
                result.Set(rule.Ours, converted);
                written?.Invoke(rule.Ours, where);
            }
            else if (own.Contains(key))
            {
                result.Set(key, value);
                written?.Invoke(key, where);
            }
            else
            {
                var known = table.Keys.Concat(own).ToList();
                var nearest = known.OrderBy(k => Distance(k, key)).FirstOrDefault();
                var hint = nearest is not null && Distance(nearest, key) <= Math.Max(2, key.Length / 3)
                    ? $"did you mean `{nearest}`?"
                    : known.Count == 0 ? $"a {type} connector takes no config; remove it" : $"its keys: {string.Join(", ", known)}";
                throw where.Error($"a {type} connector has no config key `{key}`", hint);
            }
        }
        return Value.From(result);
    }

    private static Value Convert(Rule rule, string type, string key, Value value, TroyLocation where)
    {
        switch (rule.Shape)
        {
            case "nanoseconds":
                if (!value.TryGetI64(out var ns) || ns < 0) throw where.Error($"Tremor's {type} `{key}` is a number of nanoseconds, found {Describe(value)}", $"\"{key}\": nanos::from_seconds(1)");
                return Duration(ns);
            case "tls-server":
                {
                    var tls = value.AsRecord() ?? throw where.Error($"`{key}` of a {type} connector must be a record {{\"cert\": ..., \"key\": ...}}, found {Describe(value)}");
                    return Rename(tls, type, key, where, ("cert", "cert"), ("key", "key"));
                }
            case "tls-client" or "tls-client-ca":
                {
                    if (value.TryGetBool(out var on))
                    {
                        // An HTTP or WebSocket client picks TLS from the url's scheme; `true` asks for the system roots,
                        // which is what it does without a tls section.
                        if (rule.Shape == "tls-client-ca") return default;
                        return on;
                    }
                    var tls = value.AsRecord() ?? throw where.Error($"`{key}` of a {type} connector must be true, false or a record, found {Describe(value)}");
                    return rule.Shape == "tls-client"
                        ? Rename(tls, type, key, where, ("cafile", "ca"), ("domain", "domain"), ("cert", "cert"), ("key", "key"))
                        : Rename(tls, type, key, where, ("cafile", "ca"));
                }
            default:
                return value;
        }
    }

    private static Value Rename(ValueRecord record, string type, string key, TroyLocation where, params (string Tremor, string Ours)[] keys)
    {
        var result = new ValueRecord();
        foreach (var (k, v) in record)
        {
            var match = keys.FirstOrDefault(p => p.Tremor == k);
            if (match.Ours is null)
            {
                throw where.Error($"Tremor's {type} `{key}.{k}` has no equivalent in Tremor.NET", $"its {key} keys: {string.Join(", ", keys.Select(p => p.Tremor))}");
            }
            result.Set(match.Ours, v);
        }
        return Value.From(result);
    }

    /// <summary>
    /// A nanosecond count as our duration: text when it is whole milliseconds (<c>1s</c>, <c>250ms</c>), else a number
    /// of milliseconds with a fraction, which durations also accept, so nothing is rounded away.
    /// </summary>
    public static Value Duration(long ns)
    {
        if (ns % 1_000_000_000 == 0) return (ns / 1_000_000_000).ToString(CultureInfo.InvariantCulture) + "s";
        if (ns % 1_000_000 == 0) return (ns / 1_000_000).ToString(CultureInfo.InvariantCulture) + "ms";
        return ns / 1_000_000.0;
    }

    internal static string Describe(Value v) => v.Kind switch
    {
        ValueKind.String => $"the string \"{v.AsString()}\"",
        ValueKind.Record => "a record",
        ValueKind.Array => "an array",
        ValueKind.Null => "null",
        _ => v.ToString(),
    };

    internal static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
