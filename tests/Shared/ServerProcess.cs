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
    private Process? _process;

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

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir.Path,
        };
        foreach (var argument in _arguments(this)) info.ArgumentList.Add(argument);
        Configure?.Invoke(info);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {_binary}");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready when it accepts a connection; a server that exits instead fails the test with what it printed.
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (process.HasExited) Assert.Fail($"{_binary} exited with {process.ExitCode} at start: {Output}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }

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
