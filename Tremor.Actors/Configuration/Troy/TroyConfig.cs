using System.Globalization;
using System.Text;
using Tremor.Pdk;
using Tremor.Script;
using Tremor.Script.Troy;

namespace Tremor.Actors.Configuration.Troy;

/// <summary>
/// The troy front end: a deployment in Tremor's troy language becomes the HOCON of the same flows, which
/// <see cref="TremorConfig"/> reads into the flow model as it reads any HOCON file. <c>tremor run x.troy</c> and
/// <c>tremor convert x.troy</c> go through here, so what runs is exactly what convert prints.
/// </summary>
public static class TroyConfig
{
    /// <summary>Whether <paramref name="path"/> names a troy file (by its extension).</summary>
    public static bool IsTroyFile(string path) => path.EndsWith(".troy", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a request body is troy rather than HOCON: its first word (past comments) starts a troy statement.
    /// HOCON cannot start that way and be a deployment.
    /// </summary>
    public static bool LooksLikeTroy(string text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i])) i++;
            else if (text[i] == '#' || text.AsSpan(i).StartsWith("//"))
            {
                while (i < text.Length && text[i] != '\n') i++;
            }
            else break;
        }
        var rest = text.AsSpan(i);
        foreach (var word in new[] { "define", "deploy", "use" })
        {
            if (rest.StartsWith(word, StringComparison.Ordinal) && rest.Length > word.Length && char.IsWhiteSpace(rest[word.Length])) return true;
        }
        return false;
    }

    /// <summary>The HOCON of a troy file; <c>use NAME;</c> finds <c>NAME.troy</c> beside it.</summary>
    /// <exception cref="ConfigException">Any error, at <c>FILE:LINE:COL</c>, with the line, a caret and a hint.</exception>
    public static string ToHocon(string path) => Convert(path).Hocon;

    /// <summary>The HOCON of troy <paramref name="text"/>; <paramref name="origin"/> names it in errors, modules are looked up in <paramref name="directory"/> (null: standard modules only).</summary>
    /// <exception cref="ConfigException">Any error, at <c>ORIGIN:LINE:COL</c>, with the line, a caret and a hint.</exception>
    public static string ToHocon(string text, string origin, string? directory) => Convert(text, origin, directory).Hocon;

    /// <summary>As <see cref="ToHocon(string)"/>, with where each HOCON key was written in troy.</summary>
    public static TroyConversion Convert(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(path, "no such file");
        var full = Path.GetFullPath(path);
        return Convert(File.ReadAllText(full), full, Path.GetDirectoryName(full));
    }

    /// <summary>As <see cref="ToHocon(string, string, string?)"/>, with where each HOCON key was written in troy.</summary>
    public static TroyConversion Convert(string text, string origin, string? directory)
    {
        try
        {
            var flows = TroyDeployment.Load(text, origin, directory);
            var places = new Dictionary<string, TroyLocation>(StringComparer.Ordinal);
            return new TroyConversion(Write(flows, origin, places), places);
        }
        catch (ScriptException e)
        {
            var where = $"{e.Origin}:{e.Line}:{e.Column}";
            throw new ConfigException(where, e.Message.StartsWith(where + ":", StringComparison.Ordinal) ? e.Message[(where.Length + 1)..].TrimStart() : e.Message);
        }
    }

    private static string Write(IReadOnlyList<TroyFlow> flows, string origin, Dictionary<string, TroyLocation> places)
    {
        var sb = new StringBuilder();
        sb.Append("# The flows of ").Append(Path.GetFileName(origin)).Append(", converted from troy by tremor convert.\n");
        sb.Append("tremor {\n  flows {\n");
        foreach (var flow in flows)
        {
            var flowPath = $"tremor.flows.{flow.Name}";
            places[flowPath] = flow.Location;
            sb.Append("    ").Append(HoconWriter.Key(flow.Name)).Append(" {\n");
            sb.Append("      connectors {\n");
            foreach (var c in flow.Connectors)
            {
                sb.Append("        ").Append(HoconWriter.Key(c.Alias)).Append(' ');
                HoconWriter.Write(sb, Value.From(Connector(c, $"{flowPath}.connectors.{c.Alias}", places)), 8);
                sb.Append('\n');
            }
            sb.Append("      }\n");
            if (flow.Pipelines.Count > 0)
            {
                sb.Append("      pipelines {\n");
                foreach (var p in flow.Pipelines)
                {
                    places[$"{flowPath}.pipelines.{p.Alias}"] = p.Location;
                    sb.Append("        ").Append(HoconWriter.Key(p.Alias)).Append(" {\n");
                    sb.Append("          query = ").Append(HoconWriter.Text(p.Query, 10)).Append('\n');
                    if (p.Args.AsRecord() is { Count: > 0 } args)
                    {
                        sb.Append("          args ");
                        HoconWriter.Write(sb, Value.From(args), 10);
                        sb.Append('\n');
                    }
                    sb.Append("        }\n");
                }
                sb.Append("      }\n");
            }
            sb.Append("      links = [\n");
            for (var i = 0; i < flow.Links.Count; i++)
            {
                var link = flow.Links[i];
                places[$"{flowPath}.links[{i}]"] = link.Location;
                var fromPort = Port(flow, link.FromKind, link.From, link.FromPort, output: true, link.FromPortLocation);
                var toPort = Port(flow, link.ToKind, link.To, link.ToPort, output: false, link.ToPortLocation);
                sb.Append("        ").Append(HoconWriter.Quote($"{link.From}/{fromPort} -> {link.To}/{toPort}")).Append('\n');
            }
            sb.Append("      ]\n    }\n");
        }
        sb.Append("  }\n}\n");
        return sb.ToString();
    }

    /// <summary>A connector's port in our names: outputs <c>out</c> and <c>err</c>, the input <c>in</c> (Tremor's stdio also calls it <c>stdout</c>).</summary>
    private static string Port(TroyFlow flow, string kind, string alias, string port, bool output, TroyLocation where)
    {
        if (kind == "pipeline") return port;
        var type = flow.Connectors.First(c => c.Alias == alias).Type;
        if (output)
        {
            if (port is "out" or "err") return port;
            throw where.Error($"connector `{alias}` ({type}) has no output port `{port}`", "its output ports: out, err");
        }
        if (port == "in") return port;
        if (type == "stdio" && port == "stdout") return "in";
        if (type == "stdio" && port == "stderr")
        {
            throw where.Error("a stdio connector here writes to one stream, set by its config", "create another stdio connector with config = {\"output\": \"stderr\"} and connect to its in port");
        }
        throw where.Error($"connector `{alias}` ({type}) has no input port `{port}`", "its input port: in");
    }

    private static ValueRecord Connector(TroyConnector c, string path, Dictionary<string, TroyLocation> places)
    {
        var r = new ValueRecord();
        r.Set("type", c.Type);
        places[path] = c.Location;
        places[$"{path}.type"] = c.Definition;
        foreach (var s in c.Settings)
        {
            places[$"{path}.{s.Key}"] = s.Location;
            switch (s.Key)
            {
                case "codec":
                    r.Set("codec", Processor(s.Value, "codec", s.Location, pre: null));
                    break;
                case "preprocessors":
                case "postprocessors":
                    {
                        var list = s.Value.AsArray() ?? throw s.Location.Error($"`{s.Key}` must be an array such as [\"separate\"], found {TroyKeyMap.Describe(s.Value)}");
                        r.Set(s.Key, Value.From(list.Select(p => Processor(p, s.Key, s.Location, pre: s.Key == "preprocessors")).ToList()));
                        for (var i = 0; i < list.Count; i++) places[$"{path}.{s.Key}[{i}]"] = s.Location;
                        break;
                    }
                case "config":
                    r.Set("config", TroyKeyMap.Config(c.Type, s.Value, s, (ours, where) => places[$"{path}.config.{ours}"] = where));
                    break;
                case "reconnect":
                    if (Reconnect(s) is { } reconnect) r.Set("reconnect", Value.From(reconnect));
                    break;
                case "metrics_interval_s":
                    throw s.Location.Error("`metrics_interval_s` has no equivalent in Tremor.NET", "connector metrics are always current at the management API's /metrics; remove it");
            }
        }
        return r;
    }

    // Tremor's names for processors we have under another name, or as a format of compress / decompress.
    private static readonly Dictionary<string, string> Compression = new(StringComparer.Ordinal)
    {
        ["gzip"] = "gzip",
        ["zlib"] = "zlib",
        ["xz2"] = "xz",
        ["xz"] = "xz",
        ["snappy"] = "snappy",
        ["lz4"] = "lz4",
        ["zstd"] = "zstd",
        ["br"] = "br",
    };

    /// <summary>A codec or processor given as Tremor does (a name, or <c>{"name": ..., "config": {...}}</c>) in our names and keys.</summary>
    private static Value Processor(Value value, string what, TroyLocation where, bool? pre)
    {
        string name;
        ValueRecord? config = null;
        if (value.AsString() is { } text) name = text;
        else if (value.AsRecord() is { } record)
        {
            foreach (var (k, _) in record)
            {
                if (k is not ("name" or "config")) throw where.Error($"a {What(what)} record has no key `{k}`", "write {\"name\": \"json\", \"config\": {...}}");
            }
            name = record.TryGetValue("name", out var n) && n.AsString() is { } s ? s : throw where.Error($"a {What(what)} record needs a string `name`", "write {\"name\": \"json\", \"config\": {...}}");
            if (record.TryGetValue("config", out var cfg) && !cfg.IsNull)
            {
                config = cfg.AsRecord() ?? throw where.Error($"the config of {What(what)} `{name}` must be a record, found {TroyKeyMap.Describe(cfg)}");
            }
        }
        else throw where.Error($"a {What(what)} is a name or {{\"name\": ..., \"config\": {{...}}}}, found {TroyKeyMap.Describe(value)}");

        var ourConfig = new ValueRecord();
        if (pre is null && name == "json-sorted")
        {
            name = "json";
            ourConfig.Set("mode", "sorted");
        }
        else if (pre is not null && name == "lines") name = "separate";
        else if (pre is not null && Compression.TryGetValue(name, out var format))
        {
            name = pre.Value ? "decompress" : "compress";
            ourConfig.Set("format", format);
        }
        if (config is not null)
        {
            foreach (var (k, v) in config)
            {
                // Tremor's processor keys are snake_case, ours kebab-case; compression is `algorithm` there, `format` here.
                var key = k == "algorithm" ? "format" : k.Replace('_', '-');
                ourConfig.Set(key, v);
            }
        }
        if (ourConfig.Count == 0) return name;
        var result = new ValueRecord();
        result.Set("name", name);
        result.Set("config", Value.From(ourConfig));
        return Value.From(result);

        static string What(string what) => what switch
        {
            "codec" => "codec",
            "preprocessors" => "preprocessor",
            _ => "postprocessor",
        };
    }

    /// <summary>Tremor's <c>reconnect = {"retry": {"interval_ms", "growth_rate", "max_retries", "randomized"}}</c> (or <c>"none"</c>) as our <c>reconnect { }</c>.</summary>
    private static ValueRecord? Reconnect(TroySetting s)
    {
        const string Hint = "reconnect = {\"retry\": {\"interval_ms\": 100, \"growth_rate\": 2, \"max_retries\": 3}}";
        if (s.Value.AsString() == "none") return null;
        var record = s.Value.AsRecord() ?? throw s.Location.Error($"`reconnect` must be \"none\" or a record, found {TroyKeyMap.Describe(s.Value)}", Hint);
        if (record.TryGetValue("none", out _) && record.Count == 1) return null;
        if (!record.TryGetValue("retry", out var retryValue) || record.Count != 1)
        {
            throw s.Location.Error($"`reconnect` must be {{\"retry\": {{...}}}} or \"none\", found keys {string.Join(", ", record.Select(p => p.Key))}", Hint);
        }
        var retry = retryValue.AsRecord() ?? throw s.Location.Error("`reconnect.retry` must be a record", Hint);
        var result = new ValueRecord();
        foreach (var (k, v) in retry)
        {
            switch (k)
            {
                case "interval_ms":
                    if (!v.TryGetI64(out var ms) || ms <= 0) throw s.Location.Error($"`reconnect.retry.interval_ms` must be a positive integer of milliseconds, found {TroyKeyMap.Describe(v)}", Hint);
                    result.Set("interval", ms.ToString(CultureInfo.InvariantCulture) + "ms");
                    break;
                case "growth_rate":
                    if (!v.TryGetF64(out _)) throw s.Location.Error($"`reconnect.retry.growth_rate` must be a number, found {TroyKeyMap.Describe(v)}", Hint);
                    result.Set("growth-rate", v);
                    break;
                case "max_retries":
                    if (!v.TryGetI64(out var n) || n < 0) throw s.Location.Error($"`reconnect.retry.max_retries` must be a non-negative integer, found {TroyKeyMap.Describe(v)}", Hint);
                    result.Set("max-retries", n);
                    break;
                case "randomized":
                    if (!v.TryGetBool(out var randomized)) throw s.Location.Error($"`reconnect.retry.randomized` must be true or false, found {TroyKeyMap.Describe(v)}", Hint);
                    // Tremor randomizes each delay; ours takes the fraction of a delay that is random.
                    result.Set("jitter", randomized ? 0.2 : 0.0);
                    break;
                default:
                    throw s.Location.Error($"`reconnect.retry` has no key `{k}`", "its keys: interval_ms, growth_rate, max_retries, randomized");
            }
        }
        return result;
    }
}

/// <summary>
/// A troy deployment as HOCON, with where each HOCON key path (<c>tremor.flows.F.connectors.C.codec</c>,
/// <c>tremor.flows.F.links[0]</c>, ...) was written in troy, so errors found later (a codec, a connector type, a
/// plugin refusing its config) still point at the troy line.
/// </summary>
/// <param name="Hocon">The HOCON text.</param>
/// <param name="Places">HOCON key path → where it was written.</param>
public sealed record TroyConversion(string Hocon, IReadOnlyDictionary<string, TroyLocation> Places)
{
    /// <summary>
    /// <paramref name="e"/> at the troy place of the deepest key it names (its path, or a key path in its message),
    /// with the line and a caret; unchanged when it names no converted key.
    /// </summary>
    public ConfigException Locate(ConfigException e)
    {
        var keys = new List<string> { e.Path };
        var inner = e.Message.IndexOf("tremor.flows.", e.Path.Length, StringComparison.Ordinal);
        if (inner >= 0)
        {
            var end = e.Message.IndexOfAny([':', ' ', '\'', '\n'], inner);
            keys.Add(e.Message[inner..(end < 0 ? e.Message.Length : end)]);
        }
        TroyLocation? best = null;
        var bestLength = -1;
        foreach (var key in keys)
        {
            for (var k = key; k.Length > 0; k = Parent(k))
            {
                if (k.Length > bestLength && Places.TryGetValue(k, out var place))
                {
                    best = place;
                    bestLength = k.Length;
                    break;
                }
            }
        }
        if (best is null) return e;
        var reason = e.Message.StartsWith(e.Path + ": ", StringComparison.Ordinal) ? e.Message[(e.Path.Length + 2)..] : e.Message;
        var located = best.Error($"{reason} (HOCON key {e.Path})");
        return new ConfigException(best.ToString(), located.Message[(best.ToString().Length + 2)..]);
    }

    private static string Parent(string key)
    {
        var cut = Math.Max(key.LastIndexOf('.'), key.LastIndexOf('['));
        return cut <= 0 ? "" : key[..cut];
    }
}
