using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace Tremor.Connectors.Wal;

/// <summary>
/// FasterLog's segment files, written past the page cache: Linux <c>O_DIRECT</c>, with <c>O_DSYNC</c> as FASTER's own
/// managed device opens them (a write completes once the device has it). FASTER keeps its pages sector-aligned in
/// memory and flushes whole sectors, so the kernel takes the bytes straight from the log's buffers: no copy into the
/// page cache, no dirty pages to write back, none to drop when a truncated segment is deleted. Measured on the wal
/// flow (BENCHMARKS.md, issue 15): those were ~12 % of its CPU. A write <c>O_DIRECT</c> refuses (<c>EINVAL</c>: a
/// file system without it, an unaligned request) and every read go through a buffered descriptor of the same file
/// (reads gain from read-ahead: a recovery of 1.2 GiB took 0.9–1.1 s against 1.1–1.3 s direct, from a cold cache).
/// Files are named as FASTER's device names them, so a wal written by either device opens with the other.
/// </summary>
internal sealed class DirectDevice : StorageDeviceBase
{
    /// <summary>A sector of 4 KiB satisfies <c>O_DIRECT</c>'s alignment on any common block device.</summary>
    public const uint Sector = 4096;

    private readonly ConcurrentDictionary<int, Segment> _segments = new();
    private readonly int _direct;
    private volatile bool _disposed;

    private DirectDevice(string filename, int direct)
        : base(filename, Sector, Devices.CAPACITY_UNSPECIFIED)
    {
        _direct = direct;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(filename))!);
    }

    /// <summary>
    /// The device for <paramref name="filename"/> (a prefix: segments are <c>NAME.0</c>, <c>NAME.1</c> …), or null where
    /// this process cannot ask for direct I/O (not Linux, or an architecture whose flag value is not known here).
    /// </summary>
    public static DirectDevice? TryCreate(string filename) =>
        OperatingSystem.IsLinux() && DirectFlag() is { } direct ? new DirectDevice(filename, direct) : null;

    private static int? DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    /// <summary>Whether some write has gone through the page cache because <c>O_DIRECT</c> refused it (for tests).</summary>
    public bool FellBack { get; private set; }

    /// <inheritdoc />
    public override bool Throttle() => false;

    /// <inheritdoc />
    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        HandleCapacity(segmentId);
        var request = new Request(this, segmentId, sourceAddress, (long)destinationAddress, numBytesToWrite, callback, context, write: true);
        ThreadPool.UnsafeQueueUserWorkItem(static r => r.Run(), request, preferLocal: false);
    }

    /// <inheritdoc />
    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        var request = new Request(this, segmentId, destinationAddress, (long)sourceAddress, readLength, callback, context, write: false);
        ThreadPool.UnsafeQueueUserWorkItem(static r => r.Run(), request, preferLocal: false);
    }

    /// <inheritdoc />
    public override void RemoveSegment(int segment)
    {
        if (_segments.TryRemove(segment, out var open)) open.Dispose();
        try
        {
            File.Delete(GetSegmentFilename(FileName, segment));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // As FASTER's own device: a segment that cannot be deleted now is left; the log no longer refers to it.
        }
    }

    /// <inheritdoc />
    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    /// <inheritdoc />
    public override long GetFileSize(int segment)
    {
        if (segmentSize > 0) return segmentSize;
        var info = new FileInfo(GetSegmentFilename(FileName, segment));
        return info.Exists ? info.Length : 0;
    }

    /// <inheritdoc />
    public override void Reset()
    {
        foreach (var id in _segments.Keys)
        {
            if (_segments.TryRemove(id, out var open)) open.Dispose();
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _disposed = true;
        Reset();
    }

    private Segment Open(int segmentId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _segments.GetOrAdd(segmentId, static (id, device) => new Segment(device.GetSegmentFilename(device.FileName, id), device._direct), this);
    }

    /// <summary>One segment file's descriptors: the direct one opened with the segment, the buffered one when first needed.</summary>
    private sealed class Segment(string path, int directFlag) : IDisposable
    {
        private readonly Lock _lock = new();
        private SafeFileHandle? _direct;
        private SafeFileHandle? _buffered;
        private bool _directRefused;
        private bool _disposed;

        /// <summary>The descriptor to use: the direct one unless the file system refused it.</summary>
        public SafeFileHandle Get(bool buffered)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!buffered && !_directRefused)
                {
                    if (_direct is not null) return _direct;
                    var fd = Libc.Open(path, Libc.ORdWr | Libc.OCreat | Libc.ODsync | Libc.OCloexec | directFlag, 420);
                    if (fd >= 0) return _direct = new SafeFileHandle(fd, ownsHandle: true);
                    if (Marshal.GetLastPInvokeError() != Libc.EINVAL) throw Libc.Error("open", path);
                    _directRefused = true; // a file system without O_DIRECT (tmpfs): buffered from now on
                }
                if (_buffered is not null) return _buffered;
                var plain = Libc.Open(path, Libc.ORdWr | Libc.OCreat | Libc.ODsync | Libc.OCloexec, 420);
                if (plain < 0) throw Libc.Error("open", path);
                return _buffered = new SafeFileHandle(plain, ownsHandle: true);
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                _direct?.Dispose();
                _buffered?.Dispose();
                _direct = _buffered = null;
            }
        }
    }

    private sealed class Request(DirectDevice device, int segmentId, IntPtr buffer, long offset, uint length, DeviceIOCompletionCallback callback, object context, bool write)
    {
        public void Run()
        {
            uint error = 0;
            uint done = 0;
            try
            {
                var segment = device.Open(segmentId);
                // Reads go through the page cache: they are rare (a recovery's check, the replay after it, retries) and
                // gain from its read-ahead, and the replay reads again what the check just read.
                var result = Transfer(segment.Get(buffered: !write));
                if (write && result.Errno == Libc.EINVAL)
                {
                    // O_DIRECT refused this write (its alignment): the same bytes through the page cache.
                    device.FellBack = true;
                    result = Transfer(segment.Get(buffered: true));
                }
                (error, done) = result.Errno == 0 ? (0u, result.Bytes) : ((uint)result.Errno, 0u);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                error = e is IOException { HResult: > 0 } io ? (uint)io.HResult : uint.MaxValue;
            }
            callback(error, done, context);
        }

        /// <summary>The whole request on <paramref name="handle"/>: short transfers continued, interrupted calls repeated; a read stops at the end of the file.</summary>
        private (int Errno, uint Bytes) Transfer(SafeFileHandle handle)
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                var fd = (int)handle.DangerousGetHandle();
                uint total = 0;
                while (total < length)
                {
                    var n = write
                        ? Libc.PWrite(fd, buffer + (nint)total, length - total, offset + total)
                        : Libc.PRead(fd, buffer + (nint)total, length - total, offset + total);
                    if (n < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == Libc.EINTR) continue;
                        return (errno, total);
                    }
                    if (n == 0)
                    {
                        if (write) return (Libc.EIO, total);
                        break; // the end of the file: a read returns what there was, as FASTER's device does
                    }
                    total += (uint)n;
                }
                return (0, total);
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
    }
}
