using System.Runtime.InteropServices;

namespace Tremor.Connectors.File;

/// <summary>
/// Which file a path or an open handle is, independent of its name: device and inode (from <c>statx</c>, whose
/// struct has one layout on every Linux architecture), so a file keeps its identity when renamed by a rotation.
/// Inodes are reused once a file is deleted, so a checkpoint also keeps the file's first bytes (see
/// <see cref="FileCheckpoint"/>).
/// </summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxSize = 256;

    /// <summary>The identity and size of what <paramref name="path"/> names now, or null when there is nothing there.</summary>
    public static (FileIdentity Identity, long Size)? Of(string path)
    {
        var buffer = new byte[StatxSize];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0) return null;
        return Read(buffer);
    }

    /// <summary>The identity and size of the file behind an open handle (it may have been renamed or deleted since).</summary>
    public static (FileIdentity Identity, long Size) Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string name)
    {
        var buffer = new byte[StatxSize];
        var fd = (int)handle.DangerousGetHandle();
        if (Statx(fd, "", AtEmptyPath, StatxBasicStats, buffer) != 0)
        {
            throw new IOException($"file '{name}': statx failed with errno {Marshal.GetLastPInvokeError()}");
        }
        return Read(buffer);
    }

    /// <summary>Where an open handle's file is now (after a rename), or null when it was deleted or cannot be told.</summary>
    public static string? CurrentPath(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        try
        {
            var target = new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
            return target is null || target.EndsWith(" (deleted)", StringComparison.Ordinal) ? null : target;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static (FileIdentity, long) Read(byte[] statx)
    {
        // struct statx: stx_ino at 32, stx_size at 40, stx_dev_major at 136, stx_dev_minor at 140.
        var inode = BitConverter.ToUInt64(statx, 32);
        var size = BitConverter.ToInt64(statx, 40);
        var device = ((ulong)BitConverter.ToUInt32(statx, 136) << 32) | BitConverter.ToUInt32(statx, 140);
        return (new FileIdentity(device, inode), size);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code (AllowUnsafeBlocks), which stays in Tremor.Native
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054

    /// <inheritdoc />
    public override string ToString() => $"{Device:x}:{Inode}";
}
