using System.Text;

namespace Tremor.Actors.Connectors;

/// <summary>
/// <c>tremor.data-dir</c>: where connectors keep what must survive a restart (write-ahead logs, key-value data, read
/// checkpoints), one folder per connector instance. The first connector that asks takes an exclusive lock on
/// <c>DATA-DIR/.lock</c> for the life of the runtime, so two runtimes never write the same state; the second is refused
/// with the first one's pid. Runtimes that never ask (no durable connector) never create or lock the directory.
/// </summary>
public sealed class DataDirectory : IDisposable
{
    /// <summary>The lock file's name inside the data directory.</summary>
    public const string LockFileName = ".lock";

    /// <summary>The file beside the lock naming the pid of the runtime that holds it.</summary>
    public const string OwnerFileName = ".owner";

    private readonly Lock _gate = new();
    private FileStream? _lock;
    private bool _disposed;

    /// <summary>A data directory at <paramref name="root"/> (relative paths resolve against the working directory).</summary>
    public DataDirectory(string root) => Root = Path.GetFullPath(root);

    /// <summary>The absolute path of the data directory.</summary>
    public string Root { get; }

    /// <summary>
    /// The folder of connector <paramref name="alias"/> (<c>flow::connector</c>), created if missing:
    /// <c>ROOT/flows/FLOW/CONNECTOR</c>. Takes the directory's lock on first use.
    /// </summary>
    /// <exception cref="InvalidOperationException">The directory is locked by another runtime, or cannot be created.</exception>
    public string ForConnector(string alias)
    {
        var separator = alias.IndexOf("::", StringComparison.Ordinal);
        var flow = separator < 0 ? "_" : alias[..separator];
        var connector = separator < 0 ? alias : alias[(separator + 2)..];
        var path = Path.Combine(Root, "flows", flow, connector);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            AcquireLock();
            try
            {
                Directory.CreateDirectory(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"cannot create the state directory '{path}' for {alias}: {e.Message}; check tremor.data-dir and its permissions", e);
            }
        }
        return path;
    }

    /// <summary>
    /// Takes the lock now if the directory already exists (a runtime restarted on its state), so a second runtime is
    /// refused at start instead of at its first durable connector.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another runtime holds the lock.</exception>
    public void LockIfPresent()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Directory.Exists(Root)) AcquireLock();
        }
    }

    private void AcquireLock()
    {
        if (_lock is not null) return;
        var lockPath = Path.Combine(Root, LockFileName);
        try
        {
            Directory.CreateDirectory(Root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot create the data directory '{Root}' (tremor.data-dir): {e.Message}; choose a writable directory", e);
        }
        try
        {
            // FileShare.None is an exclusive flock on Unix: held until this runtime exits or disposes it, released by
            // the kernel when the process dies (also by kill -9), so a stale file never blocks a restart.
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new InvalidOperationException($"the data directory '{Root}' (tremor.data-dir) is in use by another tremor{Holder()}; stop it, or give this one another data-dir");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidOperationException($"cannot lock the data directory '{Root}' (tremor.data-dir): {e.Message}; choose a writable directory", e);
        }
        // The pid goes to a file of its own: the locked file cannot be read by the runtime that is refused.
        File.WriteAllText(Path.Combine(Root, OwnerFileName), $"{Environment.ProcessId}\n", Encoding.ASCII);
    }

    private string Holder()
    {
        try
        {
            var pid = File.ReadAllText(Path.Combine(Root, OwnerFileName)).Trim();
            return pid.Length > 0 && pid.All(char.IsAsciiDigit) ? $" (pid {pid})" : "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Releases the lock (the runtime stopped).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _lock?.Dispose();
            _lock = null;
        }
    }
}
