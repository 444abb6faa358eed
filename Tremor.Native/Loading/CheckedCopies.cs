namespace Tremor.Native.Loading;

/// <summary>
/// The content-addressed copies of checked plugin files: the bytes that were hashed and checked, stored under their
/// SHA-256 in a folder only this process's user can write (created per process, removed at exit). The inspector,
/// in-process loads and every isolated start and restart use the copy, so renaming another build over the original
/// file changes nothing until that file is loaded (and checked) again; a different build gets a different path, so
/// the dynamic loader cannot hand back the old library for it either.
/// </summary>
internal static class CheckedCopies
{
    private static readonly Lock s_gate = new();
    private static string? s_directory;

    /// <summary>Stores <paramref name="bytes"/> (whose SHA-256 is <paramref name="sha"/>) and returns the copy's path.</summary>
    public static string Store(byte[] bytes, string sha)
    {
        var target = Path.Combine(Directory(), sha + ".so");
        lock (s_gate)
        {
            if (File.Exists(target)) return target;
            var temporary = target + ".tmp";
            File.WriteAllBytes(temporary, bytes);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            File.Move(temporary, target, overwrite: true);
            return target;
        }
    }

    private static string Directory()
    {
        lock (s_gate)
        {
            if (s_directory is not null && System.IO.Directory.Exists(s_directory)) return s_directory;
            // A fresh folder (mode 0700) rather than a fixed shared name another user could have created first; named
            // with the process id so that one left behind by a killed process is removed by the next.
            RemoveAbandoned();
            s_directory = System.IO.Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-").FullName;
            var created = s_directory;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Remove(created);
            return s_directory;
        }
    }

    private const string Prefix = "tremor-checked-plugins-";

    private static void RemoveAbandoned()
    {
        if (!OperatingSystem.IsLinux()) return;
        foreach (var directory in System.IO.Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var rest = Path.GetFileName(directory)[Prefix.Length..];
            var dash = rest.IndexOf('-');
            if (dash > 0 && int.TryParse(rest.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) && !System.IO.Directory.Exists($"/proc/{pid}")) Remove(directory);
        }
    }

    private static void Remove(string directory)
    {
        try
        {
            // Mapped libraries stay valid after their files are removed.
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
