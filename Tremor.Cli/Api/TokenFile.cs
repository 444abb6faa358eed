using System.Security.Cryptography;

namespace Tremor.Cli.Api;

/// <summary>
/// Writes the API token so that nobody else can read it and nothing already at the path is written through: a new
/// file created exclusively (O_CREAT|O_EXCL, which also refuses a symbolic link) with mode 0600 from the start, then
/// renamed over the path. The rename replaces the name itself, so an old 0644 file or a descriptor someone opened on
/// it earlier never sees the new token, and a symbolic link is never followed.
/// </summary>
internal static class TokenFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="token"/> to <paramref name="path"/>; throws <see cref="IOException"/> saying why it will not.</summary>
    public static void Write(string path, string token)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, OwnerOnly | UnixFileMode.UserExecute);
        }
        var existing = new FileInfo(full);
        if (existing.LinkTarget is not null)
        {
            throw new IOException($"{full} is a symbolic link (to {existing.LinkTarget}); the token is not written through it: remove the link or set tremor.api.token-file to another path");
        }
        if (Directory.Exists(full)) throw new IOException($"{full} is a directory; set tremor.api.token-file to a file path");
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(token);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
