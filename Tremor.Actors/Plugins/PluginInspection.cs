using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>The result of <c>tremor plugins inspect</c>: what the plugin is and the outcome of every check.</summary>
/// <param name="Accepted">True when every check passed.</param>
/// <param name="Reason">The refusal line, when refused.</param>
/// <param name="Lines">Human-readable lines: facts, then one line per check.</param>
public sealed record PluginInspection(bool Accepted, string? Reason, IReadOnlyList<string> Lines)
{
    /// <summary>Inspects a managed (<c>.dll</c>) or native (<c>.so</c>) plugin file.</summary>
    public static PluginInspection Inspect(string path) => Inspect(path, TimeSpan.FromSeconds(10));

    /// <summary>Like <see cref="Inspect(string)"/>; a native plugin's inspector child is killed after <paramref name="inspectTimeout"/>.</summary>
    public static PluginInspection Inspect(string path, TimeSpan inspectTimeout) =>
        path.EndsWith(".so", StringComparison.Ordinal) ? NativePlugins.Inspect(path, inspectTimeout) : InspectManaged(path);

    private static PluginInspection InspectManaged(string path)
    {
        var lines = new List<string> { $"file:        {path}", "type:        managed (.NET assembly)" };
        try
        {
            var pdk = ManagedPluginLoader.ReadPdkReference(path);
            lines.Add($"check pdk-reference: {(pdk is null ? "FAIL (does not reference Tremor.Pdk)" : pdk.Major == PdkVersion.Major ? $"ok (Tremor.Pdk {pdk})" : $"FAIL (Tremor.Pdk {pdk}, host provides {PdkVersion.Text})")}");
            using var loaded = ManagedPluginLoader.Load(path, null);
            var m = loaded.Plugin.Manifest;
            lines.Insert(1, $"name:        {m.Name}");
            lines.Insert(2, $"version:     {m.Version}");
            lines.Insert(3, $"pdk:         {m.PdkVersion}");
            lines.Insert(4, $"description: {m.Description}");
            foreach (var c in loaded.Plugin.Connectors) lines.Add($"provides connector {c.Type} ({c.Kinds.ToString().ToLowerInvariant()}, default codec {c.DefaultCodec ?? "none"}): {c.Description}");
            foreach (var c in loaded.Plugin.Codecs) lines.Add($"provides codec {c.Name}");
            foreach (var p in loaded.Plugin.Preprocessors) lines.Add($"provides preprocessor {p.Name}");
            foreach (var p in loaded.Plugin.Postprocessors) lines.Add($"provides postprocessor {p.Name}");
            lines.Add("check load: ok (own collectible load context, Tremor.Pdk shared with the host)");
            lines.Add("check manifest: ok");
            return new PluginInspection(true, null, lines);
        }
        catch (PluginRefusedException e)
        {
            lines.Add($"check load: FAIL ({e.Message})");
            return new PluginInspection(false, e.Message, lines);
        }
        catch (BadImageFormatException e)
        {
            var reason = $"{path}: not a .NET assembly ({e.Message})";
            lines.Add($"check format: FAIL ({reason})");
            return new PluginInspection(false, reason, lines);
        }
    }
}
