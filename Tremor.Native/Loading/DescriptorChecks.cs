using System.Runtime.InteropServices;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.Native.Loading;

/// <summary>Reads and checks the exported descriptor field by field; calls no plugin function.</summary>
internal static unsafe class DescriptorChecks
{
    private const uint MaxLayoutRows = 4096;

    public static PluginDescriptor? Check(byte* symbol, string path, NativeInspection inspection, List<NativeCheck> checks)
    {
        // magic, size, abi_major and abi_minor are at fixed offsets in every version.
        var magic = *(ulong*)symbol;
        if (magic != AbiConstants.Magic)
        {
            Refuse("magic", "descriptor.magic", NativePluginLoader.Hex(AbiConstants.Magic), NativePluginLoader.Hex(magic));
            return null;
        }
        checks.Add(new NativeCheck("magic", true, NativePluginLoader.Hex(magic)));

        var size = *(uint*)(symbol + 8);
        var major = *(ushort*)(symbol + 12);
        var minor = *(ushort*)(symbol + 14);
        inspection.AbiMajor = major;
        inspection.AbiMinor = minor;
        if (major != AbiConstants.Major)
        {
            Refuse("abi major", "descriptor.abi_major", $"{AbiConstants.Major}", $"{major}");
            return null;
        }
        checks.Add(new NativeCheck("abi major", true, $"{major}"));
        if (minor > AbiConstants.Minor)
        {
            Refuse("abi minor", "descriptor.abi_minor", $"at most {AbiConstants.Minor} (the host's)", $"{minor}");
            return null;
        }
        checks.Add(new NativeCheck("abi minor", true, $"{minor} (host {AbiConstants.Minor})"));

        var minDescriptor = AbiLayout.MinimumSize(10, minor);
        if (size < minDescriptor)
        {
            Refuse("descriptor size", "descriptor.size", $"at least {minDescriptor} (abi {major}.{minor})", $"{size}");
            return null;
        }
        checks.Add(new NativeCheck("descriptor size", true, $"{size}"));

        // Copy what the plugin has; newer fields stay zero.
        TremorPluginDescriptor d = default;
        Buffer.MemoryCopy(symbol, &d, sizeof(TremorPluginDescriptor), Math.Min(size, (uint)sizeof(TremorPluginDescriptor)));

        if (!CheckLayout(d, minor, out var layoutDefect))
        {
            Refuse("layout", layoutDefect.Field, layoutDefect.Expected, layoutDefect.Found);
            return null;
        }
        checks.Add(new NativeCheck("layout", true, $"{d.LayoutCount} rows match"));

        var name = Utf8(d.Name);
        if (string.IsNullOrWhiteSpace(name))
        {
            Refuse("name", "descriptor.name", "a non-empty name", name is null ? "null" : "an empty string");
            return null;
        }
        var version = Utf8(d.Version);
        if (version is null || !NativePluginLoader.SemVer().IsMatch(version))
        {
            Refuse("version", "descriptor.version", "a semantic version MAJOR.MINOR.PATCH", version is null ? "null" : $"\"{version}\"");
            return null;
        }
        inspection.Name = name;
        inspection.Version = version;
        checks.Add(new NativeCheck("name and version", true, $"{name} {version}"));

        var knownKinds = AbiConstants.KindSource | AbiConstants.KindSink;
        if (d.Kinds == 0 || (d.Kinds & ~knownKinds) != 0)
        {
            Refuse("kinds", "descriptor.kinds", "source (1), sink (2) or both (3)", $"{d.Kinds}");
            return null;
        }
        var kinds = (ConnectorKinds)d.Kinds;
        inspection.Kinds = kinds;
        inspection.ConfigSchema = Utf8(d.ConfigSchema) ?? "{}";
        inspection.DefaultCodec = Utf8(d.DefaultCodec) ?? "json";
        inspection.Description = minor >= 1 ? Utf8(d.Description) : null;
        checks.Add(new NativeCheck("kinds", true, kinds.ToString().ToLowerInvariant()));

        if (d.Vtable == null)
        {
            Refuse("vtable", "descriptor.vtable", "a vtable", "null");
            return null;
        }
        var vtableSize = d.Vtable->Size;
        var minVtable = AbiLayout.MinimumSize(9, minor);
        if (vtableSize < minVtable)
        {
            Refuse("vtable size", "vtable.size", $"at least {minVtable} (abi {major}.{minor})", $"{vtableSize}");
            return null;
        }
        TremorPluginVtable v = default;
        Buffer.MemoryCopy(d.Vtable, &v, sizeof(TremorPluginVtable), Math.Min(vtableSize, (uint)sizeof(TremorPluginVtable)));
        if (v.Create == null) { Refuse("vtable", "vtable.create", "a function", "null"); return null; }
        if (v.Destroy == null) { Refuse("vtable", "vtable.destroy", "a function", "null"); return null; }
        if (kinds.HasFlag(ConnectorKinds.Source))
        {
            if (v.Pull == null) { Refuse("vtable", "vtable.pull", "a function (the plugin is a source)", "null"); return null; }
            if (v.Release == null) { Refuse("vtable", "vtable.release", "a function (the plugin is a source)", "null"); return null; }
        }
        if (kinds.HasFlag(ConnectorKinds.Sink) && v.SinkBatch == null)
        {
            Refuse("vtable", "vtable.sink_batch", "a function (the plugin is a sink)", "null");
            return null;
        }
        checks.Add(new NativeCheck("vtable", true, $"size {vtableSize}, required entries present"));

        return new PluginDescriptor
        {
            Name = name,
            Version = version,
            Description = inspection.Description,
            Kinds = kinds,
            Flags = d.Flags,
            ConfigSchema = inspection.ConfigSchema,
            DefaultCodec = inspection.DefaultCodec,
            AbiMajor = major,
            AbiMinor = minor,
            Vtable = v,
        };

        void Refuse(string check, string field, string expected, string found) =>
            NativePluginLoader.Refuse(inspection, checks, check, field, expected, found);
    }

    private static bool CheckLayout(in TremorPluginDescriptor d, int minor, out (string Field, string Expected, string Found) defect)
    {
        defect = default;
        if (d.Layout == null || d.LayoutCount == 0 || d.LayoutCount > MaxLayoutRows)
        {
            defect = ("descriptor.layout", "a layout table (TREMOR_PDK_LAYOUT_ENTRIES)", d.Layout == null ? "null" : $"{d.LayoutCount} rows");
            return false;
        }
        var found = new Dictionary<(uint, uint), TremorLayoutEntry>((int)d.LayoutCount);
        for (var i = 0; i < d.LayoutCount; i++)
        {
            var row = d.Layout[i];
            if (!found.TryAdd((row.StructId, row.MemberId), row))
            {
                var name = row.MemberId == 0 ? $"sizeof({AbiLayout.StructName(row.StructId)})" : $"{AbiLayout.StructName(row.StructId)} member #{row.MemberId}";
                defect = ($"layout {name}", "one row", "two rows");
                return false;
            }
        }
        foreach (var expected in AbiLayout.Rows)
        {
            if (expected.Minor > minor) continue;
            var field = $"layout {expected.Display}";
            if (!found.TryGetValue((expected.StructId, expected.MemberId), out var row))
            {
                defect = (field, expected.IsSizeRow ? $"{expected.Size}" : $"offset {expected.Offset} size {expected.Size}", "no row");
                return false;
            }
            if (expected.IsSizeRow)
            {
                if (AbiLayout.IsSizePrefixed(expected.StructId))
                {
                    var min = AbiLayout.MinimumSize(expected.StructId, minor);
                    if (row.Size < min)
                    {
                        defect = (field, $"at least {min} (abi {AbiConstants.Major}.{minor})", $"{row.Size}");
                        return false;
                    }
                }
                else if (row.Size != expected.Size)
                {
                    defect = (field, $"{expected.Size}", $"{row.Size}");
                    return false;
                }
            }
            else if (row.Offset != expected.Offset || row.Size != expected.Size)
            {
                defect = (field, $"offset {expected.Offset} size {expected.Size}", $"offset {row.Offset} size {row.Size}");
                return false;
            }
        }
        return true;
    }

    private static string? Utf8(byte* text) => text == null ? null : Marshal.PtrToStringUTF8((nint)text);
}
