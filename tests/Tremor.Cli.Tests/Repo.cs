using System.Reflection;

namespace Tremor.Cli.Tests;

/// <summary>Where the repository, the built CLI and the built plugins are, for the configuration these tests were built in.</summary>
internal static class Repo
{
    /// <summary>The folder holding <c>Tremor.sln</c>, found by walking up from the test's output folder.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the plugin and fixture folders are per configuration.</summary>
    public static string Configuration { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    /// <summary>The CLI: the test project references Tremor.Cli, so the build copies tremor.dll and its runtimeconfig here.</summary>
    public static string TremorDll { get; } = Path.Combine(AppContext.BaseDirectory, "tremor.dll");

    /// <summary>The folder the build puts every connector plugin into.</summary>
    public static string PluginDir => Path.Combine(Root, "artifacts", "plugins", Configuration);

    /// <summary>A plugin folder holding only <c>Pdk2Plugin/Pdk2Plugin.dll</c>, built against a fake Tremor.Pdk 2.0.</summary>
    public static string Pdk2Dir => Path.Combine(Root, "artifacts", "fixtures", Configuration, "pdk2");

    /// <summary>The PDK-2 plugin file itself.</summary>
    public static string Pdk2Plugin => Path.Combine(Pdk2Dir, "Pdk2Plugin", "Pdk2Plugin.dll");

    /// <summary>The std plugin (metronome, metrics, stdio, null, exit).</summary>
    public static string StdPlugin => Path.Combine(PluginDir, "Tremor.Connectors.Std", "Tremor.Connectors.Std.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tremor.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Tremor.sln above {AppContext.BaseDirectory}");
    }
}
