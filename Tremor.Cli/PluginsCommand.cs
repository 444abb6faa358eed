using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;
using Tremor.Native;
using Tremor.Pdk;

namespace Tremor.Cli;

/// <summary><c>tremor plugins list | inspect | hash</c>.</summary>
public static class PluginsCommand
{
    /// <summary>Discovers plugins and prints a table; exit 0 (refused plugins are listed, not fatal).</summary>
    public static int List(IReadOnlyList<string> pluginDirs, FileInfo? configFile, TextWriter output, TextWriter error)
    {
        PluginSettings settings;
        try
        {
            var config = configFile is null ? TremorConfig.Reference : TremorConfig.LoadFile(configFile.FullName);
            settings = TremorConfig.ReadSettings(config, configFile?.FullName ?? "reference.conf").Plugins;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"error: {e.Message}");
            return RunCommand.ConfigError;
        }
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, settings);
        var records = discovery.DiscoverAll(pluginDirs);
        foreach (var missing in discovery.MissingDirectories)
        {
            error.WriteLine($"warning: plugin directory {missing} does not exist (named by --plugins or tremor.plugins.directories); nothing loaded from it");
        }
        var rows = new List<IReadOnlyList<string>>();
        foreach (var r in records)
        {
            // Names, versions and paths may come from a hostile file: never printed raw.
            rows.Add([
                PluginNames.Printable(r.Name), PluginNames.Printable(r.Version), r.Kind, PluginNames.Printable(r.PdkVersion), r.Status.ToString().ToLowerInvariant(),
                PluginNames.Printable(string.Join(",", r.Provides.Select(p => p[(p.IndexOf(':') + 1)..]))), PluginNames.Printable(r.Path),
            ]);
        }
        TableWriter.Write(output, ["NAME", "VERSION", "KIND", "PDK", "STATUS", "PROVIDES", "PATH"], rows);
        foreach (var r in records.Where(r => r.Status == PluginStatus.Refused))
        {
            output.WriteLine($"refused: {OneLine(r.Reason)}");
        }
        foreach (var r in records.Where(r => r.Status == PluginStatus.Shadowed))
        {
            output.WriteLine($"shadowed: {PluginNames.Printable(r.Path)}: shadowed by {PluginNames.Printable(r.Other ?? "?")}");
        }
        var searched = PluginDiscovery.SearchDirectories(settings.Directories.Concat(pluginDirs));
        if (records.Count == 0)
        {
            output.WriteLine($"no plugins found in: {string.Join(", ", searched.Select(PluginNames.Printable))}");
        }
        else
        {
            output.WriteLine($"search order: {string.Join(", ", searched.Select(PluginNames.Printable))}; {PluginDiscovery.PrecedenceRule}");
        }
        discovery.UnloadAll();
        return 0;
    }

    /// <summary>Runs every check on one file; 0 when accepted, 2 when refused.</summary>
    public static int Inspect(FileInfo file, TextWriter output, TextWriter error)
    {
        if (!file.Exists)
        {
            error.WriteLine($"error: {file.FullName}: no such file");
            return RunCommand.ConfigError;
        }
        var inspection = PluginInspection.Inspect(file.FullName);
        foreach (var line in inspection.Lines) output.WriteLine(line);
        if (!inspection.Accepted)
        {
            error.WriteLine($"refused: {OneLine(inspection.Reason)}");
            return RunCommand.ConfigError;
        }
        output.WriteLine("accepted");
        return 0;
    }

    /// <summary>Prints the line for <c>tremor.plugins.trusted</c>: the file's name and its SHA-256.</summary>
    public static int Hash(FileInfo file, TextWriter output, TextWriter error)
    {
        if (!file.Exists)
        {
            error.WriteLine($"error: {file.FullName}: no such file");
            return RunCommand.ConfigError;
        }
        output.WriteLine(TrustedLine(file.FullName));
        return 0;
    }

    /// <summary>
    /// <c>"NAME" = "SHA-256"</c> for a plugin file, pasted into <c>tremor.plugins.trusted { }</c> as it is: the key is
    /// quoted, or HOCON would read the dots of <c>Tremor.Connectors.Std</c> as a path of nested keys.
    /// </summary>
    public static string TrustedLine(string path) =>
        $"{JsonQuote(Path.GetFileNameWithoutExtension(path))} = \"{ManagedPluginLoader.Sha256(path)}\"";

    private static string JsonQuote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    // A refusal quotes what it found, but a managed plugin's exception text is its own: one printable line either way.
    private static string OneLine(string? text) => PluginNames.Printable((text ?? "refused").ReplaceLineEndings(" "));
}
