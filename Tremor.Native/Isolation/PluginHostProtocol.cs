using System.Runtime.InteropServices;

namespace Tremor.Native.Isolation;

// The wire format between IsolatedConnector and host/tremor-plugin-host.c (mirrors its `request`, `frame` and
// `region_slice`; both sides run on the same machine, so native endianness and natural alignment).

/// <summary>Request codes, parent to plugin host.</summary>
internal static class HostOp
{
    public const uint Create = 1;
    public const uint Connect = 2;
    public const uint Sink = 3;
    public const uint Pull = 4;
    public const uint Lifecycle = 5;
    public const uint Destroy = 6;
}

/// <summary>Frame types, plugin host to parent.</summary>
internal static class HostFrame
{
    public const uint Ready = 1;
    public const uint Refused = 2;
    public const uint Reply = 3;
    public const uint Log = 4;
    public const uint Died = 5;
    public const uint Ack = 6;
    public const uint Fail = 7;
    public const uint Shutdown = 8;
    /// <summary>The plugin called host->sink_has_room (ABI 1.2).</summary>
    public const uint Room = 9;
}

[StructLayout(LayoutKind.Sequential)]
internal struct HostRequest
{
    public uint Op;
    public uint Arg;
    public uint Len;
    public uint Reserved;
    /// <summary>The shared region's current size (the host remaps when it changed).</summary>
    public ulong RegionSize;
    public ulong A;
    public ulong B;
    public ulong C;
}

[StructLayout(LayoutKind.Sequential)]
internal struct HostFrameHeader
{
    public uint Type;
    public int Status;
    public uint Count;
    public uint Len;
    public ulong X;
}

/// <summary>A pulled slice in the shared region: offsets into the region instead of pointers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RegionSlice
{
    public ulong Offset;
    public ulong Len;
    public ulong StreamId;
    public ulong IngestNs;
    public ulong MetaOffset;
    public ulong MetaLen;
    public uint Flags;
    public uint Reserved;
}
