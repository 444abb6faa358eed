using Tremor.Native;

namespace Tremor.Actors.Plugins;

/// <summary>Bridges native plugin files (checked and loaded by Tremor.Native) into the catalog and the CLI.</summary>
internal static class NativePlugins
{
    public static PluginRecord Load(string path, string? expectedSha256, PluginCatalog catalog, List<IDisposable> loaded)
    {
        NativePlugin plugin;
        try
        {
            plugin = NativePluginLoader.Load(path, expectedSha256);
        }
        catch (NativePluginRefusedException e)
        {
            throw new PluginRefusedException(e.Message);
        }
        try
        {
            catalog.RegisterConnector(
                plugin.Manifest.Name,
                plugin.ConnectorFactory,
                isolation => plugin.CreateIsolatedFactory(new IsolationOptions(isolation.CallTimeout, isolation.MemoryLimitBytes)));
        }
        catch (InvalidOperationException e)
        {
            plugin.Dispose();
            throw new PluginRefusedException($"{path}: {e.Message}");
        }
        loaded.Add(plugin);
        var kinds = plugin.ConnectorFactory.Kinds.ToString().ToLowerInvariant().Replace(", ", "+");
        return new PluginRecord(plugin.Manifest.Name, plugin.Manifest.Version, $"native connector ({kinds})", plugin.Manifest.PdkVersion, path, PluginStatus.Loaded, null, [$"connector:{plugin.ConnectorFactory.Type}"]);
    }

    public static PluginInspection Inspect(string path)
    {
        var inspection = NativePluginLoader.Inspect(path);
        var lines = new List<string>
        {
            $"file:        {path}",
            "type:        native (C ABI)",
            $"name:        {inspection.Name ?? "?"}",
            $"version:     {inspection.Version ?? "?"}",
            $"kind:        {inspection.Kinds.ToString().ToLowerInvariant()}",
            $"abi:         {inspection.AbiMajor}.{inspection.AbiMinor}",
            $"description: {inspection.Description ?? ""}",
            $"codec:       {inspection.DefaultCodec ?? "none"}",
            $"sha256:      {inspection.Sha256 ?? "?"}",
            $"config schema: {inspection.ConfigSchema ?? "none"}",
        };
        foreach (var check in inspection.Checks)
        {
            lines.Add($"check {check.Name}: {(check.Passed ? "ok" : "FAIL")}{(string.IsNullOrEmpty(check.Detail) ? "" : $" ({check.Detail})")}");
        }
        return new PluginInspection(inspection.Accepted, inspection.Refusal, lines);
    }
}
