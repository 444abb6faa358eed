using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tremor.Native.Isolation;

/// <summary>
/// The memory a plugin host process shares with this process: a memfd (or, without memfd, a file in /dev/shm) mapped
/// by both. Batches are copied into it once; it grows (file length, then a new mapping on both sides) when a batch or
/// a pull needs more, never beyond <see cref="MaxSize"/> (max-region-size), whoever asks. The memfd is sealed against
/// shrinking: a child that truncated the file under this process's mapping would turn its next access into SIGBUS.
/// </summary>
internal sealed unsafe partial class SharedRegion : IDisposable
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapShared = 1;

    private const uint MfdCloexec = 1;
    private const uint MfdAllowSealing = 2;
    private const int FAddSeals = 1033;
    private const int FSealSeal = 1;
    private const int FSealShrink = 2;

    private readonly FileStream? _stream;
    private readonly SafeFileHandle _file;
    private bool _unlinked;

    public SharedRegion(long size, long maxSize)
    {
        MaxSize = Math.Max(maxSize, RoundUp(size));
        var memfd = OperatingSystem.IsLinux() ? MemfdCreate("tremor-plugin-region", MfdCloexec | MfdAllowSealing) : -1;
        if (memfd >= 0)
        {
            // The child opens it through this process's descriptor table (same inode, same seals); nothing to unlink.
            _file = new SafeFileHandle(memfd, ownsHandle: true);
            FilePath = $"/proc/{Environment.ProcessId}/fd/{memfd}";
            _unlinked = true;
        }
        else
        {
            var directory = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
            FilePath = Path.Combine(directory, $"tremor-plugin-{Environment.ProcessId}-{Guid.NewGuid():N}");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            _stream = new FileStream(FilePath, options);
            _file = _stream.SafeFileHandle;
        }
        try
        {
            Remap(RoundUp(size), setLength: true);
            if (memfd >= 0 && Fcntl(memfd, FAddSeals, FSealShrink | FSealSeal) != 0)
            {
                throw new IOException($"sealing the shared region against shrinking failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The file the plugin host opens; a /dev/shm file is removed once the host has it open (<see cref="Unlink"/>).</summary>
    public string FilePath { get; }

    public byte* Pointer { get; private set; }

    public long Size { get; private set; }

    /// <summary>The configured bound (max-region-size): the region never grows beyond it.</summary>
    public long MaxSize { get; }

    /// <summary>Makes the region at least <paramref name="needed"/> bytes (this side grows the file); false beyond <see cref="MaxSize"/>.</summary>
    public bool EnsureCapacity(long needed)
    {
        if (needed <= Size) return true;
        if (needed > MaxSize) return false;
        var size = Size;
        while (size < needed) size *= 2;
        Remap(Math.Min(RoundUp(size), MaxSize), setLength: true);
        return true;
    }

    /// <summary>
    /// Follows a growth the plugin host made (it grew the file for a large pull). The size comes from the child: it is
    /// believed only within <see cref="MaxSize"/> and the file's real length (mapping past the end of the file would
    /// turn the first access into SIGBUS in this process). Returns what was wrong, or null.
    /// </summary>
    public string? Follow(ulong size)
    {
        if (size <= (ulong)Size) return null;
        if (size > (ulong)MaxSize) return $"reported a shared region of {size} bytes, more than max-region-size {MaxSize}";
        var length = RandomAccess.GetLength(_file);
        if ((ulong)length < size) return $"reported a shared region of {size} bytes, but the file holds {length}";
        Remap((long)size, setLength: false);
        return null;
    }

    public void Unlink()
    {
        if (_unlinked) return;
        _unlinked = true;
        try
        {
            File.Delete(FilePath);
        }
        catch (IOException)
        {
        }
    }

    private void Remap(long size, bool setLength)
    {
        if (setLength) RandomAccess.SetLength(_file, size);
        Unmap();
        var p = Mmap(0, (nuint)size, ProtRead | ProtWrite, MapShared, (int)_file.DangerousGetHandle(), 0);
        if (p == -1) throw new IOException($"mmap of the shared region {FilePath} ({size} bytes) failed: errno {Marshal.GetLastPInvokeError()}");
        Pointer = (byte*)p;
        Size = size;
    }

    private void Unmap()
    {
        if (Pointer != null) _ = Munmap((nint)Pointer, (nuint)Size);
        Pointer = null;
        Size = 0;
    }

    private static long RoundUp(long size) => Math.Max(4096, (size + 4095) & ~4095L);

    /// <summary>True when the region cannot shrink under this process (a sealed memfd).</summary>
    public bool Sealed => _stream is null;

    public void Dispose()
    {
        Unmap();
        if (_stream is not null) _stream.Dispose();
        else _file.Dispose();
        Unlink();
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);
}
