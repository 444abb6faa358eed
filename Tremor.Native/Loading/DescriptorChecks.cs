using System.Runtime.InteropServices;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.Native.Loading;

/// <summary>Reads and checks the exported descriptor field by field; calls no plugin function.</summary>
internal static unsafe class DescriptorChecks
{
    public static PluginDescriptor? Check(DescriptorSnapshot snapshot, string path, NativeInspection inspection, List<NativeCheck> checks)
    {
        var raw = snapshot.Descriptor;
        if (raw.State == SnapshotState.Fault)
        {
            Refuse("descriptor", $"symbol {AbiConstants.EntrySymbol}", "a readable descriptor", $"address {NativePluginLoader.Hex(raw.Address)} (unreadable memory)");
            return null;
        }
        if (raw.State != SnapshotState.Read || raw.Bytes.Length < 16)
        {
            Refuse("descriptor", $"symbol {AbiConstants.EntrySymbol}", "a descriptor of at least 16 bytes", $"{raw.Bytes.Length} bytes");
            return null;
        }
        var bytes = raw.Bytes;

        // magic, size, abi_major and abi_minor are at fixed offsets in every version.
        var magic = BitConverter.ToUInt64(bytes, 0);
        if (magic != AbiConstants.Magic)
        {
            Refuse("magic", "descriptor.magic", NativePluginLoader.Hex(AbiConstants.Magic), NativePluginLoader.Hex(magic));
            return null;
        }
        checks.Add(new NativeCheck("magic", true, NativePluginLoader.Hex(magic)));

        var size = BitConverter.ToUInt32(bytes, 8);
        var major = BitConverter.ToUInt16(bytes, 12);
        var minor = BitConverter.ToUInt16(bytes, 14);
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

        // Copy what the plugin has; newer fields stay zero. Its pointers are the reader's, only compared with null here.
        TremorPluginDescriptor d = default;
        fixed (byte* source = bytes)
        {
            Buffer.MemoryCopy(source, &d, sizeof(TremorPluginDescriptor), Math.Min(bytes.Length, sizeof(TremorPluginDescriptor)));
        }

        if (!CheckLayout(d, snapshot.Item("layout"), minor, out var layoutDefect))
        {
            Refuse("layout", layoutDefect.Field, layoutDefect.Expected, layoutDefect.Found);
            return null;
        }
        checks.Add(new NativeCheck("layout", true, $"{d.LayoutCount} rows match"));

        if (!Text(snapshot.Item("name"), "descriptor.name", out var name)) return null;
        if (string.IsNullOrWhiteSpace(name))
        {
            Refuse("name", "descriptor.name", "a non-empty name", name is null ? "null" : "an empty string");
            return null;
        }
        if (!PluginNames.IsValid(name))
        {
            Refuse("name", "descriptor.name", $"a plugin name: {PluginNames.Rule}", PluginNames.Quote(name));
            return null;
        }
        if (!Text(snapshot.Item("version"), "descriptor.version", out var version)) return null;
        if (version is null || !NativePluginLoader.SemVer().IsMatch(version))
        {
            Refuse("version", "descriptor.version", "a semantic version MAJOR.MINOR.PATCH", version is null ? "null" : PluginNames.Quote(version));
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
        if (!Text(snapshot.Item("config_schema"), "descriptor.config_schema", out var schema)) return null;
        if (!Text(snapshot.Item("default_codec"), "descriptor.default_codec", out var codec)) return null;
        string? description = null;
        if (minor >= 1 && !Text(snapshot.Item("description"), "descriptor.description", out description)) return null;
        inspection.ConfigSchema = schema ?? "{}";
        inspection.DefaultCodec = codec ?? "json";
        inspection.Description = description;
        checks.Add(new NativeCheck("kinds", true, kinds.ToString().ToLowerInvariant()));

        var vtableItem = snapshot.Item("vtable");
        if (vtableItem.State is SnapshotState.Null or SnapshotState.Absent)
        {
            Refuse("vtable", "descriptor.vtable", "a vtable", "null");
            return null;
        }
        if (vtableItem.State == SnapshotState.Fault)
        {
            Refuse("vtable", "descriptor.vtable", "a readable vtable", $"pointer {NativePluginLoader.Hex(vtableItem.Address)} (unreadable memory)");
            return null;
        }
        var vtableBytes = vtableItem.Bytes;
        var vtableSize = vtableBytes.Length >= 4 ? BitConverter.ToUInt32(vtableBytes, 0) : 0;
        var minVtable = AbiLayout.MinimumSize(9, minor);
        if (vtableSize < minVtable || vtableBytes.Length < minVtable)
        {
            Refuse("vtable size", "vtable.size", $"at least {minVtable} (abi {major}.{minor})", $"{vtableSize}");
            return null;
        }
        TremorPluginVtable v = default;
        fixed (byte* source = vtableBytes)
        {
            Buffer.MemoryCopy(source, &v, sizeof(TremorPluginVtable), Math.Min(vtableBytes.Length, sizeof(TremorPluginVtable)));
        }
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

        // A string field: null stays null; an unreadable pointer or a string without an end is a refusal.
        bool Text(SnapshotItem item, string field, out string? text)
        {
            text = null;
            switch (item.State)
            {
                case SnapshotState.Fault:
                    Refuse(field[(field.IndexOf('.') + 1)..], field, "a readable NUL-terminated string", $"pointer {NativePluginLoader.Hex(item.Address)} (unreadable memory)");
                    return false;
                case SnapshotState.TooLong:
                    Refuse(field[(field.IndexOf('.') + 1)..], field, $"a NUL-terminated string of at most {item.Bound} bytes", "no NUL within them");
                    return false;
                case SnapshotState.Read:
                    text = System.Text.Encoding.UTF8.GetString(item.Bytes);
                    return true;
                default:
                    return true;
            }
        }
    }

    private static bool CheckLayout(in TremorPluginDescriptor d, SnapshotItem table, int minor, out (string Field, string Expected, string Found) defect)
    {
        defect = default;
        if (table.State == SnapshotState.Fault)
        {
            defect = ("descriptor.layout", "a readable layout table", $"pointer {NativePluginLoader.Hex(table.Address)} (unreadable memory)");
            return false;
        }
        if (table.State != SnapshotState.Read || d.LayoutCount == 0 || d.LayoutCount > DescriptorSnapshot.MaxLayoutRows)
        {
            defect = ("descriptor.layout", "a layout table (TREMOR_PDK_LAYOUT_ENTRIES)", table.State != SnapshotState.Read ? "null" : $"{d.LayoutCount} rows");
            return false;
        }
        var rows = MemoryMarshal.Cast<byte, TremorLayoutEntry>(table.Bytes);
        var found = new Dictionary<(uint, uint), TremorLayoutEntry>(rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
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
}
