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

    private TremorProcess(string dir, string config, bool manualStdout)
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
        _process = Process.Start(info)!;
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

    public static async Task<TremorProcess> StartAsync(string extraConfig = "", Action<string>? prepare = null, bool manualStdout = false)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("tremor-api-").FullName;
        prepare?.Invoke(dir);
        var p = new TremorProcess(dir, $"tremor.api {{ enabled = on, port = 0, token-file = \"{Path.Combine(dir, "token")}\" }}\n{extraConfig}", manualStdout);
        var address = await p._address.Task.WaitAsync(TimeSpan.FromSeconds(60));
        p.Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        p.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(dir, "token")).Trim());
        return p;
    }

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
