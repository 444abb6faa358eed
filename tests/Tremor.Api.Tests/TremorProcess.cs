using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tremor.Api.Tests;

/// <summary>A real tremor process with its management API on a free loopback port.</summary>
public sealed class TremorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TremorProcess(string dir, string config, bool manualStdout, IReadOnlyDictionary<string, string>? environment)
    {
        Directory = dir;
        var file = Path.Combine(dir, "tremor.conf");
        File.WriteAllText(file, config);
        var tremor = Path.Combine(AppContext.BaseDirectory, "tremor.dll");
        var info = new ProcessStartInfo("dotnet", [tremor, "run", file])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // Set on the child only: the test process's environment is shared by every test.
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.Exited += (_, _) =>
        {
            _process.WaitForExit(); // the output read to its end
            _address.TrySetException(new InvalidOperationException($"tremor exited with {_process.ExitCode} before its API was up:\n{Stderr}"));
        };
        _process.Start();
        // With manualStdout the test reads stdout itself (StandardOutput), and can hold a stdio sink back by not reading.
        if (!manualStdout) _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
            const string marker = "management API on ";
            var at = e.Data.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) _address.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Split(' ')[0]));
        };
        if (!manualStdout) _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Directory { get; }

    /// <summary>The process id, to read what it has mapped (<c>/proc/PID/maps</c>).</summary>
    public int Pid => _process.Id;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The process's stdout, when started with manualStdout.</summary>
    public StreamReader StandardOutput => _process.StandardOutput;

    public string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    /// <summary>
    /// Starts tremor in a new temp folder with <paramref name="extraConfig"/>; the token goes to <c>DIR/token</c>
    /// unless <paramref name="tokenFile"/> names another file (relative to DIR), or is null: then tremor's default,
    /// under <c>XDG_STATE_HOME</c> of <paramref name="environment"/>. Throws when tremor exits instead.
    /// </summary>
    public static async Task<TremorProcess> StartAsync(string extraConfig = "", Action<string>? prepare = null, bool manualStdout = false, IReadOnlyDictionary<string, string>? environment = null, string? tokenFile = "token")
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("tremor-api-").FullName;
        prepare?.Invoke(dir);
        var token = tokenFile is null ? null : Path.Combine(dir, tokenFile);
        var tokenKey = token is null ? "" : $", token-file = \"{token}\"";
        var p = new TremorProcess(dir, $"tremor.api {{ enabled = on, port = 0{tokenKey} }}\n{extraConfig}", manualStdout, environment);
        Uri address;
        try
        {
            address = await p._address.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
        p.Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        token ??= Path.Combine(environment!["XDG_STATE_HOME"], "tremor", $"api-{address.Port}.token");
        p.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(token).Trim());
        return p;
    }

    /// <summary>True while the process runs.</summary>
    public bool Running => !_process.HasExited;

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
