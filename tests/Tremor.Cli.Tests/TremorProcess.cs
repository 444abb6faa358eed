using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Tremor.Cli.Tests;

/// <summary>What a user sees of one <c>tremor</c> run.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout split into lines; a last line without its newline is kept (and shows up as not terminated).</summary>
    public IReadOnlyList<string> StdoutLines => Stdout.Length == 0 ? [] : Stdout.TrimEnd('\n').Split('\n');

    /// <summary>Stderr's non-empty lines.</summary>
    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// The built CLI as a real child process (<c>dotnet tremor.dll ARGS</c>), its output read as it comes so a test can
/// wait for the first line without sleeping. A run that outlives its timeout is killed and fails the test.
/// </summary>
internal sealed class TremorProcess : IAsyncDisposable
{
    /// <summary>Generous: a cold start on a busy 2-core machine takes seconds, a run of hello.conf one more.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private const int SigTerm = 15;
    private const int SigInt = 2;
    private const int SigKill = 9;

    private readonly Process _process;
    private readonly string _commandLine;
    private readonly StringBuilder _stdout = new();
    private readonly TaskCompletionSource _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdoutRead;
    private TaskCompletionSource? _stdoutGrew;
    private bool _stdoutClosed;
    private readonly StringBuilder _stderr = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _stderrWaits = [];
    private readonly Task _stderrRead;

    private TremorProcess(IReadOnlyList<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Set on the child only: the test process's environment is shared by every test.
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        start.ArgumentList.Add(Repo.TremorDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        _commandLine = "tremor " + string.Join(' ', args);
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_commandLine}");
        _stdoutRead = ReadStdoutAsync();
        _stderrRead = ReadStderrAsync();
        // Written once the output is being read, so a child answering as it reads never blocks on a full pipe.
        if (stdin is not null) _process.StandardInput.Write(stdin);
        _process.StandardInput.Close();
    }

    /// <summary>Completes when stdout has its first complete line; faults if the process exits before that.</summary>
    public Task FirstLine => _firstLine.Task;

    /// <summary>Starts <c>tremor ARGS</c> in <paramref name="workingDirectory"/> (default: the repository root).</summary>
    public static TremorProcess Start(IReadOnlyList<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null) =>
        new(args, workingDirectory ?? Repo.Root, environment);

    /// <summary>Runs <c>tremor ARGS</c> with <paramref name="stdin"/> as its standard input, to the end.</summary>
    public static async Task<CliResult> RunWithInputAsync(string stdin, params string[] args)
    {
        await using var process = new TremorProcess(args, Repo.Root, null, stdin);
        return await process.WaitAsync(DefaultTimeout);
    }

    /// <summary>Runs <c>tremor ARGS</c> to the end.</summary>
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        await using var process = Start(args);
        return await process.WaitAsync(DefaultTimeout);
    }

    /// <summary>Asks the process to stop the way an init system does.</summary>
    public void Terminate() => Signal(SigTerm);

    /// <summary>Ctrl-C.</summary>
    public void Interrupt() => Signal(SigInt);

    /// <summary>kill -9: no drain, no flush, no handler runs; what was not on disk is gone.</summary>
    public void KillHard() => Signal(SigKill);

    /// <summary>Completes when stdout has at least <paramref name="count"/> complete lines; faults if the process closes it before that.</summary>
    public async Task StdoutLines(int count)
    {
        while (true)
        {
            Task more;
            lock (_stdout)
            {
                if (_stdout.ToString().Count(c => c == '\n') >= count) return;
                if (_stdoutClosed) throw new InvalidOperationException($"`{_commandLine}` closed stdout after fewer than {count} lines\n{_stdout}");
                _stdoutGrew = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                more = _stdoutGrew.Task;
            }
            await more;
        }
    }

    /// <summary>Completes when stderr has a line containing <paramref name="text"/>; faults if the process exits before that.</summary>
    public Task StderrShows(string text)
    {
        lock (_stderr)
        {
            if (_stderr.ToString().Contains(text, StringComparison.Ordinal)) return Task.CompletedTask;
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _stderrWaits.Add((text, seen));
            return seen.Task;
        }
    }

    private void Signal(int signal)
    {
        if (SysKill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill -{signal} {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits for the exit and all output; kills the process and fails the test after <paramref name="timeout"/>.</summary>
    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            Assert.Fail($"`{_commandLine}` did not exit within {timeout.TotalSeconds:0} s and was killed\n{await CollectAsync()}");
        }
        return await CollectAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task<CliResult> CollectAsync()
    {
        await _stdoutRead;
        await _stderrRead;
        string stderr;
        lock (_stderr) stderr = _stderr.ToString();
        lock (_stdout) return new CliResult(_process.ExitCode, _stdout.ToString(), stderr);
    }

    private async Task ReadStderrAsync()
    {
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardError.ReadAsync(buffer)) > 0)
        {
            lock (_stderr)
            {
                _stderr.Append(buffer, 0, n);
                var text = _stderr.ToString();
                foreach (var wait in _stderrWaits.Where(w => text.Contains(w.Text, StringComparison.Ordinal)).ToList())
                {
                    wait.Seen.TrySetResult();
                    _stderrWaits.Remove(wait);
                }
            }
        }
        lock (_stderr)
        {
            foreach (var wait in _stderrWaits) wait.Seen.TrySetException(new InvalidOperationException($"`{_commandLine}` closed stderr without showing '{wait.Text}'\n{_stderr}"));
        }
    }

    private async Task ReadStdoutAsync()
    {
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardOutput.ReadAsync(buffer)) > 0)
        {
            TaskCompletionSource? grew;
            lock (_stdout)
            {
                _stdout.Append(buffer, 0, n);
                grew = _stdoutGrew;
            }
            grew?.TrySetResult();
            if (Array.IndexOf(buffer, '\n', 0, n) >= 0) _firstLine.TrySetResult();
        }
        TaskCompletionSource? last;
        lock (_stdout)
        {
            _stdoutClosed = true;
            last = _stdoutGrew;
        }
        last?.TrySetResult();
        _firstLine.TrySetException(new InvalidOperationException($"`{_commandLine}` closed stdout before printing a line"));
    }

    // kill(2) directly: SIGTERM without spawning /bin/kill.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
