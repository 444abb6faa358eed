using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>What the host API callbacks of one instance reach through their context id.</summary>
internal sealed class HostContext
{
    public HostContext(IPluginHost host, string pluginName, bool asyncSink)
    {
        Host = host;
        PluginName = pluginName;
        Pending = asyncSink ? new ConcurrentDictionary<ulong, EventId>() : null;
    }

    public IPluginHost Host { get; }

    public string PluginName { get; }

    /// <summary>u64 id handed to the plugin -> the event's id, for batches an asynchronous sink answered with PENDING.</summary>
    public ConcurrentDictionary<ulong, EventId>? Pending { get; }
}

/// <summary>
/// The host API table's functions. Plugins may call them from any thread; none throws into native code.
/// </summary>
/// <remarks>
/// A plugin that breaks the contract calls back after <c>destroy</c> returned (a thread it did not join). So the
/// <c>ctx</c> it passes is not a GCHandle (a freed one would be dereferenced) but an id into a table of live
/// instances that is never reused: a late callback finds nothing and is ignored. For the same reason the host API
/// table itself is never freed (the plugin reads the function pointers from it): it is small and one per instance.
/// </remarks>
internal static unsafe class HostCallbacks
{
    private static readonly double s_nsPerTick = 1_000_000_000.0 / Stopwatch.Frequency;
    private static readonly ConcurrentDictionary<nint, HostContext> s_live = new();
    private static long s_lastId;

    /// <summary>Late callbacks ignored since start (a plugin calling back after destroy; tests read it).</summary>
    internal static long LateCallbacks => Interlocked.Read(ref s_lateCallbacks);

    private static long s_lateCallbacks;

    /// <summary>Makes <paramref name="context"/> reachable from callbacks; the id is never handed out again.</summary>
    public static nint Register(HostContext context)
    {
        var id = (nint)Interlocked.Increment(ref s_lastId);
        s_live[id] = context;
        return id;
    }

    /// <summary>After destroy: callbacks naming <paramref name="id"/> are ignored from now on.</summary>
    public static void Unregister(nint id) => s_live.TryRemove(id, out _);

    /// <summary>A host API table for one instance (native memory, deliberately never freed: see the remarks).</summary>
    public static TremorHostApi* AllocateTable(nint contextId)
    {
        var table = (TremorHostApi*)NativeMemory.AllocZeroed((nuint)sizeof(TremorHostApi));
        table->Size = (uint)sizeof(TremorHostApi);
        table->AbiMinor = AbiConstants.Minor;
        table->Ctx = (void*)contextId;
        table->Log = &Log;
        table->MonotonicNs = &MonotonicNs;
        table->WallNs = &WallNs;
        table->Ack = &Ack;
        table->Fail = &Fail;
        table->RequestShutdown = &RequestShutdown;
        table->SinkHasRoom = &SinkHasRoom;
        return table;
    }

    private static HostContext? Context(void* ctx)
    {
        if (s_live.TryGetValue((nint)ctx, out var context)) return context;
        Interlocked.Increment(ref s_lateCallbacks);
        return null;
    }

    private static string Text(byte* text, nuint len) =>
        text == null || len == 0 ? "" : Encoding.UTF8.GetString(text, checked((int)len));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Log(void* ctx, int level, byte* msg, nuint len)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            Context(ctx)?.Host.Log((PluginLogLevel)Math.Clamp(level, 0, 3), Text(msg, len));
        }
        catch (Exception)
        {
            // Nothing may unwind into the plugin; a failing logger loses the line.
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static ulong MonotonicNs(void* ctx) =>
        Stopwatch.Frequency == 1_000_000_000 ? (ulong)Stopwatch.GetTimestamp() : (ulong)(Stopwatch.GetTimestamp() * s_nsPerTick);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static ulong WallNs(void* ctx)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            if (Context(ctx) is { } c) return c.Host.NowNs();
        }
        catch (Exception)
        {
            // fall through to the system clock
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
        return (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Ack(void* ctx, ulong* ids, nuint count)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            if (Context(ctx) is { } c && Resolve(c, ids, count) is { Count: > 0 } resolved) c.Host.Ack(resolved);
        }
        catch (Exception e)
        {
            TryLog(ctx, $"ack failed in the host: {e.Message}");
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Fail(void* ctx, ulong* ids, nuint count, byte* reason, nuint reasonLen)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            if (Context(ctx) is { } c && Resolve(c, ids, count) is { Count: > 0 } resolved) c.Host.Fail(resolved, Text(reason, reasonLen));
        }
        catch (Exception e)
        {
            TryLog(ctx, $"fail failed in the host: {e.Message}");
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void RequestShutdown(void* ctx, int exitCode, byte* reason, nuint reasonLen)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            Context(ctx)?.Host.RequestShutdown(exitCode, Text(reason, reasonLen));
        }
        catch (Exception e)
        {
            TryLog(ctx, $"request_shutdown failed in the host: {e.Message}");
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SinkHasRoom(void* ctx)
    {
        var crumb = CrashBreadcrumb.Suspend();
        try
        {
            Context(ctx)?.Host.SinkHasRoom();
        }
        catch (Exception e)
        {
            TryLog(ctx, $"sink_has_room failed in the host: {e.Message}");
        }
        finally
        {
            CrashBreadcrumb.Resume(crumb);
        }
    }

    private static List<EventId>? Resolve(HostContext c, ulong* ids, nuint count)
    {
        if (ids == null || count == 0) return null;
        if (c.Pending is null)
        {
            c.Host.Log(PluginLogLevel.Warning, $"{c.PluginName}: acked or failed {count} ids but does not declare TREMOR_FLAG_ASYNC_SINK; ignored");
            return null;
        }
        var resolved = new List<EventId>((int)count);
        var unknown = 0;
        for (nuint i = 0; i < count; i++)
        {
            if (c.Pending.TryRemove(ids[i], out var id)) resolved.Add(id);
            else unknown++;
        }
        if (unknown > 0) c.Host.Log(PluginLogLevel.Warning, $"{c.PluginName}: {unknown} acked or failed ids were not pending; ignored");
        return resolved;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TryLog(void* ctx, string message)
    {
        try
        {
            if (Context(ctx) is { } c) c.Host.Log(PluginLogLevel.Error, $"{c.PluginName}: {message}");
        }
        catch (Exception)
        {
            // nothing more to do
        }
    }
}
