using System.Runtime.InteropServices;

namespace Tremor.Native.Abi;

// One-to-one mirrors of include/tremor_pdk.h (the header is the source of truth; a test compiles it and
// compares every offset and size with these). All blittable, all naturally aligned without implicit padding.

/// <summary>Status codes (TREMOR_OK ...).</summary>
internal static class Status
{
    public const int Ok = 0;
    public const int Empty = 1;
    public const int Finished = 2;
    public const int Pending = 3;
    public const int Failed = 4;
    /// <summary>sink_batch (1.2): nothing taken, the plugin is at a bound of its own.</summary>
    public const int Full = 5;
    public const int Error = -1;
    public const int ErrorConfig = -2;
    public const int ErrorPanic = -3;

    /// <summary>
    /// Why a sink_batch answer is not one the plugin may give, or null: TREMOR_FULL is ABI 1.2, and a plugin built
    /// for an older minor that answers 5 means something else by it (its instance is taken as broken).
    /// </summary>
    public static string? RefusedSinkAnswer(int status, int pluginMinor) =>
        status == Full && pluginMinor < 2
            ? $"answered TREMOR_FULL (5), which ABI 1.2 added, but the plugin is built for ABI 1.{pluginMinor}: rebuild it against tremor_pdk.h 1.2 or later"
            : null;

    public static string Name(int status) => status switch
    {
        Ok => "TREMOR_OK",
        Empty => "TREMOR_EMPTY",
        Finished => "TREMOR_FINISHED",
        Pending => "TREMOR_PENDING",
        Failed => "TREMOR_FAILED",
        Full => "TREMOR_FULL",
        Error => "TREMOR_ERROR",
        ErrorConfig => "TREMOR_ERROR_CONFIG",
        ErrorPanic => "TREMOR_ERROR_PANIC",
        _ => $"unknown status {status}",
    };
}

internal static class AbiConstants
{
    public const ulong Magic = 0x314B4450524D5254UL; // "TRMRPDK1"
    public const int Major = 1;
    public const int Minor = 2;
    public const string EntrySymbol = "tremor_pdk_plugin_v1";
    public const uint KindSource = 1;
    public const uint KindSink = 2;
    public const uint FlagAsyncSink = 1;
    public const uint SliceStreamEnd = 1;
    public const uint LifecyclePause = 1;
    public const uint LifecycleResume = 2;
    public const uint LifecycleDrain = 3;
    public const uint LifecycleStop = 4;
    public const uint LifecycleEnd = 5;
}

[StructLayout(LayoutKind.Sequential)]
internal struct TremorLayoutEntry
{
    public uint StructId;
    public uint MemberId;
    public uint Offset;
    public uint Size;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorErr
{
    public byte* Ptr;
    public nuint Cap;
    public nuint Len;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorSinkSlice
{
    public byte* Data;
    public nuint Len;
    public ulong EventId;
    public ulong IngestNs;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorSourceSlice
{
    public byte* Data;
    public nuint Len;
    public ulong StreamId;
    public ulong IngestNs;
    public byte* Meta;
    public nuint MetaLen;
    public uint Flags;
    public uint Reserved;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorHostApi
{
    public uint Size;
    public uint AbiMinor;
    public void* Ctx;
    public delegate* unmanaged[Cdecl]<void*, int, byte*, nuint, void> Log;
    public delegate* unmanaged[Cdecl]<void*, ulong> MonotonicNs;
    public delegate* unmanaged[Cdecl]<void*, ulong> WallNs;
    public delegate* unmanaged[Cdecl]<void*, ulong*, nuint, void> Ack;
    public delegate* unmanaged[Cdecl]<void*, ulong*, nuint, byte*, nuint, void> Fail;
    public delegate* unmanaged[Cdecl]<void*, int, byte*, nuint, void> RequestShutdown;
    public delegate* unmanaged[Cdecl]<void*, void> SinkHasRoom;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorCreateArgs
{
    public uint Size;
    public uint Kinds;
    public TremorHostApi* Host;
    public byte* ConfigJson;
    public nuint ConfigLen;
    public byte* Alias;
    public nuint AliasLen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorSinkBatch
{
    public uint Size;
    public uint Count;
    public TremorSinkSlice* Slices;
    public byte* Bytes;
    public nuint BytesLen;
    public ulong BatchId;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorPull
{
    public uint Size;
    public uint Capacity;
    public TremorSourceSlice* Slices;
    public uint Count;
    public uint Reserved;
    public ulong MaxWaitNs;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorPluginVtable
{
    public uint Size;
    public uint Reserved;
    public delegate* unmanaged[Cdecl]<TremorCreateArgs*, void**, TremorErr*, int> Create;
    public delegate* unmanaged[Cdecl]<void*, void> Destroy;
    public delegate* unmanaged[Cdecl]<void*, uint, TremorErr*, int> Connect;
    public delegate* unmanaged[Cdecl]<void*, TremorPull*, TremorErr*, int> Pull;
    public delegate* unmanaged[Cdecl]<void*, TremorErr*, int> Release;
    public delegate* unmanaged[Cdecl]<void*, TremorSinkBatch*, TremorErr*, int> SinkBatch;
    public delegate* unmanaged[Cdecl]<void*, uint, TremorErr*, int> Lifecycle; // 1.1
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TremorPluginDescriptor
{
    public ulong Magic;
    public uint Size;
    public ushort AbiMajor;
    public ushort AbiMinor;
    public TremorLayoutEntry* Layout;
    public uint LayoutCount;
    public uint Kinds;
    public uint Flags;
    public uint Reserved;
    public byte* Name;
    public byte* Version;
    public byte* ConfigSchema;
    public byte* DefaultCodec;
    public TremorPluginVtable* Vtable;
    public byte* Description; // 1.1
}
