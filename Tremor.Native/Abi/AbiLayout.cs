namespace Tremor.Native.Abi;

/// <summary>One row of the host's expected layout: the struct's sizeof when <see cref="MemberId"/> is 0.</summary>
internal sealed record LayoutRow(uint StructId, uint MemberId, string StructName, string MemberName, int Offset, int Size, int Minor)
{
    public bool IsSizeRow => MemberId == 0;

    public string Display => IsSizeRow ? $"sizeof({StructName})" : $"{StructName}.{MemberName}";
}

/// <summary>
/// The layout the host expects, built from the C# mirrors (so the mirrors are the one place to change) with the ids
/// and the minor that introduced each member, exactly as TREMOR_PDK_LAYOUT_V1_* in the header.
/// </summary>
internal static unsafe class AbiLayout
{
    private unsafe delegate void* FieldOf<T>(T* p)
        where T : unmanaged;

    private sealed record StructInfo(uint Id, string Name, int Size, bool SizePrefixed);

    private static readonly List<LayoutRow> s_rows = [];
    private static readonly Dictionary<uint, StructInfo> s_structs = [];

    static AbiLayout()
    {
        Struct<TremorLayoutEntry>(1, "tremor_layout_entry", false);
        Member<TremorLayoutEntry, uint>(1, "struct_id", 0, p => &p->StructId);
        Member<TremorLayoutEntry, uint>(2, "member_id", 0, p => &p->MemberId);
        Member<TremorLayoutEntry, uint>(3, "offset", 0, p => &p->Offset);
        Member<TremorLayoutEntry, uint>(4, "size", 0, p => &p->Size);

        Struct<TremorErr>(2, "tremor_err", false);
        Member<TremorErr, nint>(1, "ptr", 0, p => &p->Ptr);
        Member<TremorErr, nuint>(2, "cap", 0, p => &p->Cap);
        Member<TremorErr, nuint>(3, "len", 0, p => &p->Len);

        Struct<TremorSinkSlice>(3, "tremor_sink_slice", false);
        Member<TremorSinkSlice, nint>(1, "data", 0, p => &p->Data);
        Member<TremorSinkSlice, nuint>(2, "len", 0, p => &p->Len);
        Member<TremorSinkSlice, ulong>(3, "event_id", 0, p => &p->EventId);
        Member<TremorSinkSlice, ulong>(4, "ingest_ns", 0, p => &p->IngestNs);

        Struct<TremorSourceSlice>(4, "tremor_source_slice", false);
        Member<TremorSourceSlice, nint>(1, "data", 0, p => &p->Data);
        Member<TremorSourceSlice, nuint>(2, "len", 0, p => &p->Len);
        Member<TremorSourceSlice, ulong>(3, "stream_id", 0, p => &p->StreamId);
        Member<TremorSourceSlice, ulong>(4, "ingest_ns", 0, p => &p->IngestNs);
        Member<TremorSourceSlice, nint>(5, "meta", 0, p => &p->Meta);
        Member<TremorSourceSlice, nuint>(6, "meta_len", 0, p => &p->MetaLen);
        Member<TremorSourceSlice, uint>(7, "flags", 0, p => &p->Flags);
        Member<TremorSourceSlice, uint>(8, "reserved", 0, p => &p->Reserved);

        Struct<TremorHostApi>(5, "tremor_host_api", true);
        Member<TremorHostApi, uint>(1, "size", 0, p => &p->Size);
        Member<TremorHostApi, uint>(2, "abi_minor", 0, p => &p->AbiMinor);
        Member<TremorHostApi, nint>(3, "ctx", 0, p => &p->Ctx);
        Member<TremorHostApi, nint>(4, "log", 0, p => &p->Log);
        Member<TremorHostApi, nint>(5, "monotonic_ns", 0, p => &p->MonotonicNs);
        Member<TremorHostApi, nint>(6, "wall_ns", 0, p => &p->WallNs);
        Member<TremorHostApi, nint>(7, "ack", 0, p => &p->Ack);
        Member<TremorHostApi, nint>(8, "fail", 0, p => &p->Fail);
        Member<TremorHostApi, nint>(9, "request_shutdown", 0, p => &p->RequestShutdown);
        Member<TremorHostApi, nint>(10, "sink_has_room", 2, p => &p->SinkHasRoom);

        Struct<TremorCreateArgs>(6, "tremor_create_args", true);
        Member<TremorCreateArgs, uint>(1, "size", 0, p => &p->Size);
        Member<TremorCreateArgs, uint>(2, "kinds", 0, p => &p->Kinds);
        Member<TremorCreateArgs, nint>(3, "host", 0, p => &p->Host);
        Member<TremorCreateArgs, nint>(4, "config_json", 0, p => &p->ConfigJson);
        Member<TremorCreateArgs, nuint>(5, "config_len", 0, p => &p->ConfigLen);
        Member<TremorCreateArgs, nint>(6, "alias", 0, p => &p->Alias);
        Member<TremorCreateArgs, nuint>(7, "alias_len", 0, p => &p->AliasLen);

        Struct<TremorSinkBatch>(7, "tremor_sink_batch", true);
        Member<TremorSinkBatch, uint>(1, "size", 0, p => &p->Size);
        Member<TremorSinkBatch, uint>(2, "count", 0, p => &p->Count);
        Member<TremorSinkBatch, nint>(3, "slices", 0, p => &p->Slices);
        Member<TremorSinkBatch, nint>(4, "bytes", 0, p => &p->Bytes);
        Member<TremorSinkBatch, nuint>(5, "bytes_len", 0, p => &p->BytesLen);
        Member<TremorSinkBatch, ulong>(6, "batch_id", 0, p => &p->BatchId);

        Struct<TremorPull>(8, "tremor_pull", true);
        Member<TremorPull, uint>(1, "size", 0, p => &p->Size);
        Member<TremorPull, uint>(2, "capacity", 0, p => &p->Capacity);
        Member<TremorPull, nint>(3, "slices", 0, p => &p->Slices);
        Member<TremorPull, uint>(4, "count", 0, p => &p->Count);
        Member<TremorPull, uint>(5, "reserved", 0, p => &p->Reserved);
        Member<TremorPull, ulong>(6, "max_wait_ns", 0, p => &p->MaxWaitNs);

        Struct<TremorPluginVtable>(9, "tremor_plugin_vtable", true);
        Member<TremorPluginVtable, uint>(1, "size", 0, p => &p->Size);
        Member<TremorPluginVtable, uint>(2, "reserved", 0, p => &p->Reserved);
        Member<TremorPluginVtable, nint>(3, "create", 0, p => &p->Create);
        Member<TremorPluginVtable, nint>(4, "destroy", 0, p => &p->Destroy);
        Member<TremorPluginVtable, nint>(5, "connect", 0, p => &p->Connect);
        Member<TremorPluginVtable, nint>(6, "pull", 0, p => &p->Pull);
        Member<TremorPluginVtable, nint>(7, "release", 0, p => &p->Release);
        Member<TremorPluginVtable, nint>(8, "sink_batch", 0, p => &p->SinkBatch);
        Member<TremorPluginVtable, nint>(9, "lifecycle", 1, p => &p->Lifecycle);

        Struct<TremorPluginDescriptor>(10, "tremor_plugin_descriptor", true);
        Member<TremorPluginDescriptor, ulong>(1, "magic", 0, p => &p->Magic);
        Member<TremorPluginDescriptor, uint>(2, "size", 0, p => &p->Size);
        Member<TremorPluginDescriptor, ushort>(3, "abi_major", 0, p => &p->AbiMajor);
        Member<TremorPluginDescriptor, ushort>(4, "abi_minor", 0, p => &p->AbiMinor);
        Member<TremorPluginDescriptor, nint>(5, "layout", 0, p => &p->Layout);
        Member<TremorPluginDescriptor, uint>(6, "layout_count", 0, p => &p->LayoutCount);
        Member<TremorPluginDescriptor, uint>(7, "kinds", 0, p => &p->Kinds);
        Member<TremorPluginDescriptor, uint>(8, "flags", 0, p => &p->Flags);
        Member<TremorPluginDescriptor, uint>(9, "reserved", 0, p => &p->Reserved);
        Member<TremorPluginDescriptor, nint>(10, "name", 0, p => &p->Name);
        Member<TremorPluginDescriptor, nint>(11, "version", 0, p => &p->Version);
        Member<TremorPluginDescriptor, nint>(12, "config_schema", 0, p => &p->ConfigSchema);
        Member<TremorPluginDescriptor, nint>(13, "default_codec", 0, p => &p->DefaultCodec);
        Member<TremorPluginDescriptor, nint>(14, "vtable", 0, p => &p->Vtable);
        Member<TremorPluginDescriptor, nint>(15, "description", 1, p => &p->Description);
    }

    /// <summary>Every row, sizeof rows first within each struct.</summary>
    public static IReadOnlyList<LayoutRow> Rows => s_rows;

    public static string StructName(uint id) => s_structs.TryGetValue(id, out var s) ? s.Name : $"struct #{id}";

    public static bool IsSizePrefixed(uint structId) => s_structs[structId].SizePrefixed;

    /// <summary>
    /// The smallest sizeof a struct can have at <paramref name="minor"/>: the end of its last member of that minor,
    /// rounded up to 8 (every ABI struct holds a 64-bit member). Frozen structs: their sizeof.
    /// </summary>
    public static int MinimumSize(uint structId, int minor)
    {
        var info = s_structs[structId];
        if (!info.SizePrefixed) return info.Size;
        var end = 0;
        foreach (var row in s_rows)
        {
            if (row.StructId == structId && !row.IsSizeRow && row.Minor <= minor) end = Math.Max(end, row.Offset + row.Size);
        }
        return (end + 7) & ~7;
    }

    private static void Struct<T>(uint id, string name, bool sizePrefixed)
        where T : unmanaged
    {
        s_structs[id] = new StructInfo(id, name, sizeof(T), sizePrefixed);
        s_rows.Add(new LayoutRow(id, 0, name, "", 0, sizeof(T), 0));
    }

    private static void Member<T, TField>(uint memberId, string name, int minor, FieldOf<T> field)
        where T : unmanaged
        where TField : unmanaged
    {
        var structId = s_rows[^1].StructId;
        T instance = default; // a real address: C# null-checks &p->field
        var offset = (int)((byte*)field(&instance) - (byte*)&instance);
        s_rows.Add(new LayoutRow(structId, memberId, s_structs[structId].Name, name, offset, sizeof(TField), minor));
    }
}
