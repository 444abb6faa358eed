using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Tremor.Connectors.Testing;

/// <summary>
/// A real server (mosquitto, redis-server, ...) started by a test as a plain process on a free loopback port, in a
/// temp dir of its own; stopped with SIGTERM (so it saves what it persists) and started again on the same port.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly string _binary;
    private readonly Func<ServerProcess, IEnumerable<string>> _arguments;
    private readonly StringBuilder _output = new();
    private const int TailLines = 20;
    private Process? _process;
    private IReadOnlyList<string> _lastArguments = [];

    public ServerProcess(string binary, Func<ServerProcess, IEnumerable<string>> arguments)
    {
        _binary = binary;
        _arguments = arguments;
        Port = FreePort();
    }

    public TempDir Dir { get; } = new();

    public int Port { get; }

    /// <summary>Sets what else the server needs to start (environment variables), before each start.</summary>
    public Action<ProcessStartInfo>? Configure { get; init; }

    /// <summary>The signal that stops it cleanly: SIGTERM, or what the server wants (PostgreSQL: SIGINT, a fast shutdown).</summary>
    public int StopSignal { get; init; } = 15;

    /// <summary>How long a start may take until the port accepts connections (an Erlang node takes seconds).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The server's binary: the first candidate that exists, else the name on PATH. A missing server fails the test with
    /// what to install: these tests never pass by doing nothing.
    /// </summary>
    public static string Find(string name, string debianPackage, params string[] candidates)
    {
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path)) return path;
        }
        Assert.Fail($"'{name}' was not found (looked in {string.Join(", ", candidates)} and PATH): install the Debian package " +
                    $"'{debianPackage}' (apt-get install -y {debianPackage}; ./test.sh installs it when missing)");
        return "";
    }

    /// <summary>
    /// Ready beyond accepting connections (PostgreSQL accepts before it answers queries): polled after the port
    /// accepts, within the same <see cref="StartTimeout"/>.
    /// </summary>
    public Func<Task<bool>>? ReadyWhen { get; init; }

    /// <summary>What it runs, as a shell would show it (for errors).</summary>
    public string CommandLine => Quote(_binary, _lastArguments);

    /// <summary>
    /// Starts it and waits until it accepts a connection on <see cref="Port"/> (and <see cref="ReadyWhen"/> holds). A
    /// server that exits instead, or is not up within <see cref="StartTimeout"/>, fails the test naming it, its command
    /// and the tail of what it printed.
    /// </summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir.Path,
        };
        _lastArguments = [.. _arguments(this)];
        foreach (var argument in _lastArguments) info.ArgumentList.Add(argument);
        Configure?.Invoke(info);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {CommandLine}");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + StartTimeout;
        while (!await AcceptsAsync() || (ReadyWhen is { } ready && !await ready()))
        {
            if (process.HasExited)
            {
                _process = null;
                // The output readers finish with the process: the last lines are in before they are shown.
                await process.WaitForExitAsync();
                Assert.Fail(NotUp($"exited with {process.ExitCode} at start"));
            }
            if (DateTime.UtcNow > deadline)
            {
                await StopAsync();
                Assert.Fail(NotUp($"was not up within {StartTimeout.TotalSeconds:0}s (accepting on 127.0.0.1:{Port}{(ReadyWhen is null ? "" : " and ready")})"));
            }
            await Task.Delay(20);
        }
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private string NotUp(string what) =>
        $"{Path.GetFileName(_binary)} {what}: {CommandLine} (in {Dir.Path}); the last lines it printed:{Environment.NewLine}{Tail(Output)}";

    /// <summary>
    /// Runs a setup command to its end (PostgreSQL's initdb); one that fails fails the test naming it, its command and
    /// the tail of what it printed.
    /// </summary>
    public static async Task RunAsync(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var command = Quote(info.FileName, info.ArgumentList);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"{Path.GetFileName(info.FileName)} failed with {process.ExitCode}: {command}; the last lines it printed:{Environment.NewLine}{Tail(await output + await errors)}");
        }
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(nothing)" : string.Join(Environment.NewLine, lines[Math.Max(0, lines.Length - TailLines)..]);
    }

    private static string Quote(string binary, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { binary }.Concat(arguments).Select(a => a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:@,".Contains(c)) ? a : $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'"));

    /// <summary><see cref="StopSignal"/>, then waits for the exit (a server flushes its persistence on it).</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        if (!process.HasExited)
        {
            _ = Kill(process.Id, StopSignal);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        process.Dispose();
    }

    /// <summary>True between a start and a stop (a test that stops the server restarts it in a finally).</summary>
    public bool IsRunning => _process is { HasExited: false };

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>A server here is stopped and started again on its port: see <see cref="Tremor.Tests.StablePort"/>.</summary>
    public static int FreePort() => Tremor.Tests.StablePort.Pick();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Dir.Dispose();
    }
}

/// <summary>
/// A test fixture that is one <see cref="ServerProcess"/>: started before its tests (<see cref="InitializeAsync"/>),
/// stopped after them and its temp dir removed. A server that needs more than its process (a database cluster made
/// first) overrides the start.
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    internal abstract ServerProcess Server { get; }

    public virtual Task InitializeAsync() => Server.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
