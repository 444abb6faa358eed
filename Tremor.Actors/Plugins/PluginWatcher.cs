using Tremor.Actors.Configuration;

namespace Tremor.Actors.Plugins;

/// <summary>
/// Loads plugins dropped into the configured plugin folders while the runtime runs (<c>tremor.plugins.watch = on</c>).
/// A file is loaded once it stopped changing; refusals are reported like at start-up, and the runtime goes on.
/// </summary>
public sealed class PluginWatcher : IDisposable
{
    private readonly PluginDiscovery _discovery;
    private readonly Action<PluginRecord> _report;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Watches <paramref name="settings"/>' directories; <paramref name="report"/> hears of every plugin loaded or refused.</summary>
    public PluginWatcher(PluginDiscovery discovery, PluginSettings settings, Action<PluginRecord> report)
    {
        _discovery = discovery;
        _report = report;
        foreach (var record in discovery.Catalog.Records) _seen.Add(record.Path);
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
            if (!_seen.Add(path)) return;
        }
        _ = Task.Run(async () =>
        {
            // A copy in progress raises several events: wait until the size holds still.
            long last = -1;
            for (var i = 0; i < 50; i++)
            {
                var size = File.Exists(path) ? new FileInfo(path).Length : -1;
                if (size > 0 && size == last) break;
                last = size;
                await Task.Delay(100);
            }
            _report(_discovery.LoadOne(path));
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _watchers) w.Dispose();
    }
}
