using System.Runtime.InteropServices;

namespace Tremor.Connectors.Net;

/// <summary>What sits at a path, as lstat sees it (a link is not followed).</summary>
internal enum FileKind
{
    Missing,
    Socket,
    Regular,
    Directory,
    Link,
    Other,
}

/// <summary>
/// The type of a file without opening it: .NET reports directories and links but not sockets, and a unix socket
/// server must tell a stale socket (safe to remove) from a regular file someone put there. Reads the mode with
/// Linux' statx, whose layout is the same on every architecture.
/// </summary>
internal static class FileKinds
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28; // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode
    private const int Enoent = 2;
    private const int Enotdir = 20;

    public static FileKind Of(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Elsewhere only what .NET can tell: never guess "socket".
            if (Directory.Exists(path)) return FileKind.Directory;
            return File.Exists(path) ? FileKind.Other : FileKind.Missing;
        }
        var buffer = new byte[256];
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Enoent or Enotdir) return FileKind.Missing;
            throw new IOException($"cannot inspect '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var mode = BitConverter.ToUInt16(buffer, ModeOffset) & 0xF000;
        return mode switch
        {
            0xC000 => FileKind.Socket,
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Link,
            _ => FileKind.Other,
        };
    }

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.Link => "a symbolic link",
        FileKind.Other => "a device, pipe or other special file",
        FileKind.Socket => "a socket",
        _ => "nothing",
    };

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int statx(int dirfd, string pathname, int flags, uint mask, byte[] statxbuf);
}
