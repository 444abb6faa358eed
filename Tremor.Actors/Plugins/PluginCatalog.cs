using System.Collections.Concurrent;
using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>Whether a discovered plugin can be used.</summary>
public enum PluginStatus
{
    /// <summary>Checked and loaded; its factories are registered.</summary>
    Loaded,
    /// <summary>Refused by a check; <see cref="PluginRecord.Reason"/> says why.</summary>
    Refused,
    /// <summary>
    /// Passed its checks, but a plugin of the same name was found first (an earlier folder, or a newer file in the same
    /// folder); <see cref="PluginRecord.Other"/> is the file that won. Not loaded.
    /// </summary>
    Shadowed,
}

/// <summary>
/// What the runtime knows of one discovered plugin. Plain text only, so nothing long-lived holds a plugin's types
/// and its load context can be unloaded.
/// </summary>
public sealed record PluginRecord(
    string Name,
    string Version,
    string Kind,
    string PdkVersion,
    string Path,
    PluginStatus Status,
    string? Reason,
    IReadOnlyList<string> Provides)
{
    /// <summary>
    /// The other file involved: for <see cref="PluginStatus.Shadowed"/> the one that won; for a refusal because the
    /// name or a connector type is already taken, the file that has it (the management API answers 409 then).
    /// </summary>
    public string? Other { get; init; }
}

/// <summary>
/// The factories of every loaded plugin by name, plus the built-in codecs and processors. Read by the actors that
/// create instances; written by the plugin manager.
/// </summary>
public sealed class PluginCatalog
{
    private readonly ConcurrentDictionary<string, (IConnectorFactory Factory, string Plugin)> _connectors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ICodecFactory> _codecs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IPreprocessorFactory> _preprocessors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IPostprocessorFactory> _postprocessors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PluginRecord> _records = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<IsolationSettings, IConnectorFactory>> _isolated = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _pluginCodecs = new(StringComparer.Ordinal);
    // What keeps a managed plugin's load context alive while its factories are registered: a collectible load context
    // nobody references is finalized and starts unloading, and a dependency its code loads later (on first use) then
    // fails to load ("an operation is not legal in the current state").
    private readonly ConcurrentDictionary<string, object> _loaded = new(StringComparer.Ordinal);

    /// <summary>A catalog holding the built-in codecs and processors.</summary>
    public PluginCatalog()
    {
        foreach (var c in Codecs.BuiltinCodecs.Codecs) _codecs[c.Name] = c;
        foreach (var p in Codecs.BuiltinCodecs.Preprocessors) _preprocessors[p.Name] = p;
        foreach (var p in Codecs.BuiltinCodecs.Postprocessors) _postprocessors[p.Name] = p;
    }

    /// <summary>Every plugin discovered so far, by path order.</summary>
    public IReadOnlyList<PluginRecord> Records => _records.Values.OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Path, StringComparer.Ordinal).ToList();

    /// <summary>Connector types available.</summary>
    public IReadOnlyCollection<string> ConnectorTypes => _connectors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

    /// <summary>
    /// What this node can run: <c>connector:TYPE</c>, <c>codec:NAME</c>, <c>preprocessor:NAME</c>,
    /// <c>postprocessor:NAME</c>, sorted. A cluster node advertises it so flows are placed where their plugins are.
    /// </summary>
    public IReadOnlyList<string> Inventory =>
        _connectors.Keys.Select(k => $"connector:{k}")
            .Concat(_codecs.Keys.Select(k => $"codec:{k}"))
            .Concat(_preprocessors.Keys.Select(k => $"preprocessor:{k}"))
            .Concat(_postprocessors.Keys.Select(k => $"postprocessor:{k}"))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Remembers a plugin's record (loaded or refused).</summary>
    public void AddRecord(PluginRecord record) => _records[record.Path] = record;

    /// <summary>The plugin that provides a connector type, or null.</summary>
    public string? PluginOf(string connectorType) => _connectors.TryGetValue(connectorType, out var f) ? f.Plugin : null;

    /// <summary>Holds <paramref name="handle"/> (a managed plugin's load context) for as long as <paramref name="pluginName"/> is registered.</summary>
    internal void KeepLoaded(string pluginName, object handle) => _loaded[pluginName] = handle;

    /// <summary>Forgets everything <paramref name="pluginName"/> provides, and its record.</summary>
    public void Unregister(string pluginName)
    {
        _loaded.TryRemove(pluginName, out _);
        foreach (var (type, entry) in _connectors)
        {
            if (entry.Plugin == pluginName)
            {
                _connectors.TryRemove(type, out _);
                _isolated.TryRemove(type, out _);
            }
        }
        foreach (var name in _pluginCodecs.Where(kv => kv.Value == pluginName).Select(kv => kv.Key).ToList())
        {
            _pluginCodecs.TryRemove(name, out _);
            var colon = name.IndexOf(':');
            var key = name[(colon + 1)..];
            switch (name[..colon])
            {
                case "codec": _codecs.TryRemove(key, out _); break;
                case "preprocessor": _preprocessors.TryRemove(key, out _); break;
                case "postprocessor": _postprocessors.TryRemove(key, out _); break;
            }
        }
        foreach (var (path, record) in _records)
        {
            if (record.Name == pluginName && record.Status == PluginStatus.Loaded) _records.TryRemove(path, out _);
        }
    }

    /// <summary>
    /// A hot swap: <paramref name="register"/> registers the new version under the same name over the old entries, then
    /// whatever only the old version provided is forgotten and <paramref name="record"/> replaces its record; readers see
    /// the old or the new factory, never none.
    /// </summary>
    public void Replace(string pluginName, PluginRecord record, Action<PluginCatalog> register)
    {
        var oldIsolated = _isolated.Where(kv => _connectors.TryGetValue(kv.Key, out var e) && e.Plugin == pluginName).ToList();
        // The old version's load context is no longer held here (the caller keeps the new one's, see KeepLoaded).
        _loaded.TryRemove(pluginName, out _);
        register(this);
        foreach (var (type, entry) in _connectors)
        {
            if (entry.Plugin == pluginName && !record.Provides.Contains($"connector:{type}", StringComparer.Ordinal)) _connectors.TryRemove(type, out _);
        }
        foreach (var (type, factory) in oldIsolated)
        {
            // Not registered again (the new version is managed, or gone): no isolated factory of the old library.
            if (_isolated.TryGetValue(type, out var now) && ReferenceEquals(now, factory)) _isolated.TryRemove(type, out _);
        }
        foreach (var key in _pluginCodecs.Where(kv => kv.Value == pluginName && !record.Provides.Contains(kv.Key, StringComparer.Ordinal)).Select(kv => kv.Key).ToList())
        {
            _pluginCodecs.TryRemove(key, out _);
            var colon = key.IndexOf(':');
            var name = key[(colon + 1)..];
            switch (key[..colon])
            {
                case "codec": _codecs.TryRemove(name, out _); break;
                case "preprocessor": _preprocessors.TryRemove(name, out _); break;
                case "postprocessor": _postprocessors.TryRemove(name, out _); break;
            }
        }
        foreach (var (path, old) in _records)
        {
            if (old.Name == pluginName && old.Status == PluginStatus.Loaded) _records.TryRemove(path, out _);
        }
        AddRecord(record);
    }

    /// <summary>
    /// Registers what a loaded plugin provides. Nothing is registered when a connector type is already provided by
    /// another plugin, or a connector's default codec is unknown (<see cref="InvalidOperationException"/> saying which).
    /// </summary>
    public IReadOnlyList<string> Register(string pluginName, ITremorPlugin plugin)
    {
        foreach (var f in plugin.Connectors)
        {
            CheckConnector(pluginName, f.Type, f.DefaultCodec, plugin.Codecs.Select(c => c.Name));
        }
        var provides = new List<string>();
        foreach (var f in plugin.Connectors)
        {
            _connectors[f.Type] = (f, pluginName);
            provides.Add($"connector:{f.Type}");
        }
        foreach (var f in plugin.Codecs)
        {
            _codecs[f.Name] = f;
            provides.Add($"codec:{f.Name}");
        }
        foreach (var f in plugin.Preprocessors)
        {
            _preprocessors[f.Name] = f;
            provides.Add($"preprocessor:{f.Name}");
        }
        foreach (var f in plugin.Postprocessors)
        {
            _postprocessors[f.Name] = f;
            provides.Add($"postprocessor:{f.Name}");
        }
        foreach (var p in provides.Where(p => !p.StartsWith("connector:", StringComparison.Ordinal))) _pluginCodecs[p] = pluginName;
        return provides;
    }

    /// <summary>
    /// Registers a single connector factory (native plugins provide one); <paramref name="isolated"/> makes factories
    /// whose instances run in a plugin host process (<c>isolation = process</c>).
    /// </summary>
    public void RegisterConnector(string pluginName, IConnectorFactory factory, Func<IsolationSettings, IConnectorFactory>? isolated = null)
    {
        // Checked before anything is written: a refused provider must not leave its isolated factory behind.
        CheckConnector(pluginName, factory.Type, factory.DefaultCodec, []);
        _connectors[factory.Type] = (factory, pluginName);
        if (isolated is not null) _isolated[factory.Type] = isolated;
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> when <paramref name="type"/> is provided by a plugin other than
    /// <paramref name="pluginName"/>, or <paramref name="defaultCodec"/> is neither known nor among <paramref name="ownCodecs"/>.
    /// </summary>
    public void CheckConnector(string pluginName, string type, string? defaultCodec, IEnumerable<string> ownCodecs)
    {
        if (_connectors.TryGetValue(type, out var existing) && existing.Plugin != pluginName)
        {
            var where = LoadedPath(existing.Plugin) is { } path ? $" ({path})" : "";
            throw new InvalidOperationException($"connector type '{type}' is already provided by plugin '{existing.Plugin}'{where}; one connector type has one provider: remove one of the two files, or unload '{existing.Plugin}' first");
        }
        if (defaultCodec is not null && !_codecs.ContainsKey(defaultCodec) && !ownCodecs.Contains(defaultCodec, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"connector type '{type}' names the default codec {Tremor.Native.PluginNames.Quote(defaultCodec)}, which no loaded plugin provides; known codecs: {string.Join(", ", _codecs.Keys.Order(StringComparer.Ordinal))}");
        }
    }

    /// <summary>True when a codec of that name is available.</summary>
    public bool HasCodec(string name) => _codecs.ContainsKey(name);

    /// <summary>The file of the loaded plugin named <paramref name="pluginName"/>, or null.</summary>
    public string? LoadedPath(string pluginName) =>
        _records.Values.FirstOrDefault(r => r.Name == pluginName && r.Status == PluginStatus.Loaded)?.Path;

    /// <summary>The factory of a connector type, or a <see cref="ConfigException"/> listing what is available.</summary>
    public IConnectorFactory Connector(string type, string path) =>
        _connectors.TryGetValue(type, out var f)
            ? f.Factory
            : throw new ConfigException(path, $"unknown connector type '{type}'; loaded plugins provide: {string.Join(", ", ConnectorTypes)}{Nearest(type, _connectors.Keys)}");

    /// <summary>The factory for a connector type run as <paramref name="isolation"/> asks.</summary>
    public IConnectorFactory Connector(string type, string path, IsolationSettings isolation)
    {
        var factory = Connector(type, path);
        if (isolation.Mode != "process") return factory;
        var parent = path.EndsWith(".type", StringComparison.Ordinal) ? path[..^".type".Length] : path;
        return _isolated.TryGetValue(type, out var isolated)
            ? isolated(isolation)
            : throw new ConfigException($"{parent}.isolation", $"connector type '{type}' is a managed plugin; isolation = process is for native plugins (use in-process)");
    }

    /// <summary>The factory of a codec.</summary>
    public ICodecFactory Codec(string name, string path) =>
        _codecs.TryGetValue(name, out var f)
            ? f
            : throw new ConfigException(path, $"unknown codec '{name}'; available: {string.Join(", ", _codecs.Keys.Order(StringComparer.Ordinal))}{Nearest(name, _codecs.Keys)}");

    /// <summary>The factory of a preprocessor.</summary>
    public IPreprocessorFactory Preprocessor(string name, string path) =>
        _preprocessors.TryGetValue(name, out var f)
            ? f
            : throw new ConfigException(path, $"unknown preprocessor '{name}'; available: {string.Join(", ", _preprocessors.Keys.Order(StringComparer.Ordinal))}{Nearest(name, _preprocessors.Keys)}");

    /// <summary>The factory of a postprocessor.</summary>
    public IPostprocessorFactory Postprocessor(string name, string path) =>
        _postprocessors.TryGetValue(name, out var f)
            ? f
            : throw new ConfigException(path, $"unknown postprocessor '{name}'; available: {string.Join(", ", _postprocessors.Keys.Order(StringComparer.Ordinal))}{Nearest(name, _postprocessors.Keys)}");

    private static string Nearest(string name, IEnumerable<string> candidates)
    {
        var best = candidates.Select(c => (c, d: Distance(name, c))).OrderBy(x => x.d).FirstOrDefault();
        return best.c is not null && best.d <= Math.Max(2, name.Length / 3) ? $" (did you mean '{best.c}'?)" : "";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }
        return d[a.Length, b.Length];
    }
}
