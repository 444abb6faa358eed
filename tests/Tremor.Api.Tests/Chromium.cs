using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tremor.Api.Tests;

/// <summary>
/// Debian's headless Chromium in a profile folder of its own, driven over the DevTools protocol with the BCL's
/// WebSocket client: one page, commands answered by id (events are skipped).
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _stderr = new();
    private int _nextId;

    private Chromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Starts Chromium (a window of <paramref name="width"/>x<paramref name="height"/>) and attaches to its page.</summary>
    public static async Task<Chromium> StartAsync(int width = 1400, int height = 900)
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install chromium (test.sh installs it when missing)");
        var profile = Directory.CreateTempSubdirectory("tremor-chromium-").FullName;
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
                     "--remote-allow-origins=*", $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank",
                 })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var chromium = new Chromium(process, profile);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException($"Chromium ended its output before listening:\n{chromium.Stderr}"));
                return;
            }
            lock (chromium._stderr) chromium._stderr.AppendLine(e.Data);
            const string marker = "DevTools listening on ";
            if (e.Data.StartsWith(marker, StringComparison.Ordinal)) listening.TrySetResult(new Uri(e.Data[marker.Length..].Trim()));
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var browser = await listening.Task.WaitAsync(CallTimeout);
            // The page target's own socket: /json/list on the same port names it.
            using var http = new HttpClient { BaseAddress = new Uri($"http://{browser.Authority}"), Timeout = CallTimeout };
            var targets = JsonNode.Parse(await http.GetStringAsync("/json/list"))!.AsArray();
            var page = targets.First(t => (string?)t!["type"] == "page")!;
            await chromium._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), CancellationToken.None).WaitAsync(CallTimeout);
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
        return chromium;
    }

    public string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    /// <summary>Sends one DevTools command and returns its result; throws with the protocol's error.</summary>
    public async Task<JsonElement> CallAsync(string method, object? parameters = null)
    {
        var id = ++_nextId;
        var request = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        using var timeout = new CancellationTokenSource(CallTimeout);
        await _socket.SendAsync(request, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult part;
            do
            {
                part = await _socket.ReceiveAsync(buffer, timeout.Token);
                if (part.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException($"Chromium closed the DevTools socket during {method}:\n{Stderr}");
                message.Write(buffer, 0, part.Count);
            }
            while (!part.EndOfMessage);
            using var doc = JsonDocument.Parse(message.ToArray());
            if (!doc.RootElement.TryGetProperty("id", out var answered) || answered.GetInt32() != id) continue; // an event
            if (doc.RootElement.TryGetProperty("error", out var error)) throw new InvalidOperationException($"{method}: {error}");
            return doc.RootElement.GetProperty("result").Clone();
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value (a string, number, bool or null).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await CallAsync("Runtime.evaluate", new { expression, returnByValue = true });
        if (result.TryGetProperty("exceptionDetails", out var exception)) throw new InvalidOperationException($"{expression}: {exception}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value : default;
    }

    /// <summary>Evaluates <paramref name="expression"/> until it gives a string (bounded: 60 s), as AwaitCondition does, and returns it.</summary>
    public async Task<string> WaitForAsync(string expression, string what)
    {
        var deadline = DateTime.UtcNow + CallTimeout;
        var problem = "";
        while (true)
        {
            try
            {
                var value = await EvaluateAsync(expression);
                if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                // The page is still loading (its elements are not there yet).
                problem = e.Message;
            }
            if (DateTime.UtcNow > deadline)
            {
                var page = await EvaluateAsync("document.body ? document.body.innerText : ''");
                Assert.Fail($"timed out waiting for {what}; {problem}; the page shows:\n{page}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>A PNG of the page as it is drawn now.</summary>
    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await CallAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true })).GetProperty("data").GetString()!);

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
