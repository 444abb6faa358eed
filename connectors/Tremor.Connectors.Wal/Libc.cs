using System.Runtime.InteropServices;

namespace Tremor.Connectors.Wal;

/// <summary>The few libc calls the wal's files need that .NET does not offer (<c>O_DIRECT</c>, <c>O_DSYNC</c>).</summary>
internal static partial class Libc
{
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EINVAL = 22;
    public const int ORdWr = 0x2, OCreat = 0x40, ODsync = 0x1000, OCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(int fd, IntPtr buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, IntPtr buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(int fd, ReadOnlySpan<byte> buffer, nuint count, long offset);

    /// <summary>The last call's errno as an exception naming what failed on which file.</summary>
    public static IOException Error(string what, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what} of {path} failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }
}
