using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Tremor.Native.Abi;
using Tremor.Native.Loading;
using Tremor.Pdk;

namespace Tremor.Native;

/// <summary>
/// Finds, checks and loads native connector plugins (shared objects exporting <c>tremor_pdk_plugin_v1</c>, see
/// <c>include/tremor_pdk.h</c>). The file is checked before <c>dlopen</c>, the descriptor before any plugin function
/// is called; every refusal is one line naming file, field, expected and found.
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

    /// <summary>Runs every check; never calls a plugin function (dlopen still runs the library's constructors) and never throws for a bad file.</summary>
    public static NativeInspection Inspect(string path) => Inspect(path, null);

    /// <summary>Like <see cref="Inspect(string)"/>, also requiring the file's SHA-256 to be <paramref name="expectedSha256"/> (hex) when given.</summary>
    public static NativeInspection Inspect(string path, string? expectedSha256)
    {
        var inspection = Run(path, expectedSha256, out var handle, out _);
        if (handle != 0) NativeLibrary.Free(handle);
        return inspection;
    }

    /// <summary>Checks and loads a plugin; throws <see cref="NativePluginRefusedException"/> (message = the refusal line).</summary>
    public static NativePlugin Load(string path) => Load(path, null);

    /// <summary>
    /// Like <see cref="Load(string)"/>; with <paramref name="expectedSha256"/> the bytes are hashed and the library is
    /// loaded from a content-addressed copy of exactly those bytes, so the file cannot be swapped between check and load.
    /// </summary>
    public static NativePlugin Load(string path, string? expectedSha256)
    {
        var inspection = Run(path, expectedSha256, out var handle, out var descriptor);
        if (!inspection.Accepted || descriptor is null)
        {
            if (handle != 0) NativeLibrary.Free(handle);
            throw new NativePluginRefusedException(inspection);
        }
        return new NativePlugin(path, handle, inspection, descriptor);
    }

    private static NativeInspection Run(string path, string? expectedSha256, out nint handle, out PluginDescriptor? descriptor)
    {
        handle = 0;
        descriptor = null;
        var checks = new List<NativeCheck>();
        var inspection = new NativeInspection(path, checks);
        try
        {
            RunChecks(path, expectedSha256, inspection, checks, ref handle, ref descriptor);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Refuse(inspection, checks, "file", "file", "a readable file", e.Message);
        }
        if (!inspection.Accepted) descriptor = null;
        return inspection;
    }

    private static unsafe void RunChecks(string path, string? expectedSha256, NativeInspection inspection, List<NativeCheck> checks, ref nint handle, ref PluginDescriptor? descriptor)
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

        // With a trusted hash, load the very bytes that were checked from a path named by their hash.
        var loadPath = expectedSha256 is null ? System.IO.Path.GetFullPath(path) : ContentAddressedCopy(bytes, sha);
        try
        {
            handle = NativeLibrary.Load(loadPath);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            Refuse(inspection, checks, "dlopen", "dlopen", "a loadable library", OneLine(e.Message));
            return;
        }
        checks.Add(new NativeCheck("dlopen", true, expectedSha256 is null ? "loaded" : $"loaded from the content-addressed copy {System.IO.Path.GetFileName(loadPath)}"));

        if (!NativeLibrary.TryGetExport(handle, AbiConstants.EntrySymbol, out var symbol) || symbol == 0)
        {
            Refuse(inspection, checks, "entry symbol", $"symbol {AbiConstants.EntrySymbol}", "an exported descriptor", "none");
            return;
        }
        checks.Add(new NativeCheck("entry symbol", true, AbiConstants.EntrySymbol));

        descriptor = DescriptorChecks.Check((byte*)symbol, path, inspection, checks);
    }

    internal static void Refuse(NativeInspection inspection, List<NativeCheck> checks, string check, string field, string expected, string found)
    {
        checks.Add(new NativeCheck(check, false, $"{field}: expected {expected}, found {found}"));
        inspection.Refusal = Line(inspection.Path, field, expected, found);
    }

    private static string Line(string path, string field, string expected, string found) =>
        $"{path}: {field}: expected {expected}, found {found}";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static string ContentAddressedCopy(byte[] bytes, string sha)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tremor-native-plugins");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var target = System.IO.Path.Combine(directory, sha + ".so");
        if (File.Exists(target) && Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(target))).Equals(sha, StringComparison.OrdinalIgnoreCase))
        {
            return target;
        }
        var temporary = System.IO.Path.Combine(directory, $"{sha}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, target, overwrite: true);
        return target;
    }

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
