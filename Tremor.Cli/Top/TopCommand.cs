using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace Tremor.Cli.Top;

/// <summary>
/// <c>tremor top</c>: a live view of a running tremor through its management API (<c>GET /v1/status</c>), refreshed
/// in place every interval; rates are the difference of the counters between two refreshes.
/// </summary>
public static class TopCommand
{
    /// <summary>
    /// Live: refreshes until <paramref name="cancel"/>, Ctrl-C or q (when <paramref name="readKeys"/>), showing what goes
    /// wrong (no API, a refused token) in the frame while it keeps trying; exit 0. <paramref name="once"/>: two snapshots
    /// one interval apart, one frame printed; exit 0, 1 when the API did not answer as it should, 2 for an unusable
    /// option or token file.
    /// </summary>
    public static async Task<int> RunAsync(string url, string tokenFile, TimeSpan interval, bool once, IAnsiConsole console, TextWriter error, bool readKeys, CancellationToken cancel)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            error.WriteLine($"error: --url {url}: not an http:// or https:// address (e.g. http://127.0.0.1:9898)");
            return 2;
        }
        if (interval < MinimumInterval)
        {
            error.WriteLine($"error: --interval {interval.TotalMilliseconds} ms: too short; give at least {MinimumInterval.TotalMilliseconds} ms (e.g. 1s)");
            return 2;
        }
        using var source = new StatusSource(address, tokenFile, interval);
        return once ? await OnceAsync(source, url, interval, console, error, cancel) : await LiveAsync(source, url, interval, console, readKeys, cancel);
    }

    /// <summary>The shortest refresh: a shorter one would spend the instance's time answering status requests.</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The terminal, or for <c>tremor top --once | ...</c> a pipe: its lines are not wrapped at 80 columns but as wide
    /// as <c>COLUMNS</c> says, or wide enough for every column.
    /// </summary>
    internal static IAnsiConsole StandardConsole()
    {
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 240;
        }
        return console;
    }

    /// <summary>Reads a refresh interval as people write it: <c>500ms</c>, <c>2s</c>, <c>1m</c>, or seconds (<c>1.5</c>).</summary>
    public static bool TryParseInterval(string text, out TimeSpan interval)
    {
        text = text.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : (text, 1000.0);
        var ok = double.TryParse(number.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0 && value < 86_400;
        interval = ok ? TimeSpan.FromMilliseconds(value * scale) : default;
        return ok;
    }

    private static async Task<int> OnceAsync(StatusSource source, string url, TimeSpan interval, IAnsiConsole console, TextWriter error, CancellationToken cancel)
    {
        var first = await source.FetchAsync(cancel);
        if (first.Snapshot is null)
        {
            error.WriteLine($"error: {first.Problem}");
            return first.BadToken ? 2 : 1;
        }
        // Rates need a second snapshot: one interval later, as a live frame would show them.
        await Task.Delay(interval, cancel);
        var second = await source.FetchAsync(cancel);
        if (second.Snapshot is null)
        {
            error.WriteLine($"error: {second.Problem}");
            return second.BadToken ? 2 : 1;
        }
        console.Write(TopView.Render(url, first.Snapshot, second.Snapshot, null, DateTimeOffset.Now, live: false));
        return 0;
    }

    private static async Task<int> LiveAsync(StatusSource source, string url, TimeSpan interval, IAnsiConsole console, bool readKeys, CancellationToken cancel)
    {
        using var quit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // tremor run handles Ctrl-C itself, so the command line parser does not: here Ctrl-C ends the view cleanly
        // (Spectre restores the cursor) instead of killing the process mid-frame.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            quit.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        if (readKeys) StartKeyReader(quit);
        try
        {
            StatusSnapshot? before = null, last = null;
            var updated = DateTimeOffset.Now;
            await console.Live(TopView.Render(url, null, null, null, updated, live: true))
                .AutoClear(false)
                .Overflow(VerticalOverflow.Ellipsis)
                .Cropping(VerticalOverflowCropping.Bottom)
                .StartAsync(async context =>
                {
                    while (!quit.IsCancellationRequested)
                    {
                        var (snapshot, problem, _) = await source.FetchAsync(quit.Token);
                        if (quit.IsCancellationRequested) break;
                        if (snapshot is not null)
                        {
                            (before, last, updated) = (last, snapshot, DateTimeOffset.Now);
                        }
                        else
                        {
                            problem += $" (retrying every {interval.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s)";
                        }
                        context.UpdateTarget(TopView.Render(url, before, last, problem, updated, live: true));
                        context.Refresh();
                        try
                        {
                            await Task.Delay(interval, quit.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }
                    }
                });
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        return 0;
    }

    private static void StartKeyReader(CancellationTokenSource quit)
    {
        // Console.ReadKey blocks: a background thread of its own, left blocked when the view ends (the process exits).
        var reader = new Thread(() =>
        {
            try
            {
                while (!quit.IsCancellationRequested)
                {
                    var key = Console.ReadKey(intercept: true);
                    if (key.KeyChar is 'q' or 'Q' || key.Key == ConsoleKey.Escape)
                    {
                        quit.Cancel();
                        return;
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // No console to read keys from (or it was closed): Ctrl-C still ends the view.
            }
        })
        { IsBackground = true, Name = "tremor-top-keys" };
        reader.Start();
    }

    /// <summary>Asks the API for one status snapshot and turns every way that can fail into one line saying what to do.</summary>
    private sealed class StatusSource(Uri address, string tokenFile, TimeSpan interval) : IDisposable
    {
        private readonly HttpClient _client = new() { BaseAddress = address, Timeout = interval + TimeSpan.FromSeconds(10) };
        private readonly string _url = address.ToString().TrimEnd('/');

        public async Task<(StatusSnapshot? Snapshot, string? Problem, bool BadToken)> FetchAsync(CancellationToken cancel)
        {
            // Read at every refresh: a restarted tremor writes a new token, and the view follows it.
            var (token, problem) = await ApiClient.ReadTokenAsync(_url, tokenFile);
            if (token is null) return (null, problem, true);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/status");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                using var response = await _client.SendAsync(request, cancel);
                var body = await response.Content.ReadAsStringAsync(cancel);
                return response.StatusCode switch
                {
                    HttpStatusCode.OK => (StatusSnapshot.Parse(body), null, false),
                    HttpStatusCode.Unauthorized => (null, $"the tremor API at {_url} refused the token in {ApiClient.TokenFileFor(_url, tokenFile)} (401); a tremor started again writes a new one: give the file its start line names with --token-file", false),
                    HttpStatusCode.NotFound => (null, $"the tremor API at {_url} has no /v1/status (404): is that an older tremor, or not tremor?", false),
                    _ => (null, $"the tremor API at {_url} answered {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorOf(body)}", false),
                };
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return (null, null, false);
            }
            catch (TaskCanceledException)
            {
                return (null, $"the tremor API at {_url} did not answer within {_client.Timeout.TotalSeconds:0} s (is that process stuck or overloaded?)", false);
            }
            catch (HttpRequestException e)
            {
                return (null, $"no tremor API at {_url}: {e.Message} (is tremor running with tremor.api.enabled = on, and is --url its address?)", false);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return (null, $"the answer of {_url}/v1/status is not a tremor status ({e.Message}): is that address a tremor API?", false);
            }
        }

        public void Dispose() => _client.Dispose();

        private static string ErrorOf(string body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("error", out var e) && e.GetString() is { } text) return text;
            }
            catch (JsonException)
            {
            }
            return body.Length > 200 ? body[..200] : body;
        }
    }
}
