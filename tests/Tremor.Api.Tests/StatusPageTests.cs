using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Tremor.Api.Tests;

/// <summary>The status page (<c>/ui/</c>) in a real browser: headless Chromium, what a person sees, and a screenshot.</summary>
public sealed class StatusPageTests(LiveFlow live, ITestOutputHelper output) : IClassFixture<LiveFlow>
{
    // What a person sees of one connector's row: its cells' rendered text.
    private const string SinkRow = """
        (() => {
          const row = document.querySelector('tr[data-connector="ticks::sink"]');
          if (!row || !document.getElementById('status').checkVisibility()) return null;
          return JSON.stringify([...row.cells].map(c => c.innerText));
        })()
        """;

    [Fact]
    public async Task The_page_asks_for_a_token_then_shows_connectors_with_state_and_rates_that_update_and_plugins()
    {
        var page = live.Url + "/ui/";
        var token = (await File.ReadAllTextAsync(live.TokenFile)).Trim();
        await using var chromium = await Chromium.StartAsync();
        await chromium.CallAsync("Page.enable");

        // A wrong token: the page says so and asks for one, showing nothing of the instance.
        await chromium.CallAsync("Page.navigate", new { url = page + "#token=wrong" });
        var refused = await chromium.WaitForAsync(
            "document.getElementById('login').checkVisibility() ? document.getElementById('problem').innerText : null", "the token form");
        Assert.Contains("refused that token", refused);
        Assert.False(await VisibleAsync(chromium, "status"));

        // The right one, typed into the form as a person would.
        await chromium.EvaluateAsync($"document.getElementById('token').value = {JsonSerializer.Serialize(token)}; document.querySelector('#login button').click(); true");
        var first = Cells(await chromium.WaitForAsync(SinkRow, "the sink's row"));
        Assert.False(await VisibleAsync(chromium, "login"), "the token form is gone once the token was taken");
        Assert.False(await VisibleAsync(chromium, "problem"));
        Assert.Equal("ticks::sink", first[0]);
        Assert.Equal("blackhole", first[1]);
        Assert.Equal("bench", first[2]);
        Assert.Equal("running", first[3]);

        // Rates come from the next poll; the totals keep moving.
        var later = Cells(await chromium.WaitForAsync(
            $"(() => {{ const cells = {SinkRow}; return cells && Number(JSON.parse(cells)[4]) > 0 && Number(JSON.parse(cells)[6]) > {Number(first[6])} ? cells : null; }})()",
            "a rate above 0 at the sink"));
        Assert.True(Number(later[4]) > 0, $"in/s: {later[4]}");
        Assert.Equal("closed", later[11]);

        var text = (await chromium.EvaluateAsync("document.body.innerText")).GetString()!;
        Assert.Contains("ticks::tick", text);
        Assert.Contains("metronome", text);
        Assert.Contains("blackhole", text);
        Assert.Matches(@"bench\s+\S+\s+connector\s+loaded", text);
        // The token left the address bar once it was read.
        Assert.DoesNotContain("token=", (await chromium.EvaluateAsync("location.href")).GetString());

        // A connector that failed, with markup in its error (the path it could not create): shown as written, in red.
        var path = Path.Combine(live.Tremor.Directory, "missing", "<b>bold</b>", "out.json");
        var (deployed, _) = await live.Tremor.SendAsync(HttpMethod.Post, "/v1/flows", $$"""
            tremor.flows.broken {
              connectors {
                tick { type = metronome, config { interval = 100ms } }
                out { type = file, codec = json, config { path = {{JsonSerializer.Serialize(path)}}, mode = append } }
              }
              links = ["tick -> out"]
            }
            """);
        Assert.Equal(201, deployed);
        var failed = Cells(await chromium.WaitForAsync(
            """
            (() => {
              const row = document.querySelector('tr[data-connector="broken::out"]');
              return row && row.cells[3].innerText === 'failed' && row.cells[12].innerText ? JSON.stringify([...row.cells].map(c => c.innerText)) : null;
            })()
            """, "the broken flow's sink failed"));
        Assert.Contains("<b>bold</b>", failed[12]);
        Assert.Equal(0, (await chromium.EvaluateAsync("document.querySelectorAll('#connectors b').length")).GetInt32());
        Assert.Equal("rgb(176, 0, 32)", (await chromium.EvaluateAsync("getComputedStyle(document.querySelector('tr[data-connector=\"broken::out\"]').cells[3]).color")).GetString());

        var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "status-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        var png = await chromium.ScreenshotAsync();
        await File.WriteAllBytesAsync(screenshot, png);
        output.WriteLine($"screenshot of the status page: {screenshot}");
        Assert.Equal("PNG"u8.ToArray(), png[1..4]);
    }

    [Fact]
    public async Task The_page_is_served_without_the_token_with_a_policy_that_allows_only_its_own_files_and_the_API()
    {
        using var anonymous = new HttpClient { BaseAddress = live.Tremor.Client.BaseAddress };
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = live.Tremor.Client.BaseAddress };
        var redirect = await noRedirects.GetAsync("/ui");
        Assert.Equal("/ui/", redirect.Headers.Location?.ToString());
        var html = await anonymous.GetAsync("/ui/");
        Assert.Equal(200, (int)html.StatusCode);
        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", html.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<script src=\"app.js\"", await html.Content.ReadAsStringAsync());
        Assert.Equal(200, (int)(await anonymous.GetAsync("/ui/app.js")).StatusCode);
        // The data behind it is not.
        Assert.Equal(401, (int)(await anonymous.GetAsync("/v1/status")).StatusCode);
    }

    private static async Task<bool> VisibleAsync(Chromium chromium, string id) =>
        (await chromium.EvaluateAsync($"document.getElementById('{id}').checkVisibility()")).GetBoolean();

    private static string[] Cells(string json) => JsonSerializer.Deserialize<string[]>(json)!;

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
