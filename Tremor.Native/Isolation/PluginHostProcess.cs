using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Native.Isolation;

/// <summary>
/// One running <c>tremor-plugin-host</c> process serving one plugin instance: starts it with a scrubbed environment,
/// does the handshake, sends requests on its stdin and reads frames from its stdout. Every call runs under a watchdog
/// that kills the process group (SIGKILL) after the call-timeout; a call whose process died throws a
/// <see cref="NativePluginException"/> that says how it died (signal, exit code, call-timeout, protocol violation).
/// Death is watched on the process itself (a pidfd polled beside the pipe), not inferred from the end of the pipe:
/// a child the plugin forked keeps the pipe open, it cannot keep the host's death hidden.
/// </summary>
internal sealed unsafe partial class PluginHostProcess : IDisposable
{
    private const long InitialRegionSize = 1 << 20;
    private const int MaxFramePayload = 16 << 20;
    private const int SigKill = 9;

    private readonly Process _process;
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly int _outputFd;
    private readonly int _pidFd;
    private readonly IsolationOptions _options;
    private readonly string _label;
    private readonly IPluginHost _host;
    private readonly ConcurrentDictionary<ulong, EventId>? _pending;
    private readonly HostCpuFollower? _cpu;
    private readonly Lock _gate = new();
    private readonly Timer _watchdog;
    private readonly byte[] _header = new byte[Math.Max(sizeof(HostRequest), sizeof(HostFrameHeader))];
    private readonly byte[] _readBuffer = new byte[16 << 10];
    private int _readStart;
    private int _readEnd;
    private byte[] _payload = new byte[4096];
    private int _payloadLength;
    private bool _inCall;
    private long _callStarted;
    private bool _timedOut;
    private int _diedSignal;
    private ulong _diedVmSize;
    private string? _violation;
    private string? _death;
    private bool _disposed;

    private PluginHostProcess(Process process, SharedRegion region, IsolationOptions options, string label, IPluginHost host, ConcurrentDictionary<ulong, EventId>? pending)
    {
        _process = process;
        _input = process.StandardInput.BaseStream;
        _output = process.StandardOutput.BaseStream;
        _outputFd = _output switch
        {
            PipeStream pipe => (int)pipe.SafePipeHandle.DangerousGetHandle(),
            FileStream file => (int)file.SafeFileHandle.DangerousGetHandle(),
            _ => throw new NotSupportedException($"the plugin host's stdout is a {_output.GetType().Name}, expected a pipe"),
        };
        // -1 when pidfd_open is missing (Linux before 5.3) or the host is gone already: then the reads poll the
        // exit status every 100 ms instead.
        _pidFd = PidFdOpen(process.Id);
        Region = region;
        _options = options;
        _label = label;
        _host = host;
        _pending = pending;
        _watchdog = new Timer(static state => ((PluginHostProcess)state!).OnWatchdog(), this, Timeout.Infinite, Timeout.Infinite);
        _cpu = options.FollowCallerCpu ? HostCpuFollower.Create(process.Id) : null;
    }

    public SharedRegion Region { get; }

    public int ProcessId => _process.Id;

    /// <summary>The CPU the host's serving thread is kept on (<c>host-cpu = follow</c>), or -1 (tests read it).</summary>
    public int HostCpu => _cpu?.Cpu ?? -1;

    /// <summary>The host's ready line (protocol, abi, plugin, "checks passed").</summary>
    public string ReadyLine { get; private set; } = "";

    /// <summary>Why the process is gone, or null while it serves.</summary>
    public string? Death => _death;

    /// <summary>The payload of the last reply (the plugin's error message), valid until the next call.</summary>
    public ReadOnlySpan<byte> ReplyPayload => _payload.AsSpan(0, _payloadLength);

    /// <summary>Starts the host on <paramref name="pluginPath"/> and waits for READY (under the call-timeout).</summary>
    public static PluginHostProcess Start(string hostPath, string pluginPath, IsolationOptions options, string label, IPluginHost host, ConcurrentDictionary<ulong, EventId>? pending)
    {
        var region = new SharedRegion(Math.Min(InitialRegionSize, options.MaxRegionBytes), options.MaxRegionBytes);
        Process? process = null;
        try
        {
            var info = new ProcessStartInfo(hostPath)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
            };
            info.ArgumentList.Add(pluginPath);
            info.ArgumentList.Add(region.FilePath);
            info.ArgumentList.Add((options.MemoryLimitBytes ?? 0).ToString(CultureInfo.InvariantCulture));
            info.ArgumentList.Add(region.MaxSize.ToString(CultureInfo.InvariantCulture));
            // Nothing of the runtime's environment (credentials, tokens) reaches the plugin: only PATH and LANG.
            info.Environment.Clear();
            foreach (var name in (string[])["PATH", "LANG"])
            {
                if (Environment.GetEnvironmentVariable(name) is { } value) info.Environment[name] = value;
            }
            try
            {
                process = Process.Start(info) ?? throw new NativePluginException($"{label}: could not start the plugin host {hostPath}");
            }
            catch (Win32Exception e)
            {
                throw new NativePluginException($"{label}: could not start the plugin host {hostPath}: {e.Message}");
            }
            var child = new PluginHostProcess(process, region, options, label, host, pending);
            process = null; // from here on the child owns (and on failure kills and reaps) it
            try
            {
                child.Handshake(pluginPath);
            }
            catch
            {
                child.Dispose();
                throw;
            }
            return child;
        }
        catch
        {
            if (process is not null && !process.HasExited)
            {
                KillGroup(process.Id);
            }
            region.Dispose();
            throw;
        }
    }

    private void Handshake(string pluginPath)
    {
        Arm();
        HostFrameHeader frame;
        bool read;
        try
        {
            read = TryReadFrame(out frame, handshake: true);
            while (read && frame.Type is HostFrame.Log or HostFrame.Died)
            {
                HandleOutOfBand(frame);
                read = TryReadFrame(out frame, handshake: true);
            }
        }
        finally
        {
            Disarm();
        }
        if (!read) throw Died("handshake");
        var line = Encoding.UTF8.GetString(ReplyPayload);
        Region.Unlink();
        if (frame.Type == HostFrame.Refused)
        {
            var inspection = new NativeInspection(pluginPath, [new NativeCheck("plugin host", false, line)]) { Refusal = line };
            throw new NativePluginRefusedException(inspection);
        }
        if (frame.Type != HostFrame.Ready || frame.Status != 1)
        {
            Kill();
            throw new NativePluginException($"{_label}: plugin host handshake: expected READY with protocol 1, found frame {frame.Type} status {frame.Status}");
        }
        ReadyLine = line;
    }

    /// <summary>
    /// Sends one request and reads frames until its reply (logs and acks on the way are handed to the host).
    /// Throws <see cref="NativePluginException"/> when the process died or was killed by the watchdog.
    /// </summary>
    public HostFrameHeader Call(string call, uint op, uint arg, ReadOnlySpan<byte> payload = default, ulong a = 0, ulong b = 0, ulong c = 0)
    {
        if (_death is not null) throw new NativePluginException($"{_label}: {call}: {_death}");
        ObjectDisposedException.ThrowIf(_disposed, this);
        var request = new HostRequest { Op = op, Arg = arg, Len = (uint)payload.Length, RegionSize = (ulong)Region.Size, A = a, B = b, C = c };
        if (_cpu is not null)
        {
            if (op is HostOp.Sink or HostOp.Pull) _cpu.Follow();
            else _cpu.Release();
        }
        Arm();
        try
        {
            try
            {
                MemoryMarshal.Write(_header, in request);
                _input.Write(_header, 0, sizeof(HostRequest));
                if (!payload.IsEmpty) _input.Write(payload);
                _input.Flush();
            }
            catch (IOException)
            {
                // EPIPE: it is gone; the frames it wrote before dying are still to be read.
            }
            while (true)
            {
                if (!TryReadFrame(out var frame, handshake: false)) break;
                if (frame.Type == HostFrame.Reply)
                {
                    if (Region.Follow(frame.X) is { } wrong)
                    {
                        Violation(wrong);
                        break;
                    }
                    return frame;
                }
                HandleOutOfBand(frame);
            }
        }
        finally
        {
            Disarm();
        }
        throw Died(call);
    }

    /// <summary>The call ends here: a frame broke the protocol. Whatever the child does next is not believed.</summary>
    private void Violation(string what)
    {
        _violation ??= what;
        KillGroup(_process.Id);
    }

    /// <summary>
    /// A call that threw <see cref="NativePluginException"/> for a reply that breaks the protocol (not a death the
    /// plugin host reported): ends the process the same way.
    /// </summary>
    public NativePluginException ProtocolViolation(string call, string what)
    {
        Violation(what);
        return Died(call);
    }

    private NativePluginException Died(string call)
    {
        _death ??= DeathReason();
        return new NativePluginException($"{_label}: {call}: {_death}");
    }

    private string DeathReason()
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
        {
            // Closed its stdout but lives on: not usable any more.
            KillGroup(_process.Id);
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        // What the plugin forked goes with it (it may hold the pipe or the region).
        KillGroup(_process.Id);
        bool timedOut;
        lock (_gate) timedOut = _timedOut;
        if (timedOut) return $"call exceeded call-timeout {FormatDuration(_options.CallTimeout)}: plugin host process killed (SIGKILL)";
        if (_violation is not null) return $"protocol violation: the plugin host {_violation}; plugin host process killed (SIGKILL)";

        var code = _process.HasExited ? _process.ExitCode : -1;
        // .NET reports a death by signal as 128 + signal; the host's DIED frame names the signal for certain.
        var signal = _diedSignal != 0 ? _diedSignal : code > 128 && code < 160 ? code - 128 : 0;
        var how = signal != 0 ? $"killed by signal {signal} ({SignalName(signal)})" : $"exited with code {code}";
        if (_options.MemoryLimitBytes is long limit && limit > 0 && _diedVmSize > 0 &&
            (long)_diedVmSize >= limit - Math.Max(limit / 8, 4L << 20))
        {
            how += $": it exceeded memory-limit {FormatBytes(limit)} (address space {FormatBytes((long)_diedVmSize)} when it died)";
        }
        return $"plugin host process died: {how}";
    }

    private void HandleOutOfBand(in HostFrameHeader frame)
    {
        try
        {
            switch (frame.Type)
            {
                case HostFrame.Log:
                    _host.Log((PluginLogLevel)Math.Clamp(frame.Status, 0, 3), Encoding.UTF8.GetString(ReplyPayload));
                    break;
                case HostFrame.Died:
                    _diedSignal = frame.Status;
                    _diedVmSize = frame.X;
                    break;
                case HostFrame.Ack:
                case HostFrame.Fail:
                    Resolve(frame);
                    break;
                case HostFrame.Shutdown:
                    _host.RequestShutdown(frame.Status, Encoding.UTF8.GetString(ReplyPayload));
                    break;
                case HostFrame.Room:
                    _host.SinkHasRoom();
                    break;
                default:
                    _host.Log(PluginLogLevel.Warning, $"{_label}: plugin host sent an unexpected frame {frame.Type}; ignored");
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failing logger or host must not break the channel.
        }
    }

    private void Resolve(in HostFrameHeader frame)
    {
        var idBytes = (int)Math.Min((long)frame.Count * sizeof(ulong), _payloadLength);
        var ids = MemoryMarshal.Cast<byte, ulong>(ReplyPayload[..idBytes]);
        if (_pending is null)
        {
            _host.Log(PluginLogLevel.Warning, $"{_label}: acked or failed {ids.Length} ids but does not declare TREMOR_FLAG_ASYNC_SINK; ignored");
            return;
        }
        var resolved = new List<EventId>(ids.Length);
        foreach (var id in ids)
        {
            if (_pending.TryRemove(id, out var eventId)) resolved.Add(eventId);
        }
        if (resolved.Count == 0) return;
        if (frame.Type == HostFrame.Ack) _host.Ack(resolved);
        else _host.Fail(resolved, Encoding.UTF8.GetString(ReplyPayload[idBytes..]));
    }

    /// <summary>
    /// Reads one frame header and its payload into <see cref="ReplyPayload"/>; false when the process died or the
    /// frame broke the protocol (<see cref="Violation"/> recorded which: garbage on the pipe is not a crash).
    /// </summary>
    private bool TryReadFrame(out HostFrameHeader frame, bool handshake)
    {
        frame = default;
        var size = sizeof(HostFrameHeader);
        if (!TryRead(_header.AsSpan(0, size))) return false;
        frame = MemoryMarshal.Read<HostFrameHeader>(_header);
        if (CheckFrame(frame, handshake) is { } wrong)
        {
            Violation(wrong);
            return false;
        }
        var len = (int)frame.Len;
        if (_payload.Length < len) _payload = new byte[Math.Max(len, _payload.Length * 2)];
        _payloadLength = len;
        return len == 0 || TryRead(_payload.AsSpan(0, len));
    }

    /// <summary>What is wrong with a frame header the child wrote, or null (every count and length is checked before use).</summary>
    private static string? CheckFrame(in HostFrameHeader frame, bool handshake)
    {
        if (frame.Type is < HostFrame.Ready or > HostFrame.Room) return $"sent a frame of unknown type {frame.Type} (0x{frame.Type:X8})";
        if (frame.Len > MaxFramePayload) return $"sent a frame of {frame.Len} bytes, more than {MaxFramePayload}";
        if (!handshake && frame.Type is HostFrame.Ready or HostFrame.Refused) return $"sent a handshake frame ({frame.Type}) after the handshake";
        if (frame.Type is HostFrame.Ack or HostFrame.Fail && (ulong)frame.Count * sizeof(ulong) > frame.Len)
        {
            return $"sent {frame.Count} ids in a frame of {frame.Len} bytes";
        }
        if (frame.Type == HostFrame.Ack && (ulong)frame.Count * sizeof(ulong) != frame.Len) return $"sent {frame.Count} acked ids in a frame of {frame.Len} bytes";
        return null;
    }

    /// <summary>
    /// Reads the acks and fails an asynchronous plugin sends from its own threads between calls until none is
    /// outstanding, the process is gone, or call-timeout passed. Only between calls (the caller makes calls one at a
    /// time): at a sink's end nothing else would carry them.
    /// </summary>
    public void AwaitSettlements()
    {
        if (_pending is null || _death is not null) return;
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.CallTimeout.TotalSeconds * Stopwatch.Frequency);
        Span<PollFd> fds = stackalloc PollFd[1];
        while (!_pending.IsEmpty)
        {
            if (_readEnd <= _readStart)
            {
                var left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0) return;
                var ms = (int)Math.Clamp(left * 1000 / Stopwatch.Frequency, 1, int.MaxValue);
                fds[0] = new PollFd { Fd = _outputFd, Events = PollIn };
                int ready;
                fixed (PollFd* p = fds) ready = Poll(p, 1, ms);
                if (ready < 0 && Marshal.GetLastPInvokeError() == EIntr) continue;
                if (ready <= 0) return;
            }
            if (!TryReadFrame(out var frame, handshake: false)) return;
            HandleOutOfBand(frame);
        }
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> from the pipe; false when the process is gone and the pipe holds nothing more.
    /// Every wait polls the pipe and the process (pidfd) together, so the process's death ends the wait even while
    /// something else (a child the plugin forked) keeps the pipe's write end open. Reads go through a small buffer:
    /// a frame header and its payload usually arrive with one poll and one read.
    /// </summary>
    private bool TryRead(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (_readEnd > _readStart)
            {
                var n = Math.Min(buffer.Length, _readEnd - _readStart);
                _readBuffer.AsSpan(_readStart, n).CopyTo(buffer);
                _readStart += n;
                buffer = buffer[n..];
                continue;
            }
            _readStart = _readEnd = 0;
            // A large payload goes straight to its destination; anything smaller through the buffer.
            var direct = buffer.Length >= _readBuffer.Length;
            var read = ReadSome(direct ? buffer : _readBuffer);
            if (read <= 0) return false;
            if (direct) buffer = buffer[read..];
            else _readEnd = read;
        }
        return true;
    }

    /// <summary>One read of what is there, after waiting for data or the process's death; 0 when it is gone.</summary>
    private int ReadSome(Span<byte> into)
    {
        Span<PollFd> fds = stackalloc PollFd[2];
        while (true)
        {
            fds[0] = new PollFd { Fd = _outputFd, Events = PollIn };
            fds[1] = new PollFd { Fd = _pidFd, Events = PollIn };
            int ready;
            fixed (PollFd* p = fds) ready = Poll(p, _pidFd >= 0 ? 2u : 1u, _pidFd >= 0 ? -1 : 100);
            if (ready < 0)
            {
                if (Marshal.GetLastPInvokeError() == EIntr) continue;
                return 0;
            }
            // Data first: the frames a dying host wrote (its DIED frame) are read before its death is believed.
            if ((fds[0].REvents & (PollIn | PollHup | PollErr)) != 0)
            {
                nint n;
                fixed (byte* p = into) n = Read(_outputFd, p, (nuint)into.Length);
                if (n < 0 && Marshal.GetLastPInvokeError() == EIntr) continue;
                return n <= 0 ? 0 : (int)n;
            }
            if (_pidFd >= 0 ? (fds[1].REvents & PollIn) != 0 : ready == 0 && _process.HasExited) return 0;
        }
    }

    private void Arm()
    {
        lock (_gate)
        {
            _inCall = true;
            _callStarted = Stopwatch.GetTimestamp();
        }
        _watchdog.Change(_options.CallTimeout, Timeout.InfiniteTimeSpan);
    }

    private void Disarm()
    {
        lock (_gate) _inCall = false;
    }

    private void OnWatchdog()
    {
        lock (_gate)
        {
            if (!_inCall || _disposed) return;
            var left = _options.CallTimeout - Stopwatch.GetElapsedTime(_callStarted);
            if (left > TimeSpan.FromMilliseconds(1))
            {
                // A stale firing from an earlier call: wait for the rest of this one's time.
                _watchdog.Change(left, Timeout.InfiniteTimeSpan);
                return;
            }
            _timedOut = true;
        }
        KillGroup(_process.Id);
    }

    /// <summary>SIGKILL to the host's process group, for a child that must not run on (handshake failure, disposal).</summary>
    public void Kill() => KillGroup(_process.Id);

    /// <summary>
    /// SIGKILL to the host's process group (the host and whatever the plugin forked), then to the host itself in case
    /// it died before it made its group. The group id cannot be someone else's: Linux does not reuse a pid while a
    /// process group of that id exists, and the host is not reaped before this runs.
    /// </summary>
    private static void KillGroup(int pid)
    {
        _ = Kill(-pid, SigKill);
        _ = Kill(pid, SigKill);
    }

    /// <summary>Closes the channel (the host destroys its instance and exits), waits briefly, kills, reaps.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _watchdog.Dispose();
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
        if (!_process.WaitForExit(_options.CallTimeout))
        {
            KillGroup(_process.Id);
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        // A clean exit still leaves what the plugin forked: the group goes with the instance.
        KillGroup(_process.Id);
        if (_pidFd >= 0) _ = Close(_pidFd);
        _output.Dispose();
        _process.Dispose();
        Region.Dispose();
    }

    private const short PollIn = 0x001;
    private const short PollErr = 0x008;
    private const short PollHup = 0x010;
    private const int EIntr = 4;
    private const long SysPidFdOpen = 434; // the same number on x86_64, arm64 and every newer architecture

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    private static int PidFdOpen(int pid)
    {
        var fd = Syscall(SysPidFdOpen, pid, 0);
        return fd < 0 ? -1 : (int)fd;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int pid, uint flags);

    internal static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => $"signal {signal}",
    };

    internal static string FormatBytes(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30}GiB"
        : bytes % (1L << 20) == 0 ? $"{bytes >> 20}MiB"
        : bytes >= 1L << 20 ? $"{(bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture)}MiB"
        : $"{bytes}B";

    internal static string FormatDuration(TimeSpan duration) =>
        duration.TotalMilliseconds % 1000 == 0 ? $"{(long)duration.TotalSeconds}s" : $"{(long)duration.TotalMilliseconds}ms";
}
