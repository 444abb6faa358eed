using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using McMaster.NETCore.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>A plugin refused by a check; the message is the one line an operator sees.</summary>
public sealed class PluginRefusedException(string message) : Exception(message);

/// <summary>
/// Loads managed plugins: reads the PDK version the assembly references with <see cref="MetadataReader"/> before
/// loading anything, then loads it into its own collectible load context that shares <c>Tremor.Pdk</c> with the host.
/// </summary>
public static class ManagedPluginLoader
{
    /// <summary>The version of <c>Tremor.Pdk</c> an assembly references, read from its metadata without loading it; null when it references none.</summary>
    public static Version? ReadPdkReference(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata) throw new PluginRefusedException($"{assemblyPath}: not a .NET assembly (no metadata)");
        var reader = pe.GetMetadataReader();
        foreach (var handle in reader.AssemblyReferences)
        {
            var reference = reader.GetAssemblyReference(handle);
            if (reader.GetString(reference.Name) == "Tremor.Pdk") return reference.Version;
        }
        return null;
    }

    /// <summary>SHA-256 of a file as lowercase hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Lets the plugin's load context find assemblies of shared frameworks only the plugin names (see <see cref="SharedFrameworks"/>).</summary>
    private static void ResolveSharedFrameworks(PluginLoader loader, string assemblyPath)
    {
        var directories = SharedFrameworks.Directories(assemblyPath);
        if (directories.Count == 0) return;
        loader.LoadContext.Resolving += (context, name) =>
        {
            foreach (var directory in directories)
            {
                var candidate = Path.Combine(directory, name.Name + ".dll");
                if (File.Exists(candidate)) return context.LoadFromAssemblyPath(candidate);
            }
            return null;
        };
    }

    /// <summary>
    /// Checks and loads <paramref name="assemblyPath"/>. Throws <see cref="PluginRefusedException"/> with one line naming
    /// the file and what was wrong.
    /// </summary>
    internal static LoadedManagedPlugin Load(string assemblyPath, string? expectedSha256)
    {
        Version? pdk;
        try
        {
            pdk = ReadPdkReference(assemblyPath);
        }
        catch (BadImageFormatException e)
        {
            throw new PluginRefusedException($"{assemblyPath}: not a .NET assembly ({e.Message})");
        }
        if (pdk is null)
        {
            throw new PluginRefusedException($"{assemblyPath}: not a Tremor plugin: it does not reference Tremor.Pdk");
        }
        if (pdk.Major != PdkVersion.Major)
        {
            throw new PluginRefusedException(
                $"{assemblyPath}: built for PDK {pdk.Major}.{pdk.Minor}, but this runtime provides PDK {PdkVersion.Text}; rebuild the plugin against Tremor.Pdk {PdkVersion.Major}.x");
        }
        if (expectedSha256 is not null)
        {
            var actual = Sha256(assemblyPath);
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginRefusedException($"{assemblyPath}: SHA-256 {actual} is not the trusted one ({expectedSha256}); add it to tremor.plugins.trusted if you trust this file");
            }
        }

        var loader = PluginLoader.CreateFromAssemblyFile(
            assemblyPath,
            isUnloadable: true,
            sharedTypes: [typeof(ITremorPlugin)],
            configure: c => c.PreferSharedTypes = true);
        try
        {
            ResolveSharedFrameworks(loader, assemblyPath);
            var assembly = loader.LoadDefaultAssembly();
            var types = assembly.GetExportedTypes()
                .Where(t => typeof(ITremorPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
                .ToList();
            if (types.Count != 1)
            {
                throw new PluginRefusedException(
                    $"{assemblyPath}: expected exactly one public class implementing ITremorPlugin, found {types.Count}");
            }
            var plugin = (ITremorPlugin)(Activator.CreateInstance(types[0])
                ?? throw new PluginRefusedException($"{assemblyPath}: could not create {types[0].FullName}"));
            var manifest = plugin.Manifest;
            if (string.IsNullOrWhiteSpace(manifest.Name))
            {
                throw new PluginRefusedException($"{assemblyPath}: the manifest has an empty name");
            }
            if (!Tremor.Native.PluginNames.IsValid(manifest.Name))
            {
                throw new PluginRefusedException(
                    $"{assemblyPath}: manifest name: expected a plugin name: {Tremor.Native.PluginNames.Rule}, found {Tremor.Native.PluginNames.Quote(manifest.Name)}");
            }
            var declared = manifest.PdkVersion.Split('.');
            if (declared.Length < 1 || !int.TryParse(declared[0], out var declaredMajor) || declaredMajor != PdkVersion.Major)
            {
                throw new PluginRefusedException(
                    $"{assemblyPath}: the manifest says PDK {manifest.PdkVersion}, but this runtime provides PDK {PdkVersion.Text}");
            }
            return new LoadedManagedPlugin(assemblyPath, loader, plugin);
        }
        catch (PluginRefusedException)
        {
            loader.Dispose();
            throw;
        }
        catch (Exception e)
        {
            loader.Dispose();
            throw new PluginRefusedException($"{assemblyPath}: could not be loaded: {e.GetType().Name}: {e.Message}");
        }
    }
}

/// <summary>
/// McMaster resolves a plugin's own files and the host's assemblies, but not a shared framework that only the plugin
/// names (a plugin with <c>FrameworkReference Microsoft.AspNetCore.App</c> in a host without it). This finds those
/// frameworks from the plugin's <c>runtimeconfig.json</c> next to the host's runtime and loads their assemblies into
/// the plugin's load context when the host has none of its own (a host that has them shares its copies).
/// </summary>
internal static class SharedFrameworks
{
    public static IReadOnlyList<string> Directories(string assemblyPath)
    {
        var runtimeConfig = Path.ChangeExtension(assemblyPath, ".runtimeconfig.json");
        if (!File.Exists(runtimeConfig)) return [];
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(runtimeConfig));
        if (!document.RootElement.TryGetProperty("runtimeOptions", out var options)) return [];
        var frameworks = new List<(string Name, string Version)>();
        if (options.TryGetProperty("framework", out var single)) frameworks.Add(Read(single));
        if (options.TryGetProperty("frameworks", out var many))
        {
            foreach (var f in many.EnumerateArray()) frameworks.Add(Read(f));
        }
        // .../shared/Microsoft.NETCore.App/<version>/ holds the host's core library; its siblings are the other frameworks.
        var sharedRoot = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(typeof(object).Assembly.Location)!)!)!;
        var directories = new List<string>();
        foreach (var (name, version) in frameworks)
        {
            if (name.Length == 0 || string.Equals(name, "Microsoft.NETCore.App", StringComparison.Ordinal)) continue;
            if (!Version.TryParse(version, out var wanted)) wanted = new Version(0, 0);
            var best = Directory.Exists(Path.Combine(sharedRoot, name))
                ? Directory.GetDirectories(Path.Combine(sharedRoot, name))
                    .Select(d => (Dir: d, Version: Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : null))
                    .Where(d => d.Version is not null && d.Version.Major == wanted.Major && d.Version >= wanted)
                    .OrderByDescending(d => d.Version)
                    .Select(d => d.Dir)
                    .FirstOrDefault()
                : null;
            directories.Add(best ?? throw new PluginRefusedException(
                $"{assemblyPath}: needs the shared framework {name} {version} (or a later {wanted.Major}.x), which is not installed under {sharedRoot}"));
        }
        return directories;
    }

    private static (string Name, string Version) Read(System.Text.Json.JsonElement framework) =>
        (framework.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "", framework.TryGetProperty("version", out var v) ? v.GetString() ?? "" : "");
}

/// <summary>A managed plugin loaded into its own load context.</summary>
internal sealed class LoadedManagedPlugin(string path, PluginLoader loader, ITremorPlugin plugin) : IDisposable
{
    /// <summary>The main assembly's path.</summary>
    public string Path { get; } = path;

    /// <summary>The plugin's entry point.</summary>
    public ITremorPlugin Plugin { get; } = plugin;

    /// <summary>A weak reference to the plugin's load context, to see it collected after <see cref="Dispose"/>.</summary>
    public WeakReference LoadContext { get; } = new(loader.LoadContext);

    /// <summary>Unloads the load context (after every instance was disposed).</summary>
    public void Dispose() => loader.Dispose();
}
