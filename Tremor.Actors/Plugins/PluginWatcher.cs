using Tremor.Actors.Configuration;

namespace Tremor.Actors.Plugins;

/// <summary>
/// Loads plugins dropped into the configured plugin folders while the runtime runs (<c>tremor.plugins.watch = on</c>).
/// A file is checked once it stopped changing; refusals are reported like at start-up, and the runtime goes on. A file
/// that was refused (say, truncated while still being copied) is checked again each time it changes again; a loaded
/// plugin's file is not: the runtime keeps running the copy it checked until the plugin is replaced explicitly.
/// </summary>
public sealed class PluginWatcher : IDisposable
{
    private readonly PluginDiscovery _discovery;
    private readonly Action<PluginRecord> _report;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Dictionary<string, (long Length, DateTime Modified)> _checked = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Watches <paramref name="settings"/>' directories; <paramref name="report"/> hears of every plugin loaded or refused.</summary>
    public PluginWatcher(PluginDiscovery discovery, PluginSettings settings, Action<PluginRecord> report)
    {
        _discovery = discovery;
        _report = report;
        foreach (var record in discovery.Catalog.Records) _checked[record.Path] = Stamp(record.Path);
        foreach (var dir in settings.Directories.Select(Path.GetFullPath).Where(Directory.Exists))
        {
            var watcher = new FileSystemWatcher(dir) { IncludeSubdirectories = true, EnableRaisingEvents = false };
            watcher.Created += (_, e) => Consider(dir, e.FullPath);
            watcher.Changed += (_, e) => Consider(dir, e.FullPath);
            watcher.Renamed += (_, e) => Consider(dir, e.FullPath);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    private void Consider(string root, string path)
    {
        // Only what discovery would load: ROOT/NAME/NAME.dll, or a .so anywhere below ROOT.
        var isManaged = path.EndsWith(".dll", StringComparison.Ordinal) &&
                        string.Equals(Path.GetFileNameWithoutExtension(path), Path.GetFileName(Path.GetDirectoryName(path)), StringComparison.Ordinal) &&
                        string.Equals(Path.GetDirectoryName(Path.GetDirectoryName(path)), root, StringComparison.Ordinal);
        var isNative = path.EndsWith(".so", StringComparison.Ordinal);
        if (!isManaged && !isNative) return;
        lock (_gate)
        {
            // Events for one file are coalesced: one worker per file, told to look again by every event.
            _dirty.Add(path);
            if (!_running.Add(path)) return;
        }
        _ = Task.Run(() => Check(path));
    }

    private async Task Check(string path)
    {
        while (true)
        {
            lock (_gate)
            {
                if (!_dirty.Remove(path))
                {
                    _running.Remove(path);
                    return;
                }
            }
            // A copy in progress raises several events: wait until the size holds still.
            long last = -1;
            for (var i = 0; i < 50; i++)
            {
                var size = File.Exists(path) ? new FileInfo(path).Length : -1;
                if (size > 0 && size == last) break;
                last = size;
                await Task.Delay(100);
            }
            if (!File.Exists(path)) continue;
            var stamp = Stamp(path);
            lock (_gate)
            {
                if (_checked.TryGetValue(path, out var seen) && seen == stamp) continue;
                _checked[path] = stamp;
            }
            if (_discovery.Catalog.Records.Any(r => r.Path == path && r.Status == PluginStatus.Loaded)) continue;
            _report(_discovery.LoadOne(path));
        }
    }

    private static (long, DateTime) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _watchers) w.Dispose();
    }
}
