using System.Numerics;
using System.Runtime.InteropServices;

namespace Tremor.Native.Isolation;

/// <summary>
/// <c>host-cpu = follow</c>: keeps the plugin host's serving thread on the CPU of the runtime thread that calls it. A
/// call is synchronous (the caller sleeps in <c>poll</c> until the reply), so a host woken on the caller's CPU runs
/// there at once and wakes the caller there in turn: no wake-up crosses to the other CPU (an inter-processor
/// interrupt, which a virtual machine pays through its hypervisor, twice per call). The affinity changes only when the
/// caller moved since the last call. Only sink and pull calls follow: the other calls (create, connect, lifecycle,
/// destroy), where a plugin starts its own threads, run with the host's own affinity back, so those threads are not
/// pinned (a thread the plugin starts inside a sink or pull call inherits the pin).
/// </summary>
internal sealed unsafe partial class HostCpuFollower
{
    private const int MaskBytes = 128; // 1,024 CPUs

    private readonly int _pid;
    private readonly byte[] _any;
    private readonly byte[] _one = new byte[MaskBytes];
    private int _cpu = -1;
    private bool _enabled = true;

    private HostCpuFollower(int pid, byte[] any)
    {
        _pid = pid;
        _any = any;
    }

    /// <summary>A follower for the host <paramref name="pid"/>, or null where there is nothing to follow (one CPU, not Linux).</summary>
    public static HostCpuFollower? Create(int pid)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var any = new byte[MaskBytes];
        int result;
        fixed (byte* mask = any) result = SchedGetAffinity(pid, MaskBytes, mask);
        if (result < 0) return null;
        var cpus = 0;
        foreach (var b in any) cpus += BitOperations.PopCount(b);
        return cpus > 1 ? new HostCpuFollower(pid, any) : null;
    }

    /// <summary>The CPU the host is kept on, or -1 while it runs with its own affinity.</summary>
    public int Cpu => _cpu;

    /// <summary>Before a sink or pull call: the host goes where the calling thread runs now.</summary>
    public void Follow()
    {
        if (!_enabled) return;
        var cpu = SchedGetCpu();
        if (cpu == _cpu || cpu < 0 || cpu >= MaskBytes * 8) return;
        if (_cpu >= 0) _one[_cpu >> 3] = 0;
        _one[cpu >> 3] = (byte)(1 << (cpu & 7));
        int result;
        fixed (byte* mask = _one) result = SchedSetAffinity(_pid, MaskBytes, mask);
        if (result == 0)
        {
            _cpu = cpu;
            return;
        }
        // Not allowed (a cpuset changed under the runtime) or the host is gone: stop following, the calls work as
        // they are. A dead host fails its call on its own.
        _one[cpu >> 3] = 0;
        _enabled = false;
        Release();
    }

    /// <summary>Before any other call: the host's own affinity back.</summary>
    public void Release()
    {
        if (_cpu < 0) return;
        fixed (byte* mask = _any) _ = SchedSetAffinity(_pid, MaskBytes, mask);
        _one[_cpu >> 3] = 0;
        _cpu = -1;
    }

    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint size, byte* mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint size, byte* mask);
}
