using System.Runtime.InteropServices;
using System.Text;

namespace Tremor.Native.Connectors;

/// <summary>
/// Names the plugin and call when the runtime dies inside an in-process native call: while a plugin function runs,
/// this thread's slot in the crash shim (<c>shim/tremor-crash-shim.c</c>) points at a line prepared when the
/// instance was created, and the shim's fatal-signal handler writes it to stderr
/// (<c>tremor: crashed inside plugin NAME (PATH) in CALL</c>) before the runtime's own handler runs.
/// </summary>
/// <remarks>
/// Cost on the hot path: one thread-static read and two pointer stores per native call (a sink batch or a pull,
/// not an event); nothing is allocated, formatted or written until a crash. Without the shim (not built, another
/// OS) the slot is null and the calls go on without breadcrumbs.
/// </remarks>
internal static unsafe class CrashBreadcrumb
{
    /// <summary>The shim's library file (built by Tremor.Native next to its assembly).</summary>
    public const string ShimFileName = "libtremor-crash-shim.so";

    private static readonly delegate* unmanaged[Cdecl]<nint*> s_slotOf = Install();

    [ThreadStatic]
    private static nint* t_slot;

    /// <summary>True when the shim's handlers are installed.</summary>
    public static bool Enabled => s_slotOf != null;

    /// <summary>Marks this thread as inside <paramref name="line"/>'s call (a line from <see cref="Lines"/>).</summary>
    public static nint* Enter(nint line)
    {
        var slot = t_slot;
        if (slot == null)
        {
            if (s_slotOf == null) return null;
            slot = t_slot = s_slotOf();
        }
        *slot = line;
        return slot;
    }

    /// <summary>The call returned.</summary>
    public static void Leave(nint* slot)
    {
        if (slot != null) *slot = 0;
    }

    /// <summary>
    /// A host callback runs managed code inside the plugin call; a fault there is the runtime's (a caught
    /// NullReferenceException also arrives as SIGSEGV), not the plugin's: the slot is cleared until it returns.
    /// </summary>
    public static nint Suspend()
    {
        var slot = t_slot;
        if (slot == null) return 0;
        var line = *slot;
        *slot = 0;
        return line;
    }

    /// <summary>Back inside the plugin call after a callback.</summary>
    public static void Resume(nint line)
    {
        var slot = t_slot;
        if (slot != null) *slot = line;
    }

    private static delegate* unmanaged[Cdecl]<nint*> Install()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var directory = Path.GetDirectoryName(typeof(CrashBreadcrumb).Assembly.Location);
        foreach (var candidate in (string?[])[AppContext.BaseDirectory, directory])
        {
            if (string.IsNullOrEmpty(candidate)) continue;
            var path = Path.Combine(candidate, ShimFileName);
            if (!File.Exists(path) || !NativeLibrary.TryLoad(path, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "tremor_crash_install", out var install) ||
                !NativeLibrary.TryGetExport(handle, "tremor_crash_slot", out var slotOf))
            {
                continue;
            }
            if (((delegate* unmanaged[Cdecl]<int>)install)() != 0) return null;
            return (delegate* unmanaged[Cdecl]<nint*>)slotOf;
        }
        return null;
    }

    /// <summary>The prepared lines of one instance, one per call, in native memory until <see cref="Dispose"/>.</summary>
    internal sealed class Lines : IDisposable
    {
        /// <summary>The calls, in the order of the properties below.</summary>
        private static readonly string[] Calls = ["create", "connect", "pull", "release", "sink_batch", "lifecycle", "destroy"];

        private readonly nint[] _lines;

        public Lines(string plugin, string path)
        {
            _lines = new nint[Calls.Length];
            for (var i = 0; i < Calls.Length; i++)
            {
                var text = Encoding.UTF8.GetBytes($"tremor: crashed inside plugin {plugin} ({path}) in {Calls[i]}\n\0");
                var line = (byte*)NativeMemory.Alloc((nuint)text.Length);
                text.CopyTo(new Span<byte>(line, text.Length));
                _lines[i] = (nint)line;
            }
        }

        public nint Create => _lines[0];

        public nint Connect => _lines[1];

        public nint Pull => _lines[2];

        public nint Release => _lines[3];

        public nint SinkBatch => _lines[4];

        public nint Lifecycle => _lines[5];

        public nint Destroy => _lines[6];

        public void Dispose()
        {
            for (var i = 0; i < _lines.Length; i++)
            {
                NativeMemory.Free((void*)_lines[i]);
                _lines[i] = 0;
            }
        }
    }
}
