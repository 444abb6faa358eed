using System.Collections.Concurrent;
using System.Reflection;
using Tremor.Actors.Configuration;
using Tremor.Native;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>
/// Finds plugins in the configured folders, checks and loads each, and registers what it provides. A refused
/// plugin is recorded with its reason; the rest keep loading. Native plugins are checked without running any of their
/// code here (a child process reads their descriptors); they are loaded into the runtime only for an in-process instance.
/// </summary>
/// <remarks>
/// Precedence, shown by <c>tremor plugins list</c>: the runtime's own plugin folders first, then the configured ones in
/// their order; within one folder the most recently modified file of a name first. The first file of a plugin name
/// that passes the checks is loaded, the later ones are listed as shadowed by it; a connector type belongs to the first
/// plugin that provides it, and a later plugin providing it is refused naming both files.
/// </remarks>
public sealed class PluginDiscovery(PluginCatalog catalog, PluginSettings settings)
{
    private readonly Dictionary<string, (string Path, IDisposable Handle)> _byName = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The catalog being filled.</summary>
    public PluginCatalog Catalog => catalog;

    /// <summary>The rule that decides between files of one plugin name, as said by <c>tremor plugins list</c>.</summary>
    public const string PrecedenceRule =
        "the first file of a plugin name wins: folders in the order above, and in one folder the most recently modified file; " +
        "later files of that name are shadowed, a second provider of a connector type is refused";

    /// <summary>
    /// The folders searched, in precedence order: <c>plugins</c> next to the executable and the folder the build puts
    /// the connector plugins into (recorded at build time) first, so a file dropped into a plugin folder cannot
    /// silently take over a plugin the runtime ships (replace one explicitly: <c>PUT /v1/plugins/NAME</c>); then the
    /// configured ones in their order.
    /// </summary>
    public static IReadOnlyList<string> SearchDirectories(IEnumerable<string> configured)
    {
        var result = new List<string> { Path.Combine(AppContext.BaseDirectory, "plugins") };
        var built = typeof(PluginDiscovery).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TremorPluginDir")?.Value;
        if (!string.IsNullOrEmpty(built)) result.Add(Path.GetFullPath(built));
        foreach (var d in configured) result.Add(Path.GetFullPath(d));
        return result.Select(d => Path.TrimEndingDirectorySeparator(d)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Folders the user named (configuration or <c>--plugins</c>) that did not exist at the last discovery.</summary>
    public IReadOnlyList<string> MissingDirectories { get; private set; } = [];

    /// <summary>Discovers and loads every plugin under the search directories; returns the records.</summary>
    public IReadOnlyList<PluginRecord> DiscoverAll(IEnumerable<string> extraDirectories)
    {
        var named = settings.Directories.Concat(extraDirectories).ToList();
        MissingDirectories = named.Select(Path.GetFullPath).Where(d => !Directory.Exists(d)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var dir in SearchDirectories(named).Where(Directory.Exists))
        {
            var candidates = Candidates(dir).ToList();
            // Each native inspection is a child process that may run into inspect-timeout: run a few side by side,
            // while this thread loads the managed plugins (they come first in precedence order, so the order of
            // loading is unchanged), then decide the native ones in precedence order.
            var natives = candidates.Where(IsNative).ToList();
            var inspected = new ConcurrentDictionary<string, Func<NativePlugin>>(StringComparer.Ordinal);
            var inspecting = natives.Count == 0
                ? Task.CompletedTask
                : Task.Run(() => Parallel.ForEach(
                    natives,
                    new ParallelOptions { MaxDegreeOfParallelism = 4 },
                    so => inspected[so] = CheckNative(Path.GetFullPath(so))));
            try
            {
                foreach (var candidate in candidates.Where(c => !IsNative(c))) Load(candidate, discovering: true);
            }
            finally
            {
                // Never leave inspections running behind an exception (WaitAny does not throw a faulted task's).
                Task.WaitAny(inspecting);
            }
            inspecting.GetAwaiter().GetResult();
            foreach (var candidate in natives) Load(candidate, discovering: true, inspected.GetValueOrDefault(candidate));
        }
        return catalog.Records;
    }

    private static bool IsNative(string path) => path.EndsWith(".so", StringComparison.Ordinal);

    // The outcome of checking a native file, replayed when its turn comes: the plugin, or the refusal thrown again.
    private Func<NativePlugin> CheckNative(string path)
    {
        try
        {
            var plugin = NativePlugins.Check(path, ExpectedHash(path, Path.GetFileNameWithoutExtension(path)), settings.InspectTimeoutOrDefault);
            return () => plugin;
        }
        catch (PluginRefusedException e)
        {
            return () => throw new PluginRefusedException(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return () => throw new PluginRefusedException($"{path}: cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// Plugin files in one folder, in precedence order: <c>NAME/NAME.dll</c> for managed plugins, then every <c>.so</c>
    /// below it for native ones (most recently modified first), except those inside a managed plugin's folder, which
    /// are that plugin's own native libraries.
    /// </summary>
    public static IEnumerable<string> Candidates(string dir)
    {
        var managedFolders = new List<string>();
        foreach (var sub in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            var dll = Path.Combine(sub, Path.GetFileName(sub) + ".dll");
            if (!File.Exists(dll)) continue;
            managedFolders.Add(sub + Path.DirectorySeparatorChar);
            yield return dll;
        }
        var natives = Directory.EnumerateFiles(dir, "*.so", SearchOption.AllDirectories)
            .Where(so => !managedFolders.Any(m => so.StartsWith(m, StringComparison.Ordinal)))
            .Select(so => (Path: so, Modified: File.GetLastWriteTimeUtc(so)))
            .OrderByDescending(so => so.Modified)
            .ThenBy(so => so.Path, StringComparer.Ordinal);
        foreach (var (so, _) in natives) yield return so;
    }

    /// <summary>
    /// Checks and loads one plugin file (the API, <c>watch</c>, <c>plugins verify</c>); refusals are recorded, never
    /// thrown. A plugin whose name is already loaded is refused naming the loaded file (<see cref="PluginRecord.Other"/>).
    /// </summary>
    public PluginRecord LoadOne(string path) => Load(path, discovering: false);

    private PluginRecord Load(string path, bool discovering, Func<NativePlugin>? inspected = null)
    {
        var fullPath = Path.GetFullPath(path);
        var isNative = IsNative(fullPath);
        var fileName = Path.GetFileNameWithoutExtension(fullPath);
        try
        {
            var record = isNative
                ? LoadNative(fullPath, (inspected ?? CheckNative(fullPath))(), discovering)
                : LoadManaged(fullPath, ExpectedHash(fullPath, fileName), discovering);
            Remember(record);
            return record;
        }
        catch (PluginConflictException e)
        {
            var refused = new PluginRecord(PluginNames.Printable(fileName), "?", isNative ? "native" : "managed", "?", fullPath, PluginStatus.Refused, e.Message, []) { Other = e.Other };
            Remember(refused);
            return refused;
        }
        catch (PluginRefusedException e)
        {
            var refused = new PluginRecord(PluginNames.Printable(fileName), "?", isNative ? "native" : "managed", "?", fullPath, PluginStatus.Refused, e.Message, []);
            Remember(refused);
            return refused;
        }
    }

    // Records are kept by path: a refused second load of a loaded file is answered, but must not hide the loaded one.
    private void Remember(PluginRecord record)
    {
        lock (_gate)
        {
            if (record.Status != PluginStatus.Loaded && _byName.Values.Any(l => l.Path == record.Path)) return;
            catalog.AddRecord(record);
        }
    }

    private PluginRecord LoadNative(string path, NativePlugin plugin, bool discovering)
    {
        lock (_gate)
        {
            var name = plugin.Manifest.Name;
            if (_byName.TryGetValue(name, out var winner))
            {
                plugin.Dispose();
                var kinds = plugin.ConnectorFactory.Kinds.ToString().ToLowerInvariant().Replace(", ", "+");
                return SameName(path, name, plugin.Manifest.Version, $"native connector ({kinds})", plugin.Manifest.PdkVersion, winner.Path, discovering);
            }
            PluginRecord record;
            try
            {
                record = NativePlugins.Register(path, plugin, catalog);
            }
            catch (PluginRefusedException e)
            {
                plugin.Dispose();
                var other = ProviderFile(name, [plugin.ConnectorFactory.Type]);
                if (other is null) throw;
                throw new PluginConflictException(e.Message, other);
            }
            _byName[name] = (path, plugin);
            return record;
        }
    }

    private PluginRecord LoadManaged(string path, string? expected, bool discovering)
    {
        var fileName = Path.GetFileName(path);
        lock (_gate)
        {
            // A managed plugin's name is known only once it is loaded; one with the same file name as a loaded one is
            // its other copy and is not loaded at all.
            if (discovering && _byName.Values.FirstOrDefault(l => Path.GetFileName(l.Path) == fileName) is { Path: { } earlier })
            {
                return new PluginRecord(Path.GetFileNameWithoutExtension(path), "?", "managed", "?", path, PluginStatus.Shadowed, $"{path}: shadowed by {earlier}", []) { Other = earlier };
            }
        }
        var loaded = ManagedPluginLoader.Load(path, expected);
        var manifest = loaded.Plugin.Manifest;
        lock (_gate)
        {
            if (_byName.TryGetValue(manifest.Name, out var winner))
            {
                loaded.Dispose();
                return SameName(path, manifest.Name, manifest.Version, "managed", manifest.PdkVersion, winner.Path, discovering);
            }
            IReadOnlyList<string> provides;
            try
            {
                provides = catalog.Register(manifest.Name, loaded.Plugin);
            }
            catch (InvalidOperationException e)
            {
                var other = ProviderFile(manifest.Name, loaded.Plugin.Connectors.Select(c => c.Type).ToList());
                loaded.Dispose();
                if (other is null) throw new PluginRefusedException($"{path}: {e.Message}");
                throw new PluginConflictException($"{path}: {e.Message}", other);
            }
            _byName[manifest.Name] = (path, loaded);
            // The catalog outlives this discovery where the discovery is a local (a test, `tremor plugins`, a run
            // without the API): it holds the load context for as long as the factories it hands out are registered.
            catalog.KeepLoaded(manifest.Name, loaded);
            return new PluginRecord(manifest.Name, manifest.Version, KindOf(provides), manifest.PdkVersion, path, PluginStatus.Loaded, null, provides);
        }
    }

    // While discovering, a second file of a name is shadowed (listed, not loaded); loaded explicitly, it is refused.
    private static PluginRecord SameName(string path, string name, string version, string kind, string pdk, string winner, bool discovering)
    {
        if (discovering)
        {
            return new PluginRecord(name, version, kind, pdk, path, PluginStatus.Shadowed, $"{path}: shadowed by {winner}", []) { Other = winner };
        }
        throw new PluginConflictException(
            $"{path}: a plugin named '{name}' is already loaded from {winner}; unload it first (DELETE /v1/plugins/{name}) or replace it (PUT /v1/plugins/{name})",
            winner);
    }

    // The file of the other plugin that already provides one of these connector types; null when none does.
    private string? ProviderFile(string name, IReadOnlyList<string> types) =>
        types.Select(catalog.PluginOf).FirstOrDefault(p => p is not null && p != name) is { } other ? catalog.LoadedPath(other) ?? other : null;

    /// <summary>
    /// Runs every load-time check on <paramref name="path"/> (trust included) and loads it without registering anything,
    /// for a hot swap; throws <see cref="PluginRefusedException"/> naming the file and what was wrong.
    /// </summary>
    public StagedPlugin Stage(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new PluginRefusedException($"{fullPath}: no such file");
        var expected = ExpectedHash(fullPath, Path.GetFileNameWithoutExtension(fullPath));
        if (IsNative(fullPath)) return NativePlugins.Stage(fullPath, expected, settings.InspectTimeoutOrDefault);
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
        (string Path, IDisposable Handle) old;
        var handle = staged.Commit();
        lock (_gate)
        {
            _byName.Remove(name, out old);
            _byName[staged.Record.Name] = (staged.Record.Path, handle);
        }
        catalog.Replace(name, staged.Record, staged.Register);
        if (handle is LoadedManagedPlugin) catalog.KeepLoaded(staged.Record.Name, handle);
        return old.Handle;
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
        (string Path, IDisposable Handle) entry;
        lock (_gate)
        {
            if (!_byName.Remove(name, out entry)) return false;
        }
        catalog.Unregister(name);
        entry.Handle.Dispose();
        return true;
    }

    /// <summary>A weak reference to a loaded managed plugin's load context (null for native or unknown ones).</summary>
    internal WeakReference? LoadContextReference(string name)
    {
        lock (_gate) return _byName.TryGetValue(name, out var h) && h.Handle is LoadedManagedPlugin m ? m.LoadContext : null;
    }

    /// <summary>Unloads everything loaded (at shutdown, after every instance stopped).</summary>
    public void UnloadAll()
    {
        lock (_gate)
        {
            foreach (var (_, handle) in _byName.Values) handle.Dispose();
            _byName.Clear();
        }
    }
}

/// <summary>A plugin refused because its name or a connector type it provides is already taken by <see cref="Other"/>.</summary>
internal sealed class PluginConflictException(string message, string? other) : Exception(message)
{
    /// <summary>The file that has the name or type, when known.</summary>
    public string? Other { get; } = other;
}
