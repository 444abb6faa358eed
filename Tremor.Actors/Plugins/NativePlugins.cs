using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>Bridges native plugin files (Tremor.Native) into the catalog.</summary>
internal static class NativePlugins
{
    public static PluginRecord Load(string path, string? expectedSha256, PluginCatalog catalog, List<IDisposable> loaded)
    {
        throw new PluginRefusedException($"{path}: native plugins are not supported by this build yet");
    }

    public static PluginInspection Inspect(string path) =>
        new(false, $"{path}: native plugins are not supported by this build yet", [$"file: {path}"]);
}
