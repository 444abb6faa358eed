using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Tremor.Native.Abi;
using Tremor.Native.Loading;
using Tremor.Pdk;

namespace Tremor.Native;

/// <summary>
/// Finds, checks and loads native connector plugins (shared objects exporting <c>tremor_pdk_plugin_v1</c>, see
/// <c>include/tremor_pdk.h</c>). The file is checked before anything loads it, the descriptor is read in a child
/// process (<c>tremor-plugin-inspect</c>) and checked before the runtime loads the library; every refusal is one line
/// naming file, field, expected and found.
/// </summary>
public static partial class NativePluginLoader
{
    /// <summary>True for a <c>.so</c> file that starts with the ELF magic (a missing file is not one).</summary>
    public static bool LooksLikeNativePlugin(string path)
    {
        if (!path.EndsWith(".so", StringComparison.OrdinalIgnoreCase) || !File.Exists(path)) return false;
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && ElfCheck.HasElfMagic(head);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs every check and never throws for a bad file. Nothing of the plugin runs in this process: its bytes are
    /// checked here, its descriptor is read by the plugin inspector in a child process (where its constructors run).
    /// </summary>
    public static NativeInspection Inspect(string path) => Inspect(path, null);

    /// <summary>Like <see cref="Inspect(string)"/>, also requiring the file's SHA-256 to be <paramref name="expectedSha256"/> (hex) when given.</summary>
    public static NativeInspection Inspect(string path, string? expectedSha256) => Inspect(path, expectedSha256, PluginInspector.DefaultTimeout);

    /// <summary>Like <see cref="Inspect(string, string?)"/>; the inspector child is killed after <paramref name="inspectTimeout"/>.</summary>
    public static NativeInspection Inspect(string path, string? expectedSha256, TimeSpan inspectTimeout) =>
        Run(path, expectedSha256, inspectTimeout, out _, out _);

    /// <summary>Checks a plugin; throws <see cref="NativePluginRefusedException"/> (message = the refusal line).</summary>
    public static NativePlugin Load(string path) => Load(path, null);

    /// <summary>Like <see cref="Load(string)"/>, also requiring the file's SHA-256 to be <paramref name="expectedSha256"/> when given.</summary>
    public static NativePlugin Load(string path, string? expectedSha256) => Load(path, expectedSha256, PluginInspector.DefaultTimeout);

    /// <summary>
    /// Checks a plugin and returns it, not yet loaded into this process. Its bytes are hashed and copied to a path
    /// named by their hash; the inspection, every in-process load and every isolated start or restart use that copy,
    /// so replacing or deleting the file afterwards changes nothing until it is loaded again (and checked again).
    /// The library is <c>dlopen</c>ed here only when the first in-process instance is created.
    /// </summary>
    public static NativePlugin Load(string path, string? expectedSha256, TimeSpan inspectTimeout)
    {
        var inspection = Run(path, expectedSha256, inspectTimeout, out var descriptor, out var copy);
        if (!inspection.Accepted || descriptor is null || copy is null) throw new NativePluginRefusedException(inspection);
        return new NativePlugin(path, copy, inspection, descriptor);
    }

    private static NativeInspection Run(string path, string? expectedSha256, TimeSpan inspectTimeout, out PluginDescriptor? descriptor, out string? copy)
    {
        descriptor = null;
        copy = null;
        var checks = new List<NativeCheck>();
        var inspection = new NativeInspection(path, checks);
        try
        {
            RunChecks(path, expectedSha256, inspectTimeout, inspection, checks, ref descriptor, ref copy);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Refuse(inspection, checks, "file", "file", "a readable file", e.Message);
        }
        if (!inspection.Accepted) descriptor = null;
        return inspection;
    }

    private static void RunChecks(string path, string? expectedSha256, TimeSpan inspectTimeout, NativeInspection inspection, List<NativeCheck> checks, ref PluginDescriptor? descriptor, ref string? copy)
    {
        if (!File.Exists(path))
        {
            Refuse(inspection, checks, "file", "file", "an existing file", Directory.Exists(path) ? "a directory" : "no such file");
            return;
        }
        var bytes = File.ReadAllBytes(path);
        var sha = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        inspection.Sha256 = sha;
        if (expectedSha256 is not null)
        {
            var expected = expectedSha256.Trim().ToLowerInvariant();
            if (expected != sha)
            {
                Refuse(inspection, checks, "sha256", "sha256", expected, sha);
                return;
            }
            checks.Add(new NativeCheck("sha256", true, sha));
        }

        if (ElfCheck.Check(bytes, checks) is { } defect)
        {
            inspection.Refusal = Line(path, defect.Field, defect.Expected, defect.Found);
            return;
        }

        // From here on only the very bytes that were hashed and checked are used, from a path named by their hash.
        var loadPath = CheckedCopies.Store(bytes, sha);
        var report = PluginInspector.Run(loadPath, inspectTimeout);
        if (report.Snapshot is null)
        {
            Refuse(inspection, checks, report.Check, report.Field, report.Expected, report.Found);
            return;
        }
        checks.Add(new NativeCheck("dlopen", true, $"in a child process ({PluginInspector.FileName}), from the content-addressed copy {System.IO.Path.GetFileName(loadPath)}"));
        checks.Add(new NativeCheck("entry symbol", true, AbiConstants.EntrySymbol));

        descriptor = DescriptorChecks.Check(report.Snapshot, path, inspection, checks);
        if (descriptor is not null) copy = loadPath;
    }

    internal static void Refuse(NativeInspection inspection, List<NativeCheck> checks, string check, string field, string expected, string found)
    {
        checks.Add(new NativeCheck(check, false, $"{field}: expected {expected}, found {found}"));
        inspection.Refusal = Line(inspection.Path, field, expected, found);
    }

    private static string Line(string path, string field, string expected, string found) =>
        $"{path}: {field}: expected {expected}, found {found}";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", RegexOptions.CultureInvariant)]
    internal static partial Regex SemVer();

    internal static string Hex(ulong value) => "0x" + value.ToString("X16", CultureInfo.InvariantCulture);
}

/// <summary>What an accepted descriptor said, copied out of the library.</summary>
internal sealed class PluginDescriptor
{
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required string? Description { get; init; }
    public required ConnectorKinds Kinds { get; init; }
    public required uint Flags { get; init; }
    public required string ConfigSchema { get; init; }
    public required string DefaultCodec { get; init; }
    public required int AbiMajor { get; init; }
    public required int AbiMinor { get; init; }

    /// <summary>The plugin's vtable, zero beyond what its minor has.</summary>
    public required TremorPluginVtable Vtable { get; init; }
}
