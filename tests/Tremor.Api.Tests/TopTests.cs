using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tremor.Api.Tests;

/// <summary>
/// <c>tremor top</c> as a user runs it: the real command against a real tremor, in a real terminal (tmux) whose screen
/// the test reads, and <c>--once</c> as a script reads it.
/// </summary>
public sealed class TopTests(LiveFlow live) : IClassFixture<LiveFlow>
{
    private static readonly string Dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
    private static readonly string TremorDll = Path.Combine(AppContext.BaseDirectory, "tremor.dll");

    [Fact]
    public async Task Status_endpoint_has_every_connector_with_its_flow_plugin_counters_and_breaker_and_needs_the_token()
    {
        using var anonymous = new HttpClient { BaseAddress = live.Tremor.Client.BaseAddress };
        Assert.Equal(401, (int)(await anonymous.GetAsync("/v1/status")).StatusCode);

        var (status, body) = await live.Tremor.SendAsync(HttpMethod.Get, "/v1/status");
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("uptime_ms").GetInt64() > 0);
        Assert.Contains(body.GetProperty("flows").EnumerateArray(), f => f.GetProperty("name").GetString() == "ticks");
        var tick = body.GetProperty("connectors").EnumerateArray().Single(c => c.GetProperty("alias").GetString() == "ticks::tick");
        Assert.Equal("ticks", tick.GetProperty("flow").GetString());
        Assert.Equal("metronome", tick.GetProperty("type").GetString());
        Assert.Equal("std", tick.GetProperty("plugin").GetString());
        Assert.False(tick.GetProperty("circuit_breaker_open").GetBoolean());
        Assert.Equal(0, tick.GetProperty("restarts").GetInt32());
        Assert.Contains(body.GetProperty("plugins").EnumerateArray(), p => p.GetProperty("name").GetString() == "bench" && p.GetProperty("status").GetString() == "loaded");
        Assert.Equal(JsonValueKind.Null, body.GetProperty("cluster").ValueKind);
    }

    [Fact]
    public async Task In_a_terminal_top_shows_the_connectors_state_and_rates_refreshing_in_place_and_q_quits()
    {
        await using var terminal = await Terminal.StartAsync(Path.Combine(live.Tremor.Directory, "top-live"), $"top --url {live.Url} --token-file '{live.TokenFile}' --interval 300ms");

        var first = await terminal.WaitForScreenAsync(s => Row(s, "ticks::tick") is { State: "running", OutPerSecond: > 0 } && Row(s, "ticks::sink") is { InPerSecond: > 0 }, "both connectors running with a rate above 0");
        var tick = Row(first, "ticks::tick")!;
        Assert.Equal("metronome", tick.Type);
        Assert.Equal("std", tick.Plugin);
        Assert.Contains("blackhole", first);
        Assert.Matches(@"bench\s+\S+\s+connector\s+loaded", first);
        // Plugins no connector uses are named on one line, not given a row each.
        Assert.Matches(@"also loaded: .*\bfile\b", first);
        Assert.DoesNotMatch(@"(?m)^\s*file\s+\S+\s+connector\s+loaded", first);

        // The next refresh replaces the frame: higher totals, and one title on the screen, not one per refresh.
        var next = await terminal.WaitForScreenAsync(s => Row(s, "ticks::tick") is { } t && t.Out > tick.Out, "a refresh with more events emitted");
        Assert.Single(Regex.Matches(next, "tremor top"));
        Assert.Equal("closed", Row(next, "ticks::tick")!.Breaker);

        terminal.SendKeys("q");
        Assert.Equal(0, await terminal.ExitCodeAsync());
    }

    [Fact]
    public async Task In_a_terminal_a_refused_token_is_shown_and_top_retries_until_the_token_file_is_right()
    {
        var dir = Path.Combine(live.Tremor.Directory, "top-token");
        Directory.CreateDirectory(dir);
        var tokenFile = Path.Combine(dir, "stale.token");
        await File.WriteAllTextAsync(tokenFile, "0000000000000000000000000000000000000000000000000000000000000000");
        await using var terminal = await Terminal.StartAsync(dir, $"top --url {live.Url} --token-file '{tokenFile}' --interval 200ms");

        await terminal.WaitForScreenAsync(s => s.Contains("refused the token in", StringComparison.Ordinal), "the refused token named on screen");
        // As after tremor started again with a new token: the next refresh reads the file again.
        await File.WriteAllTextAsync(tokenFile, await File.ReadAllTextAsync(live.TokenFile));
        var screen = await terminal.WaitForScreenAsync(s => Row(s, "ticks::sink") is { InPerSecond: > 0 }, "the connectors once the token is right");
        Assert.DoesNotContain("refused the token", screen);

        terminal.SendKeys("C-c");
        Assert.Equal(0, await terminal.ExitCodeAsync());
    }

    [Fact]
    public async Task Once_prints_one_frame_with_rates_and_exits_0()
    {
        var (exit, stdout, stderr) = await RunTremorAsync("top", "--once", "--interval", "300ms", "--url", live.Url, "--token-file", live.TokenFile);
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.True(Row(stdout, "ticks::sink") is { State: "running", InPerSecond: > 0 }, stdout);
        Assert.Single(Regex.Matches(stdout, "tremor top"));
    }

    [Fact]
    public async Task Once_with_a_wrong_token_or_no_API_exits_1_saying_what_is_wrong()
    {
        var wrong = Path.Combine(live.Tremor.Directory, "wrong.token");
        await File.WriteAllTextAsync(wrong, "not-the-token");
        var (exit, stdout, stderr) = await RunTremorAsync("top", "--once", "--url", live.Url, "--token-file", wrong);
        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Contains($"refused the token in {wrong} (401)", stderr);
        Assert.Contains("--token-file", stderr);

        var closed = $"http://127.0.0.1:{ClosedPort()}";
        (exit, stdout, stderr) = await RunTremorAsync("top", "--once", "--url", closed, "--token-file", wrong);
        Assert.Equal(1, exit);
        Assert.Contains($"no tremor API at {closed}", stderr);
        Assert.Contains("tremor.api.enabled = on", stderr);

        (exit, _, stderr) = await RunTremorAsync("top", "--once", "--url", live.Url, "--token-file", Path.Combine(live.Tremor.Directory, "missing.token"));
        Assert.Equal(2, exit);
        Assert.Contains("cannot read the API token from", stderr);
    }

    /// <summary>One connector's row as a person reads it off the screen; null when the screen has no such row.</summary>
    internal sealed record ConnectorRow(string Type, string Plugin, string State, double? InPerSecond, double? OutPerSecond, long In, long Out, string Breaker);

    internal static ConnectorRow? Row(string screen, string alias)
    {
        // CONNECTOR TYPE PLUGIN STATE IN/S OUT/S IN OUT ERR DROP RESTARTS BREAKER [LAST ERROR]
        var line = screen.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(alias + " ", StringComparison.Ordinal));
        var cells = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (cells is null || cells.Length < 12) return null;
        return new ConnectorRow(cells[1], cells[2], cells[3], Number(cells[4]), Number(cells[5]), (long)Number(cells[6])!, (long)Number(cells[7])!, cells[11]);
    }

    private static double? Number(string text) =>
        double.TryParse(text, NumberStyles.AllowThousands | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunTremorAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add(TremorDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        // A pipe is not a terminal: no colours, a fixed width wide enough for every column.
        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"tremor {string.Join(' ', args)} did not exit within 60 s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// A real terminal: a tmux server of its own (its own socket) running one command in a 200x50 pane; the test reads
    /// the screen as a person sees it and types keys.
    /// </summary>
    private sealed class Terminal : IAsyncDisposable
    {
        private readonly string _socket = $"tremor-top-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        private readonly string _exitFile;

        private Terminal(string dir) => _exitFile = Path.Combine(dir, "exit-code");

        public static async Task<Terminal> StartAsync(string dir, string tremorArgs)
        {
            Directory.CreateDirectory(dir);
            var terminal = new Terminal(dir);
            // The pane's shell records the exit code, then wakes the test's `tmux wait-for` (inside the pane, tmux
            // talks to this same server).
            var command = $"'{Dotnet}' '{TremorDll}' {tremorArgs}; echo $? > '{terminal._exitFile}'; tmux wait-for -S exited";
            // No user config; the pane stays after the command ended, so the server (and the wake-up) outlive it.
            await terminal.TmuxAsync("-f", "/dev/null", "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
                "new-session", "-d", "-x", "200", "-y", "50", "-s", "top", command);
            return terminal;
        }

        /// <summary>Reads the screen until <paramref name="condition"/> holds (bounded: 60 s) and returns it.</summary>
        public async Task<string> WaitForScreenAsync(Func<string, bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var screen = "";
            while (DateTime.UtcNow < deadline)
            {
                screen = await TmuxAsync("capture-pane", "-p", "-t", "top");
                if (condition(screen)) return screen;
                await Task.Delay(100);
            }
            Assert.Fail($"timed out waiting for {what}; the screen:\n{screen}");
            return screen;
        }

        public void SendKeys(string keys) => TmuxAsync("send-keys", "-t", "top", keys).GetAwaiter().GetResult();

        /// <summary>The command's exit code, once it exited (bounded: 30 s).</summary>
        public async Task<int> ExitCodeAsync()
        {
            var wait = TmuxAsync("wait-for", "exited");
            if (await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(30))) != wait)
            {
                Assert.Fail($"tremor top did not exit within 30 s; the screen:\n{await TmuxAsync("capture-pane", "-p", "-t", "top")}");
            }
            await wait;
            return int.Parse((await File.ReadAllTextAsync(_exitFile)).Trim(), CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            // Ends this test's tmux server only (its own socket), and the command in it.
            using var kill = Process.Start(new ProcessStartInfo("tmux", ["-L", _socket, "kill-server"]) { RedirectStandardError = true })!;
            await kill.WaitForExitAsync();
        }

        private async Task<string> TmuxAsync(params string[] args)
        {
            var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-L");
            info.ArgumentList.Add(_socket);
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0) Assert.Fail($"tmux {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
            return output;
        }
    }
}
