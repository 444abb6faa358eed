using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Tremor.Pdk;

namespace Tremor.Actors.Configuration;

/// <summary>
/// Reads a HOCON file holding Akka's settings and the <c>tremor { }</c> section, falls back to the embedded
/// <c>reference.conf</c>, and validates the deployment model. Every error is a <see cref="ConfigException"/> whose
/// path names the file and key.
/// </summary>
public static class TremorConfig
{
    private static readonly Lazy<string> ReferenceText = new(() =>
    {
        using var stream = typeof(TremorConfig).Assembly.GetManifestResourceStream("Tremor.reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded in Tremor.Actors");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The embedded defaults (<c>hocon/reference.conf</c>).</summary>
    public static Config Reference => ConfigurationFactory.ParseString(ReferenceText.Value);

    /// <summary>
    /// Parses a file; the result falls back to the reference defaults. Includes are relative to the file's folder,
    /// <c>${VAR}</c> / <c>${?VAR}</c> read <paramref name="environment"/> (null: the process environment).
    /// </summary>
    public static Config LoadFile(string path, Func<string, string?>? environment = null)
    {
        if (!File.Exists(path)) throw new ConfigException(path, "no such file");
        var full = Path.GetFullPath(path);
        // A troy deployment is read as the HOCON it converts to (what `tremor convert` prints), so both formats
        // reach the flow model through the same reader.
        var text = Troy.TroyConfig.IsTroyFile(full) ? Troy.TroyConfig.ToHocon(full) : File.ReadAllText(full);
        return Parse(text, new HoconOrigin(full, Path.GetDirectoryName(full), environment));
    }

    /// <summary>
    /// Parses a request body: troy when <paramref name="contentType"/> says <c>application/x-troy</c> or the text
    /// starts as troy does (<c>define</c>, <c>deploy</c>, <c>use</c>), else HOCON. It has no folder: troy can use the
    /// standard modules only, HOCON cannot include files.
    /// </summary>
    public static Config ParseBody(string text, string source, string? contentType = null)
    {
        var troy = contentType is not null && contentType.StartsWith("application/x-troy", StringComparison.OrdinalIgnoreCase);
        return troy || Troy.TroyConfig.LooksLikeTroy(text) ? Parse(Troy.TroyConfig.ToHocon(text, source, null), source) : Parse(text, source);
    }

    /// <summary>Parses text that has no folder (a request body): <paramref name="source"/> names it in errors, and it may not include files.</summary>
    public static Config Parse(string text, string source) => Parse(text, new HoconOrigin(source, null));

    /// <summary>Parses text from <paramref name="origin"/>; the result falls back to the reference defaults.</summary>
    public static Config Parse(string text, HoconOrigin origin) => HoconPrepass.Parse(text, origin).WithFallback(Reference);

    /// <summary>Reads and validates the <c>tremor</c> section.</summary>
    public static TremorSettings ReadSettings(Config config, string source)
    {
        var tremor = ToValue(config.GetValue("tremor"), "tremor").AsRecord()
            ?? throw new ConfigException($"{source}: tremor", "expected a section tremor { ... }");
        var root = new PluginConfig("tremor", tremor);
        root.RejectUnknownKeys("plugins", "data-path", "data-dir", "flows", "api", "cluster", "log", "metrics");

        var plugins = root.GetSection("plugins");
        plugins.RejectUnknownKeys("directories", "trusted", "require-trusted", "watch", "inspect-timeout");
        var trusted = new Dictionary<string, string>(StringComparer.Ordinal);
        var trustedSection = plugins.GetSection("trusted");
        foreach (var (name, hash) in trustedSection.Raw)
        {
            var text = hash.AsString();
            if (text is null || text.Length != 64 || !text.All(Uri.IsHexDigit))
            {
                throw new ConfigException($"{trustedSection.Path}.{name}", $"expected a SHA-256 as 64 hex digits, found '{hash}'");
            }
            trusted[name] = text.ToLowerInvariant();
        }
        var inspectTimeout = plugins.GetDuration("inspect-timeout", TimeSpan.FromSeconds(10));
        if (inspectTimeout <= TimeSpan.Zero) throw new ConfigException($"{plugins.Path}.inspect-timeout", $"expected a positive duration (e.g. 10s), found {inspectTimeout}");
        var pluginSettings = new PluginSettings(plugins.GetStringList("directories"), trusted, plugins.GetBool("require-trusted", false), plugins.GetBool("watch", false), inspectTimeout);

        var dataPath = root.GetSection("data-path");
        dataPath.RejectUnknownKeys("batch-size", "credits", "drain-timeout");
        var dataPathSettings = new DataPathSettings(
            (int)Positive(dataPath, "batch-size", DataPathSettings.Default.BatchSize),
            (int)Positive(dataPath, "credits", DataPathSettings.Default.Credits),
            dataPath.GetDuration("drain-timeout", DataPathSettings.Default.DrainTimeout));

        var flows = new List<FlowSpec>();
        var flowsSection = root.GetSection("flows");
        foreach (var (name, _) in flowsSection.Raw)
        {
            Names.Check("flow", name, flowsSection.Path);
            flows.Add(ReadFlow(name, flowsSection.GetSection(name)));
        }
        CheckLinger(flows, dataPathSettings);
        var api = root.GetSection("api");
        api.RejectUnknownKeys("enabled", "bind", "port", "token", "token-file", "allow-untrusted-load");
        var d = ApiSettings.Default;
        var port = api.GetInt("port", d.Port);
        if (port is < 0 or > 65535) throw new ConfigException($"{api.Path}.port", $"expected a port 0-65535, found {port}");
        var bind = api.GetString("bind", d.Bind);
        if (!System.Net.IPAddress.TryParse(bind, out var bindAddress))
        {
            throw new ConfigException($"{api.Path}.bind", $"expected an IP address such as 127.0.0.1 (loopback only) or 0.0.0.0 (every interface), found {Names.Quote(bind)}");
        }
        var token = api.GetString("token", d.Token);
        // Beyond loopback anyone who can reach the port can guess: a short token is no lock there.
        if (!System.Net.IPAddress.IsLoopback(bindAddress) && token.Length is > 0 and < ApiSettings.MinRemoteTokenLength)
        {
            throw new ConfigException($"{api.Path}.token", $"is {token.Length} characters long while the API listens on {bind}, beyond loopback; use at least {ApiSettings.MinRemoteTokenLength} random characters (e.g. `openssl rand -hex 32`), or leave it empty to have one generated");
        }
        var apiSettings = new ApiSettings(
            api.GetBool("enabled", d.Enabled),
            bind,
            (int)port,
            token,
            api.GetString("token-file", d.TokenFile),
            api.GetBool("allow-untrusted-load", d.AllowUntrustedLoad));
        var cluster = root.GetSection("cluster");
        cluster.RejectUnknownKeys("node-local-connectors");
        var provider = config.HasPath("akka.actor.provider") ? config.GetString("akka.actor.provider") ?? "" : "";
        var clustered = provider == "cluster" || provider.Contains("ClusterActorRefProvider", StringComparison.Ordinal);
        var clusterSettings = new TremorClusterSettings(
            clustered,
            cluster.Has("node-local-connectors") ? cluster.GetStringList("node-local-connectors") : TremorClusterSettings.Default.NodeLocalConnectors);
        var dataDir = root.GetString("data-dir", TremorSettings.DefaultDataDir);
        if (string.IsNullOrWhiteSpace(dataDir)) throw new ConfigException($"{root.Path}.data-dir", "expected a directory path, found an empty string");
        // Read again, from the actor system's config, by Metrics.RuntimeMetrics: checked here, before anything starts.
        var metrics = root.GetSection("metrics");
        metrics.RejectUnknownKeys("enabled");
        return new TremorSettings(pluginSettings, dataPathSettings, flows, apiSettings, clusterSettings, dataDir, ReadLog(root.GetSection("log"), config), metrics.GetBool("enabled", true));
    }

    private static LogSettings ReadLog(PluginConfig log, Config config)
    {
        log.RejectUnknownKeys("level", "format", "categories");
        var format = log.GetString("format", "text") switch
        {
            "text" => LogFormat.Text,
            "json" => LogFormat.Json,
            var other => throw new ConfigException($"{log.Path}.format", $"expected text or json, found {Names.Quote(other)}"),
        };
        var categories = new Dictionary<string, Microsoft.Extensions.Logging.LogLevel>(StringComparer.Ordinal);
        var section = log.GetSection("categories");
        foreach (var (name, _) in section.Raw) categories[name] = LogLevelOf(section.GetString(name), $"{section.Path}.{name}");
        // One level: tremor.log.level, or in a file that does not set it, akka.loglevel (INFO unless the file says otherwise).
        var level = log.Has("level")
            ? LogLevelOf(log.GetString("level"), $"{log.Path}.level")
            : LogLevelOf(config.HasPath("akka.loglevel") ? config.GetString("akka.loglevel") ?? "info" : "info", "akka.loglevel");
        return new LogSettings(level, format, categories);
    }

    /// <summary>A level as Tremor writes it (debug, info, warning, error, off), or as Akka does (DEBUG, INFO, WARNING, ERROR, OFF).</summary>
    private static Microsoft.Extensions.Logging.LogLevel LogLevelOf(string text, string path) =>
        text.ToLowerInvariant() switch
        {
            "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
            "info" => Microsoft.Extensions.Logging.LogLevel.Information,
            "warning" => Microsoft.Extensions.Logging.LogLevel.Warning,
            "error" => Microsoft.Extensions.Logging.LogLevel.Error,
            "off" or "false" => Microsoft.Extensions.Logging.LogLevel.None, // HOCON reads a bare off as false
            _ => throw new ConfigException(path, $"expected debug, info, warning, error or off, found {Names.Quote(text)}"),
        };

    private static long Positive(PluginConfig section, string key, long defaultValue)
    {
        var value = section.GetInt(key, defaultValue);
        if (value <= 0) throw new ConfigException($"{section.Path}.{key}", $"must be at least 1, found {value}");
        return value;
    }

    /// <summary>Validates one flow's shape: names, types, links. Plugin availability is checked at deploy.</summary>
    public static FlowSpec ReadFlow(string name, PluginConfig flow)
    {
        flow.RejectUnknownKeys("connectors", "pipelines", "links", "placement");
        var connectors = new List<ConnectorSpec>();
        var connectorSection = flow.GetSection("connectors");
        foreach (var (connectorName, _) in connectorSection.Raw)
        {
            Names.Check("connector", connectorName, connectorSection.Path);
            connectors.Add(ReadConnector(name, connectorName, connectorSection.GetSection(connectorName)));
        }
        var pipelines = new List<PipelineSpec>();
        var pipelineSection = flow.GetSection("pipelines");
        foreach (var (pipelineName, _) in pipelineSection.Raw)
        {
            Names.Check("pipeline", pipelineName, pipelineSection.Path);
            var p = pipelineSection.GetSection(pipelineName);
            p.RejectUnknownKeys("type", "query", "query-file", "config", "args");
            if (connectors.Any(c => c.Name == pipelineName))
            {
                throw new ConfigException(p.Path, $"the name '{pipelineName}' is used by a connector and a pipeline; names in a flow must be unique");
            }
            pipelines.Add(new PipelineSpec(name, pipelineName, p.GetString("type", p.Has("query") || p.Has("query-file") ? "query" : "passthrough"), p.Path, p));
        }
        if (connectors.Count == 0) throw new ConfigException(connectorSection.Path, $"flow '{name}' has no connectors");

        var links = new List<LinkSpec>();
        if (flow.Raw.TryGetValue("links", out var linksValue))
        {
            var array = linksValue.AsArray() ?? throw new ConfigException($"{flow.Path}.links", "expected a list such as [\"in/out -> main/in\", \"main/out -> console/in\"]");
            for (var i = 0; i < array.Count; i++)
            {
                links.Add(ReadLink(array[i], $"{flow.Path}.links[{i}]", connectors, pipelines));
            }
        }
        if (links.Count == 0) throw new ConfigException($"{flow.Path}.links", $"flow '{name}' links nothing; add links such as \"source/out -> pipeline/in\"");
        return new FlowSpec(name, flow.Path, connectors, pipelines, links, ReadPlacement(flow));
    }

    /// <summary><c>placement = one | all</c> or <c>placement { nodes = one | all, role = ROLE }</c>.</summary>
    private static FlowPlacement ReadPlacement(PluginConfig flow)
    {
        if (!flow.Raw.TryGetValue("placement", out var value) || value.IsNull) return FlowPlacement.One;
        var path = $"{flow.Path}.placement";
        if (value.AsString() is { } text) return new FlowPlacement(Nodes(text, path), null);
        if (value.AsRecord() is null) throw new ConfigException(path, $"expected one, all or {{ nodes = one | all, role = ROLE }}, found '{value}'");
        var section = flow.GetSection("placement");
        section.RejectUnknownKeys("nodes", "role");
        var role = section.Has("role") ? section.GetString("role") : null;
        if (role is { Length: 0 }) throw new ConfigException($"{path}.role", "must name a cluster role (akka.cluster.roles of the nodes)");
        return new FlowPlacement(Nodes(section.GetString("nodes", "one"), $"{path}.nodes"), role);

        static bool Nodes(string text, string path) => text switch
        {
            "one" => false,
            "all" => true,
            _ => throw new ConfigException(path, $"expected one (a single node, the default) or all (every eligible node), found '{text}'"),
        };
    }

    private static ConnectorSpec ReadConnector(string flow, string name, PluginConfig c)
    {
        c.RejectUnknownKeys("type", "codec", "preprocessors", "postprocessors", "config", "reconnect", "restart", "isolation", "call-timeout", "memory-limit", "quarantine-after", "max-region-size", "linger", "linger-batches", "host-cpu");
        // Akka's HOCON parser reads `type = null` and even `type = "null"` as a null value: that can only mean the
        // `null` connector, since a type cannot be left out on purpose.
        var type = c.Raw.TryGetValue("type", out var typeValue) && typeValue.IsNull ? "null" : c.GetString("type");
        ProcessorSpec? codec = null;
        if (c.Raw.TryGetValue("codec", out var codecValue))
        {
            codec = ReadProcessor(codecValue, $"{c.Path}.codec");
        }
        var reconnect = c.GetSection("reconnect");
        reconnect.RejectUnknownKeys("enabled", "interval", "growth-rate", "max-interval", "max-retries", "jitter");
        var reconnectSettings = reconnect.Raw.Count == 0
            ? ReconnectSettings.None
            : new ReconnectSettings(
                reconnect.GetBool("enabled", true),
                reconnect.GetDuration("interval", TimeSpan.FromSeconds(1)),
                reconnect.GetDouble("growth-rate", 2),
                reconnect.GetDuration("max-interval", TimeSpan.FromMinutes(1)),
                reconnect.Has("max-retries") ? (int)reconnect.GetInt("max-retries") : null,
                Fraction(reconnect, "jitter", 0.2));
        var restart = c.GetSection("restart");
        restart.RejectUnknownKeys("min-backoff", "max-backoff", "max-restarts", "within", "jitter");
        var d = RestartSettings.Default;
        var restartSettings = new RestartSettings(
            restart.GetDuration("min-backoff", d.MinBackoff),
            restart.GetDuration("max-backoff", d.MaxBackoff),
            (int)restart.GetInt("max-restarts", d.MaxRestarts),
            restart.GetDuration("within", d.Window),
            Fraction(restart, "jitter", d.Jitter));
        var isolation = c.GetString("isolation", IsolationSettings.Default.Mode);
        if (isolation is not ("in-process" or "process"))
        {
            throw new ConfigException($"{c.Path}.isolation", $"expected in-process or process, found '{isolation}'");
        }
        var callTimeout = c.GetDuration("call-timeout", IsolationSettings.Default.CallTimeout);
        if (callTimeout <= TimeSpan.Zero) throw new ConfigException($"{c.Path}.call-timeout", "must be longer than 0");
        long? memoryLimit = c.Has("memory-limit") ? ByteSize(c, "memory-limit") : null;
        var maxRegion = c.Has("max-region-size") ? ByteSize(c, "max-region-size") : IsolationSettings.Default.MaxRegionBytes;
        var quarantineAfter = (int)c.GetInt("quarantine-after", IsolationSettings.Default.QuarantineAfter);
        if (quarantineAfter < 1) throw new ConfigException($"{c.Path}.quarantine-after", $"must be at least 1, found {quarantineAfter}");
        var linger = c.GetDuration("linger", IsolationSettings.Default.Linger);
        if (linger < TimeSpan.Zero)
        {
            throw new ConfigException($"{c.Path}.linger", $"must be 0 (never hold a call) or longer, found {linger.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms");
        }
        var lingerBatches = (int)c.GetInt("linger-batches", IsolationSettings.Default.LingerBatches);
        if (lingerBatches is < 1 or > IsolationSettings.MaxBatchesPerCall)
        {
            throw new ConfigException($"{c.Path}.linger-batches", $"must be between 1 and {IsolationSettings.MaxBatchesPerCall} (the most batches one call into the plugin host carries), found {lingerBatches}; set linger = 0 to never hold a call");
        }
        var hostCpu = c.GetString("host-cpu", IsolationSettings.Default.HostCpu);
        if (hostCpu is not ("follow" or "any"))
        {
            throw new ConfigException($"{c.Path}.host-cpu", $"expected follow or any, found '{hostCpu}'");
        }
        return new ConnectorSpec(
            flow,
            name,
            type,
            c.Path,
            codec,
            ReadProcessors(c, "preprocessors"),
            ReadProcessors(c, "postprocessors"),
            c.GetSection("config"),
            reconnectSettings,
            restartSettings,
            new IsolationSettings(isolation, callTimeout, memoryLimit, quarantineAfter, maxRegion) { Linger = linger, LingerBatches = lingerBatches, HostCpu = hostCpu });
    }

    /// <summary>
    /// A call that lingers for more batches than the sink's upstreams may have on their way (<c>credits</c>) never
    /// gets them: every call would wait until the budget is spent. Checked where the data path is known.
    /// </summary>
    private static void CheckLinger(IEnumerable<FlowSpec> flows, DataPathSettings dataPath)
    {
        foreach (var c in flows.SelectMany(f => f.Connectors))
        {
            if (c.Isolation.Mode != "process" || c.Isolation.Linger <= TimeSpan.Zero || c.Isolation.LingerBatches <= dataPath.Credits) continue;
            throw new ConfigException($"{c.Path}.linger-batches", $"is {c.Isolation.LingerBatches}, more batches than the sink's upstreams may send before it answers (tremor.data-path.credits = {dataPath.Credits}); lower it to at most {dataPath.Credits}, or raise credits");
        }
    }

    /// <summary>A size such as <c>512MiB</c>, <c>64M</c>, <c>1GiB</c>, <c>4096</c> (bytes).</summary>
    private static long ByteSize(PluginConfig section, string key)
    {
        var text = section.GetString(key).Trim();
        var split = 0;
        while (split < text.Length && char.IsDigit(text[split])) split++;
        if (split == 0 || !long.TryParse(text.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw new ConfigException($"{section.Path}.{key}", $"expected a size such as 512MiB, found '{text}'");
        }
        long? factor = text[split..].Trim().ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" or "kb" or "kib" => 1L << 10,
            "m" or "mb" or "mib" => 1L << 20,
            "g" or "gb" or "gib" => 1L << 30,
            _ => null,
        };
        if (factor is null || n <= 0) throw new ConfigException($"{section.Path}.{key}", $"expected a size such as 512MiB, found '{text}'");
        return n * factor.Value;
    }

    private static double Fraction(PluginConfig section, string key, double defaultValue)
    {
        var v = section.GetDouble(key, defaultValue);
        if (v is < 0 or > 1) throw new ConfigException($"{section.Path}.{key}", $"must be between 0 and 1, found {v.ToString(CultureInfo.InvariantCulture)}");
        return v;
    }

    private static List<ProcessorSpec> ReadProcessors(PluginConfig c, string key)
    {
        var result = new List<ProcessorSpec>();
        if (!c.Raw.TryGetValue(key, out var value) || value.IsNull) return result;
        var array = value.AsArray() ?? throw new ConfigException($"{c.Path}.{key}", $"expected a list such as [\"separate\"], found '{value}'");
        for (var i = 0; i < array.Count; i++)
        {
            result.Add(ReadProcessor(array[i], $"{c.Path}.{key}[{i}]"));
        }
        return result;
    }

    private static ProcessorSpec ReadProcessor(Value value, string path)
    {
        if (value.AsString() is { } name) return new ProcessorSpec(name, new PluginConfig($"{path}.config", null));
        if (value.AsRecord() is { } record)
        {
            var section = new PluginConfig(path, record);
            section.RejectUnknownKeys("name", "config");
            return new ProcessorSpec(section.GetString("name"), section.GetSection("config"));
        }
        throw new ConfigException(path, $"expected a name or {{ name = ..., config {{ ... }} }}, found '{value}'");
    }

    private static LinkSpec ReadLink(Value value, string path, List<ConnectorSpec> connectors, List<PipelineSpec> pipelines)
    {
        var text = value.AsString() ?? throw new ConfigException(path, $"expected a link such as \"source/out -> main/in\", found '{value}'");
        var parts = text.Split("->", StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new ConfigException(path, $"'{text}' is not a link; write \"from[/port] -> to[/port]\"");
        }
        var (from, fromPort) = SplitEnd(parts[0], "out");
        var (to, toPort) = SplitEnd(parts[1], "in");
        var known = connectors.Select(c => c.Name).Concat(pipelines.Select(p => p.Name)).ToList();
        foreach (var end in new[] { from, to })
        {
            if (!known.Contains(end))
            {
                throw new ConfigException(path, $"'{text}' links to '{end}', which is no connector or pipeline of this flow (known: {string.Join(", ", known)})");
            }
        }
        CheckPort(path, text, from, fromPort, output: true, connectors, pipelines);
        CheckPort(path, text, to, toPort, output: false, connectors, pipelines);
        return new LinkSpec(from, fromPort, to, toPort, path);
    }

    private static void CheckPort(string path, string text, string node, string port, bool output, List<ConnectorSpec> connectors, List<PipelineSpec> pipelines)
    {
        if (connectors.Any(c => c.Name == node))
        {
            string[] ports = output ? ["out", "err"] : ["in"];
            if (!ports.Contains(port))
            {
                throw new ConfigException(path, $"'{text}': connector '{node}' has no {(output ? "output" : "input")} port '{port}' (it has: {string.Join(", ", ports)})");
            }
            return;
        }
        var pipeline = pipelines.First(p => p.Name == node);
        if (pipeline.Type == "passthrough")
        {
            string[] ports = output ? ["out", "err"] : ["in"];
            if (!ports.Contains(port))
            {
                throw new ConfigException(path, $"'{text}': pipeline '{node}' has no {(output ? "output" : "input")} port '{port}' (it has: {string.Join(", ", ports)})");
            }
        }
    }

    private static (string Name, string Port) SplitEnd(string end, string defaultPort)
    {
        var slash = end.IndexOf('/');
        return slash < 0 ? (end, defaultPort) : (end[..slash].Trim(), end[(slash + 1)..].Trim());
    }

    /// <summary>Converts a HOCON value to a <see cref="Value"/> tree (scalars: integers, floats, bools, else strings).</summary>
    public static Value ToValue(HoconValue? hocon, string path)
    {
        if (hocon is null) return default;
        if (hocon.IsObject())
        {
            var record = new ValueRecord();
            foreach (var (key, child) in hocon.GetObject().Items)
            {
                record.Set(key, ToValue(child, $"{path}.{key}"));
            }
            return Value.From(record);
        }
        if (hocon.IsArray())
        {
            var list = new List<Value>();
            var i = 0;
            foreach (var item in hocon.GetArray())
            {
                list.Add(ToValue(item, $"{path}[{i++}]"));
            }
            return Value.From(list);
        }
        var text = hocon.GetString();
        if (string.IsNullOrEmpty(text))
        {
            // Akka's parser trims a value's text, so a quoted string of whitespace ("\n" as a separator) would read
            // as absent: take the quoted literal, the first (unquoted whitespace after it is a literal of its own).
            var literals = hocon.Values.OfType<Akka.Configuration.Hocon.HoconLiteral>().Select(l => l.Value).ToList();
            if (literals.Count > 0 && literals[0].Length > 0 && literals.All(string.IsNullOrWhiteSpace)) return literals[0];
            if (hocon.IsEmpty) return default;
        }
        if (text is null) return default;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        // Integers stay exact: up to u64 as integers, beyond as their digits (a double would round them).
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u)) return Value.From(u);
        if (text.Length > 0 && text.AsSpan(text[0] == '-' ? 1 : 0).ContainsAnyExcept("0123456789") is false && text != "-") return text;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && text.Any(char.IsDigit)) return d;
        if (text is "true") return true;
        if (text is "false") return false;
        return text;
    }
}
