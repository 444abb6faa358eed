using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Tremor.Connectors.Bench;

/// <summary>
/// Wakes a throttled <c>bench</c> source that has nothing due when its next events are. <c>Task.Delay</c> wakes a
/// millisecond late at best (timer resolution) and, on a busy machine, up to ~15 ms late (measured at 50k events/s),
/// so the source either fell short of its rate or released the backlog at once. One thread per source sleeps in
/// <c>nanosleep</c> with its timer slack cut to a microsecond: a wake-up per wait, not a spinning core. One wait at a
/// time (the runtime pulls a source once at a time); a new wait replaces the last.
/// </summary>
internal sealed class BenchPacer : IDisposable
{
    // Waits longer than this sleep on the event (interruptible by a new wait or disposal; ~1 ms resolution is enough
    // for the part of the wait that is not the last millisecond); the rest in nanosleep.
    private static readonly long CoarseTicks = Stopwatch.Frequency / 500;
    private static readonly long MillisecondTicks = Stopwatch.Frequency / 1000;

    private readonly Lock _lock = new();
    private readonly AutoResetEvent _signal = new(false);
    private readonly Thread _thread;
    private TaskCompletionSource? _waiter;
    private long _deadline;
    private bool _disposed;

    public BenchPacer(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The thread is alive (until <see cref="Dispose"/>).</summary>
    public bool IsRunning => _thread.IsAlive;

    /// <summary>
    /// Completes <paramref name="delayNs"/> from now (a few µs late, more on a loaded machine), or cancelled with
    /// <paramref name="cancellationToken"/>. The continuation runs on the pacer's thread: keep it short.
    /// </summary>
    public async Task WaitAsync(ulong delayNs, CancellationToken cancellationToken)
    {
        // Not RunContinuationsAsynchronously: the pull resumes on the pacer's thread at once, with no second hop.
        var waiter = new TaskCompletionSource();
        var deadline = Stopwatch.GetTimestamp() + (long)Math.Min(delayNs * (double)Stopwatch.Frequency / 1e9, long.MaxValue / 2);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _waiter?.TrySetCanceled(CancellationToken.None);
            _waiter = waiter;
            _deadline = deadline;
        }
        _signal.Set();
        using var registration = cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource)state!).TrySetCanceled(token), waiter);
        await waiter.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        // The default slack (50 µs) would make every sleep up to 50 µs late: ask for 1 µs.
        _ = Prctl(PrSetTimerSlack, 1000, 0, 0, 0);
        while (true)
        {
            TaskCompletionSource? waiter;
            long deadline;
            lock (_lock)
            {
                if (_disposed) return;
                waiter = _waiter;
                deadline = _deadline;
            }
            if (waiter is null || waiter.Task.IsCompleted)
            {
                _signal.WaitOne();
                continue;
            }
            var left = deadline - Stopwatch.GetTimestamp();
            if (left > CoarseTicks)
            {
                _signal.WaitOne(TimeSpan.FromSeconds((left - MillisecondTicks) / (double)Stopwatch.Frequency));
                continue;
            }
            if (left > 0)
            {
                // EINTR ends the sleep early: the loop sleeps again for what is left.
                Sleep(left);
                continue;
            }
            lock (_lock)
            {
                if (ReferenceEquals(_waiter, waiter)) _waiter = null;
            }
            waiter.TrySetResult();
        }
    }

    private static void Sleep(long ticks)
    {
        var ns = (long)(ticks * (1e9 / Stopwatch.Frequency));
        var request = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
        _ = NanoSleep(ref request, IntPtr.Zero);
    }

    /// <summary>Ends the thread (a plugin's code must not run on after its instance: its load context could not unload).</summary>
    public void Dispose()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            waiter = _waiter;
            _waiter = null;
        }
        _signal.Set();
        waiter?.TrySetCanceled(CancellationToken.None);
        // From the pacer's own thread (a continuation it ran) the loop ends by itself at its next turn.
        if (Thread.CurrentThread == _thread) return;
        _thread.Join();
        _signal.Dispose();
    }

    private const int PrSetTimerSlack = 29;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code (AllowUnsafeBlocks), which stays in Tremor.Native
    [DllImport("libc", EntryPoint = "nanosleep", SetLastError = true)]
    private static extern int NanoSleep(ref TimeSpec request, IntPtr remaining);

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int Prctl(int option, ulong argument2, ulong argument3, ulong argument4, ulong argument5);
#pragma warning restore SYSLIB1054
}
