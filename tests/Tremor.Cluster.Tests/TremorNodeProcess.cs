using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tremor.Cluster.Tests;

/// <summary>
/// One <c>tremor run NODE.conf</c> child process in a working directory of its own (so its relative file paths are
/// its own); its output is kept for the failure message.
/// </summary>
internal sealed class TremorNodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TremorNodeProcess(string directory, string configFile)
    {
        Directory = directory;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test project references Tremor.Cli, so the build copies tremor.dll next to the tests.
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tremor.dll"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add(configFile);
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start tremor run {configFile}");
        _process.StandardInput.Close();
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The node's working directory.</summary>
    public string Directory { get; }

    /// <summary>Whether the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What it printed so far (stdout and stderr, interleaved).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Starts <c>tremor run</c> on <paramref name="configText"/>, written to <c>node.conf</c> in <paramref name="directory"/>.</summary>
    public static TremorNodeProcess Start(string directory, string configText)
    {
        System.IO.Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "node.conf");
        File.WriteAllText(file, configText);
        return new TremorNodeProcess(directory, file);
    }

    /// <summary>SIGKILL: no drain, no leave; the cluster has to notice.</summary>
    public void KillHard() => _process.Kill();

    /// <summary>A loopback port that was free a moment ago, below the ephemeral range and never handed out twice (two nodes of a test once got the same one).</summary>
    public static int FreePort() => Tremor.Tests.StablePort.Pick();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
