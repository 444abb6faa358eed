namespace Tremor.Native.Tests;

[Collection(NativeCollection.Name)]
public sealed class RefusalTests(NativeFixture fixture)
{
    public static TheoryData<string, string, string, string> DescriptorDefects => new()
    {
        { "DEFECT_NO_SYMBOL", "symbol tremor_pdk_plugin_v1", "an exported descriptor", "none" },
        { "DEFECT_MAGIC", "descriptor.magic", "0x314B4450524D5254", "0x0123456789ABCDEF" },
        { "DEFECT_MAJOR", "descriptor.abi_major", "1", "2" },
        { "DEFECT_MINOR", "descriptor.abi_minor", "at most 2 (the host's)", "99" },
        { "DEFECT_DESC_SIZE", "descriptor.size", "at least 88 (abi 1.2)", "16" },
        { "DEFECT_STRUCT_SIZE", "layout sizeof(tremor_plugin_vtable)", "at least 64 (abi 1.2)", "24" },
        { "DEFECT_LAYOUT", "layout tremor_sink_slice.event_id", "offset 16 size 8", "offset 24 size 8" },
        { "DEFECT_EMPTY_NAME", "descriptor.name", "a non-empty name", "an empty string" },
        { "DEFECT_BAD_VERSION", "descriptor.version", "a semantic version MAJOR.MINOR.PATCH", "\"1.x\"" },
        { "DEFECT_NO_SINK", "vtable.sink_batch", "a function (the plugin is a sink)", "null" },
    };

    [Theory]
    [MemberData(nameof(DescriptorDefects))]
    public void A_bad_descriptor_is_refused_with_one_line_naming_file_field_expected_found(string defect, string field, string expected, string found)
    {
        var path = fixture.DefectPlugin(defect);
        AssertRefused(path, $"{path}: {field}: expected {expected}, found {found}");
    }

    [Fact]
    public void A_text_file_is_not_a_shared_object()
    {
        var path = Path.Combine(fixture.WorkDir, "text.so");
        File.WriteAllText(path, "#!/bin/sh\necho hi\n");
        AssertRefused(path, $"{path}: file: expected an ELF shared object (bytes 7f454c46), found bytes 23212f62");
    }

    [Fact]
    public void An_executable_is_not_a_shared_object()
    {
        AssertRefused(fixture.Executable, $"{fixture.Executable}: e_type: expected ET_DYN (a shared object), found ET_EXEC (an executable)");
    }

    [Fact]
    public void A_truncated_file_is_refused_before_loading()
    {
        var bytes = File.ReadAllBytes(fixture.ProbePlugin);
        var path = Path.Combine(fixture.WorkDir, "truncated.so");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var inspection = NativePluginLoader.Inspect(path);
        Assert.False(inspection.Accepted);
        Assert.StartsWith($"{path}: file size: expected at least ", inspection.Refusal);
        Assert.EndsWith($", found {bytes.Length / 2} bytes (truncated)", inspection.Refusal);
        Assert.DoesNotContain(inspection.Checks, c => c.Name == "dlopen");
    }

    [Fact]
    public void A_tiny_elf_file_is_truncated()
    {
        var path = Path.Combine(fixture.WorkDir, "tiny.so");
        File.WriteAllBytes(path, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0]);
        AssertRefused(path, $"{path}: file size: expected at least 64 bytes (the ELF header), found 10 bytes (truncated)");
    }

    [Fact]
    public void Another_architecture_is_refused_by_e_machine()
    {
        var path = fixture.CopyOf(fixture.ProbePlugin, "aarch64.so");
        var bytes = File.ReadAllBytes(path);
        bytes[18] = 183; // EM_AARCH64
        bytes[19] = 0;
        File.WriteAllBytes(path, bytes);
        AssertRefused(path, $"{path}: e_machine: expected 62 (x86-64, the process's architecture), found 183 (AArch64)");
    }

    [Fact]
    public void A_missing_file_is_refused()
    {
        var path = Path.Combine(fixture.WorkDir, "missing.so");
        AssertRefused(path, $"{path}: file: expected an existing file, found no such file");
        Assert.False(NativePluginLoader.LooksLikeNativePlugin(path));
    }

    [Fact]
    public void A_wrong_trusted_hash_is_refused()
    {
        var wrong = new string('0', 64);
        var inspection = NativePluginLoader.Inspect(fixture.ProbePlugin, wrong);
        Assert.Equal($"{fixture.ProbePlugin}: sha256: expected {wrong}, found {inspection.Sha256}", inspection.Refusal);
        var refused = Assert.Throws<NativePluginRefusedException>(() => NativePluginLoader.Load(fixture.ProbePlugin, wrong));
        Assert.Equal(inspection.Refusal, refused.Message);
    }

    [Fact]
    public void A_trusted_hash_loads_the_checked_bytes_from_a_content_addressed_copy()
    {
        var sha = NativePluginLoader.Inspect(fixture.CBlackhole).Sha256!;
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole, sha.ToUpperInvariant());
        Assert.Contains(plugin.Inspection.Checks, c => c.Name == "dlopen" && c.Detail.Contains($"{sha}.so", StringComparison.Ordinal));
        Assert.Contains(plugin.Inspection.Checks, c => c.Name == "sha256" && c.Passed);
    }

    private static void AssertRefused(string path, string line)
    {
        var inspection = NativePluginLoader.Inspect(path);
        Assert.False(inspection.Accepted);
        Assert.Equal(line, inspection.Refusal);
        Assert.DoesNotContain('\n', inspection.Refusal!);
        Assert.False(inspection.Checks[^1].Passed);
        var refused = Assert.Throws<NativePluginRefusedException>(() => NativePluginLoader.Load(path));
        Assert.Equal(line, refused.Message);
    }
}
