using System.Reflection;
using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>
/// Finds plugins in the configured folders, checks and loads each, and registers what it provides. A refused
/// plugin is recorded with its reason; the rest keep loading.
/// </summary>
public sealed class PluginDiscovery(PluginCatalog catalog, PluginSettings settings)
{
    private readonly List<IDisposable> _loaded = [];
    private readonly Dictionary<string, IDisposable> _byName = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The catalog being filled.</summary>
    public PluginCatalog Catalog => catalog;

    /// <summary>
    /// The folders searched: the configured ones, then <c>plugins</c> next to the executable, then the folder the build
    /// puts the connector plugins into (recorded at build time).
    /// </summary>
    public static IReadOnlyList<string> SearchDirectories(IEnumerable<string> configured)
    {
        var result = new List<string>();
        foreach (var d in configured) result.Add(Path.GetFullPath(d));
        result.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
        var built = typeof(PluginDiscovery).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TremorPluginDir")?.Value;
        if (!string.IsNullOrEmpty(built)) result.Add(Path.GetFullPath(built));
        return result.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Folders the user named (configuration or <c>--plugins</c>) that did not exist at the last discovery.</summary>
    public IReadOnlyList<string> MissingDirectories { get; private set; } = [];

    /// <summary>Discovers and loads every plugin under the search directories; returns the records.</summary>
    public IReadOnlyList<PluginRecord> DiscoverAll(IEnumerable<string> extraDirectories)
    {
        var named = settings.Directories.Concat(extraDirectories).ToList();
        MissingDirectories = named.Select(Path.GetFullPath).Where(d => !Directory.Exists(d)).Distinct(StringComparer.Ordinal).ToList();
        var dirs = SearchDirectories(named);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in dirs.Where(Directory.Exists))
        {
            foreach (var candidate in Candidates(dir))
            {
                if (!seen.Add(Path.GetFileName(candidate))) continue;
                LoadOne(candidate);
            }
        }
        return catalog.Records;
    }

    /// <summary>Plugin files in one folder: <c>NAME/NAME.dll</c> for managed plugins, any <c>.so</c> below it for native ones.</summary>
    public static IEnumerable<string> Candidates(string dir)
    {
        foreach (var sub in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            var dll = Path.Combine(sub, Path.GetFileName(sub) + ".dll");
            if (File.Exists(dll)) yield return dll;
        }
        foreach (var so in Directory.EnumerateFiles(dir, "*.so", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            yield return so;
        }
    }

    /// <summary>Checks and loads one plugin file; refusals are recorded, never thrown.</summary>
    public PluginRecord LoadOne(string path)
    {
        var fullPath = Path.GetFullPath(path);
        var isNative = fullPath.EndsWith(".so", StringComparison.Ordinal);
        var fileName = Path.GetFileNameWithoutExtension(fullPath);
        try
        {
            var expected = ExpectedHash(fullPath, fileName);
            PluginRecord record;
            if (isNative)
            {
                lock (_gate) record = NativePlugins.Load(fullPath, expected, catalog, _loaded);
            }
            else
            {
                var loaded = ManagedPluginLoader.Load(fullPath, expected);
                var manifest = loaded.Plugin.Manifest;
                IReadOnlyList<string> provides;
                try
                {
                    provides = catalog.Register(manifest.Name, loaded.Plugin);
                }
                catch (InvalidOperationException e)
                {
                    loaded.Dispose();
                    throw new PluginRefusedException($"{fullPath}: {e.Message}");
                }
                lock (_gate) _loaded.Add(loaded);
                record = new PluginRecord(manifest.Name, manifest.Version, KindOf(provides), manifest.PdkVersion, fullPath, PluginStatus.Loaded, null, provides);
            }
            lock (_gate)
            {
                if (record.Status == PluginStatus.Loaded) _byName[record.Name] = _loaded[^1];
            }
            catalog.AddRecord(record);
            return record;
        }
        catch (PluginRefusedException e)
        {
            var refused = new PluginRecord(fileName, "?", isNative ? "native" : "managed", "?", fullPath, PluginStatus.Refused, e.Message, []);
            catalog.AddRecord(refused);
            return refused;
        }
    }

    /// <summary>
    /// Runs every load-time check on <paramref name="path"/> (trust included) and loads it without registering anything,
    /// for a hot swap; throws <see cref="PluginRefusedException"/> naming the file and what was wrong.
    /// </summary>
    public StagedPlugin Stage(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new PluginRefusedException($"{fullPath}: no such file");
        var expected = ExpectedHash(fullPath, Path.GetFileNameWithoutExtension(fullPath));
        if (fullPath.EndsWith(".so", StringComparison.Ordinal)) return NativePlugins.Stage(fullPath, expected);
        var loaded = ManagedPluginLoader.Load(fullPath, expected);
        var plugin = loaded.Plugin;
        var m = plugin.Manifest;
        var provides = plugin.Connectors.Select(c => $"connector:{c.Type}")
            .Concat(plugin.Codecs.Select(c => $"codec:{c.Name}"))
            .Concat(plugin.Preprocessors.Select(p => $"preprocessor:{p.Name}"))
            .Concat(plugin.Postprocessors.Select(p => $"postprocessor:{p.Name}"))
            .ToList();
        var record = new PluginRecord(m.Name, m.Version, KindOf(provides), m.PdkVersion, fullPath, PluginStatus.Loaded, null, provides);
        return new StagedPlugin(record, plugin.Connectors.ToList(), plugin.Codecs.Select(c => c.Name).ToList(), loaded, catalog => catalog.Register(m.Name, plugin), null);
    }

    /// <summary>
    /// The second half of a hot swap: the catalog provides <paramref name="staged"/> instead of the loaded plugin
    /// <paramref name="name"/>, with no moment in between where its connector types are unknown. Returns the old
    /// version's handle: dispose it once the running connectors replaced their instances (a native library is freed
    /// only after its last instance was destroyed in any case).
    /// </summary>
    public IDisposable? Replace(string name, StagedPlugin staged)
    {
        IDisposable? old;
        var handle = staged.Commit();
        lock (_gate)
        {
            _byName.Remove(name, out old);
            if (old is not null) _loaded.Remove(old);
            _loaded.Add(handle);
            _byName[staged.Record.Name] = handle;
        }
        catalog.Replace(name, staged.Record, staged.Register);
        return old;
    }

    private string? ExpectedHash(string path, string fileName)
    {
        if (settings.Trusted.TryGetValue(fileName, out var hash)) return hash;
        if (!settings.RequireTrusted) return null;
        var actual = ManagedPluginLoader.Sha256(path);
        if (settings.Trusted.Values.Contains(actual, StringComparer.Ordinal)) return actual;
        throw new PluginRefusedException($"{path}: not trusted: its SHA-256 {actual} is not listed in tremor.plugins.trusted and require-trusted is on");
    }

    internal static string KindOf(IEnumerable<string> provides)
    {
        var kinds = provides.Select(p => p[..p.IndexOf(':')]).Distinct().ToList();
        return kinds.Count == 0 ? "none" : string.Join("+", kinds);
    }

    /// <summary>
    /// Unloads one plugin: its factories leave the catalog, then its load context is unloaded (managed) or its library
    /// freed once its last instance is destroyed (native). The caller makes sure no flow uses it any more.
    /// </summary>
    public bool Unload(string name)
    {
        IDisposable? handle;
        lock (_gate)
        {
            if (!_byName.Remove(name, out handle)) return false;
            _loaded.Remove(handle);
        }
        catalog.Unregister(name);
        handle.Dispose();
        return true;
    }

    /// <summary>A weak reference to a loaded managed plugin's load context (null for native or unknown ones).</summary>
    internal WeakReference? LoadContextReference(string name)
    {
        lock (_gate) return _byName.TryGetValue(name, out var h) && h is LoadedManagedPlugin m ? m.LoadContext : null;
    }

    /// <summary>Unloads everything loaded (at shutdown, after every instance stopped).</summary>
    public void UnloadAll()
    {
        lock (_gate)
        {
            foreach (var d in _loaded) d.Dispose();
            _loaded.Clear();
            _byName.Clear();
        }
    }
}
