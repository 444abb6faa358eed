using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Native.Isolation;

namespace Tremor.Native.Loading;

/// <summary>What the inspector process reported: a snapshot of the descriptor, or why there is none.</summary>
/// <param name="Snapshot">The descriptor as read, when the library loaded and exported the symbol.</param>
/// <param name="Check">The check that failed (<c>inspector</c>, <c>dlopen</c>, <c>entry symbol</c>), when no snapshot.</param>
/// <param name="Field">The field for the refusal line.</param>
/// <param name="Expected">What was expected.</param>
/// <param name="Found">What happened instead (signal, exit code, timeout, dlopen's message).</param>
internal sealed record InspectorReport(DescriptorSnapshot? Snapshot, string Check, string Field, string Expected, string Found);

/// <summary>
/// Runs <c>tremor-plugin-inspect</c> (host/tremor-plugin-inspect.c) on one library: the library's constructors and
/// every read through its descriptor's pointers happen in that throwaway process, never in the runtime. A child that
/// dies (signal, exit code), hangs past the timeout, or prints something off-protocol is a refusal saying which.
/// </summary>
internal static partial class PluginInspector
{
    /// <summary>The inspector program's file name.</summary>
    public const string FileName = "tremor-plugin-inspect";

    private const int MaxOutputBytes = 8 * 1024 * 1024;
    private const int StderrTailBytes = 2048;
    private const int Sigkill = 9;

    /// <summary>How long one inspection may take before the child (and whatever it forked) is killed.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    public static InspectorReport Run(string libraryPath, TimeSpan timeout)
    {
        string program;
        try
        {
            program = Find();
        }
        catch (NativePluginException e)
        {
            return new InspectorReport(null, "inspector", "inspection", "the plugin inspector program", e.Message);
        }

        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(libraryPath);
        // Nothing of the runtime's environment (credentials, tokens) reaches a plugin's constructors: only PATH and LANG.
        info.Environment.Clear();
        foreach (var name in (string[])["PATH", "LANG"])
        {
            if (Environment.GetEnvironmentVariable(name) is { } value) info.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new Win32Exception("not started");
        }
        catch (Win32Exception e)
        {
            return new InspectorReport(null, "inspector", "inspection", $"the plugin inspector {program} to start", e.Message);
        }
        using (process)
        {
            process.StandardInput.Close();
            var output = new BoundedBuffer(MaxOutputBytes);
            var errors = new BoundedBuffer(StderrTailBytes, keepTail: true);
            var outputDone = Pump(process.StandardOutput.BaseStream, output);
            var errorsDone = Pump(process.StandardError.BaseStream, errors);

            var exited = process.WaitForExit(timeout);
            // Whatever the plugin forked is in the inspector's process group: it goes with it, so nothing it started
            // lives on holding the pipes.
            KillGroup(process.Id);
            if (!exited)
            {
                TryKill(process);
                process.WaitForExit(TimeSpan.FromSeconds(5));
            }
            // The pipes close once every holder is gone (the group was killed), so this normally returns at once with
            // everything read; one that escaped the group cannot hold us beyond this bound.
            Task.WaitAll([outputDone, errorsDone], TimeSpan.FromSeconds(10));

            var lines = output.Text().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var stderrTail = LastLine(errors.Text());
            var phase = lines.Contains("loaded") ? "after its constructors ran" : lines.Contains("loading") ? "while loading (in its static constructors)" : "before loading";
            if (!exited)
            {
                return Died($"no answer within {PluginHostProcess.FormatDuration(timeout)} (hung {phase}; the inspector was killed)");
            }
            var code = process.ExitCode;
            if (code != 0)
            {
                // .NET reports a death by signal as 128 + signal.
                var how = code > 128 && code < 160 ? $"killed by signal {code - 128} ({PluginHostProcess.SignalName(code - 128)})" : $"exited with code {code}";
                return Died($"{how} {phase}{stderrTail}");
            }
            return Parse(lines, stderrTail);
        }
    }

    private static InspectorReport Parse(string[] lines, string stderrTail)
    {
        if (lines.Length == 0 || lines[0] != "tremor-plugin-inspect 1" || lines[^1] != "end")
        {
            return Died($"an incomplete or foreign report (exit 0 without its end line){stderrTail}");
        }
        var body = lines[1..^1].Where(l => l is not ("loading" or "loaded")).ToList();
        if (body.Count == 1 && body[0].StartsWith("dlopen-error library ", StringComparison.Ordinal))
        {
            var message = Encoding.UTF8.GetString(Convert.FromHexString(body[0]["dlopen-error library ".Length..]));
            return new InspectorReport(null, "dlopen", "dlopen", "a loadable library", PluginNames.Printable(message.ReplaceLineEndings(" ").Trim()));
        }
        if (body.Count == 1 && body[0] == "no-symbol")
        {
            return new InspectorReport(null, "entry symbol", $"symbol {Abi.AbiConstants.EntrySymbol}", "an exported descriptor", "none");
        }
        var snapshot = DescriptorSnapshot.Parse(body, out var violation);
        return snapshot is null ? Died($"a protocol violation: {violation}") : new InspectorReport(snapshot, "", "", "", "");
    }

    private static InspectorReport Died(string found) =>
        new(null, "inspection", "inspection", "the inspector to read the descriptor and exit 0", found);

    private static string LastLine(string text)
    {
        var last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return string.IsNullOrEmpty(last) ? "" : $"; its last output: {PluginNames.Quote(last.Length > 200 ? last[..200] : last)}";
    }

    // A thread of its own, not the thread pool: discovery inspects several plugins at once and blocks while it waits,
    // and a pump queued behind busy pool threads lost the end of a report (refusing a good plugin).
    private static Task Pump(Stream stream, BoundedBuffer buffer) => Task.Factory.StartNew(() =>
    {
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0) buffer.Append(chunk.AsSpan(0, read));
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Where the inspector is: <c>TREMOR_PLUGIN_INSPECT</c> when set; next to the application; next to Tremor.Native.dll
    /// (Tremor.Native's build copies it into every referencing project's output).
    /// </summary>
    public static string Find()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("TREMOR_PLUGIN_INSPECT") is { Length: > 0 } configured) candidates.Add(configured);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        if (Path.GetDirectoryName(typeof(PluginInspector).Assembly.Location) is { Length: > 0 } assemblyDir) candidates.Add(Path.Combine(assemblyDir, FileName));
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new NativePluginException(
            $"native plugins are inspected by {FileName}, which was not found (looked in {string.Join(", ", candidates)}); " +
            "build Tremor.Native with gcc available, or set TREMOR_PLUGIN_INSPECT");
    }

    private static void KillGroup(int pid)
    {
        if (OperatingSystem.IsWindows()) return;
        _ = Kill(-pid, Sigkill);
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        catch (Win32Exception)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Collects a child's output up to a bound (the head, or the tail for stderr) without growing beyond it.</summary>
    private sealed class BoundedBuffer(int bound, bool keepTail = false)
    {
        private readonly Lock _gate = new();
        private readonly List<byte> _bytes = [];

        public void Append(ReadOnlySpan<byte> chunk)
        {
            lock (_gate)
            {
                if (!keepTail)
                {
                    var room = bound - _bytes.Count;
                    if (room > 0) _bytes.AddRange(chunk[..Math.Min(room, chunk.Length)]);
                    return;
                }
                _bytes.AddRange(chunk);
                if (_bytes.Count > bound) _bytes.RemoveRange(0, _bytes.Count - bound);
            }
        }

        public string Text()
        {
            lock (_gate) return Encoding.UTF8.GetString(_bytes.ToArray());
        }
    }
}
