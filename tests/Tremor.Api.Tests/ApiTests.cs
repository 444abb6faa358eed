using System.Text.Json;

namespace Tremor.Api.Tests;

public sealed class ApiTests
{
    private static string MetronomeToFile(string name, string output, string interval = "10ms") => $$"""
        tremor.flows.{{name}} {
          connectors {
            tick { type = metronome, config { interval = {{interval}} } }
            out { type = file, codec = json, postprocessors = ["separate"], config { path = "{{output}}", mode = append } }
          }
          pipelines { main { type = passthrough } }
          links = ["tick -> main", "main -> out"]
        }
        """;

    private static List<long> Ids(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).ToList() : [];

    /// <summary>Like TestKit's AwaitAssert, for a condition in another process: probes until true or 30 s passed.</summary>
    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Every_v1_request_needs_the_bearer_token()
    {
        await using var tremor = await TremorProcess.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = tremor.Client.BaseAddress };
        var response = await anonymous.GetAsync("/v1/plugins");
        Assert.Equal(401, (int)response.StatusCode);
        Assert.Contains("bearer token", await response.Content.ReadAsStringAsync());
        var (status, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
        Assert.Equal(200, status);
        Assert.Contains(plugins.EnumerateArray(), p => p.GetProperty("name").GetString() == "std" && p.GetProperty("status").GetString() == "loaded");
    }

    [Fact]
    public async Task Deploy_status_metrics_unload_refused_in_use_then_forced_drains()
    {
        await using var tremor = await TremorProcess.StartAsync();
        var output = Path.Combine(tremor.Directory, "out.jsonl");
        var (status, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile("ticks", output));
        Assert.Equal(201, status);
        Assert.Equal("ticks", body.GetProperty("deployed")[0].GetString());

        await Eventually(async () =>
        {
            var (_, connectors) = await tremor.SendAsync(HttpMethod.Get, "/v1/connectors");
            return connectors.EnumerateArray().Any(c => c.GetProperty("alias").GetString() == "ticks::out" && c.GetProperty("events_in").GetInt64() >= 5);
        }, "five events at the sink");
        var metrics = await tremor.Client.GetStringAsync("/metrics");
        Assert.Matches("(?m)^tremor_connector_events_total\\{[^}]*connector=\"ticks::tick\",port=\"out\",type=\"metronome\"\\} [1-9]", metrics);

        var (refused, why) = await tremor.SendAsync(HttpMethod.Delete, "/v1/plugins/std");
        Assert.Equal(409, refused);
        Assert.Contains("used by flow(s) ticks", why.GetProperty("error").GetString());

        var (forced, result) = await tremor.SendAsync(HttpMethod.Delete, "/v1/plugins/std?force=true");
        Assert.Equal(200, forced);
        Assert.Equal("ticks", result.GetProperty("undeployed")[0].GetString());
        var (_, flows) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");
        Assert.Empty(flows.EnumerateArray());
        // Drained before stopping: the ids at the sink have no gap.
        var ids = Ids(output);
        Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => (long)i), ids);

        var (bad, error) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile("again", output));
        Assert.Equal(400, bad);
        Assert.Contains("unknown connector type 'metronome'", error.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_plugin_dropped_into_a_watched_directory_is_loaded_and_usable_by_a_new_flow()
    {
        await using var tremor = await TremorProcess.StartAsync(
            "tremor.plugins { directories = [\"watched\"], watch = on }",
            dir => Directory.CreateDirectory(Path.Combine(dir, "watched")));
        // Build a plugin from the C template elsewhere, then drop it in.
        var build = Path.Combine(tremor.Directory, "build");
        Directory.CreateDirectory(build);
        var templates = Path.Combine(AppContext.BaseDirectory, "Templates", "c");
        File.Copy(Path.Combine(templates, "tremor_pdk.h"), Path.Combine(build, "tremor_pdk.h"));
        File.WriteAllText(Path.Combine(build, "watched-sink.c"), File.ReadAllText(Path.Combine(templates, "__NAME__.c")).Replace("__NAME__", "watched-sink", StringComparison.Ordinal));
        using (var gcc = System.Diagnostics.Process.Start("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", build, "-o", Path.Combine(build, "watched-sink.so"), Path.Combine(build, "watched-sink.c")]))
        {
            await gcc!.WaitForExitAsync();
            Assert.Equal(0, gcc.ExitCode);
        }
        File.Move(Path.Combine(build, "watched-sink.so"), Path.Combine(tremor.Directory, "watched", "watched-sink.so"));

        await Eventually(async () =>
        {
            var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
            return plugins.EnumerateArray().Any(p => p.GetProperty("name").GetString() == "watched-sink" && p.GetProperty("status").GetString() == "loaded");
        }, "the dropped plugin to load");
        var flow = """
            tremor.flows.w {
              connectors {
                tick { type = metronome, config { interval = 10ms, iterations = 3 } }
                out { type = watched-sink }
              }
              links = ["tick -> out"]
            }
            """;
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", flow)).Status);
        await Eventually(async () =>
        {
            var (_, connectors) = await tremor.SendAsync(HttpMethod.Get, "/v1/connectors");
            return connectors.EnumerateArray().Any(c => c.GetProperty("alias").GetString() == "w::out" && c.GetProperty("events_in").GetInt64() == 3);
        }, "three events at the dropped-in sink");
        Assert.Contains("plugin loaded while running: watched-sink", tremor.Stderr);
    }

    [Fact]
    public async Task Loading_an_untrusted_plugin_is_refused_with_its_hash()
    {
        await using var tremor = await TremorProcess.StartAsync();
        var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
        var path = plugins.EnumerateArray().First(p => p.GetProperty("name").GetString() == "file").GetProperty("path").GetString()!;
        var (status, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/plugins", JsonSerializer.Serialize(new { path }));
        Assert.Equal(403, status);
        Assert.Contains("not trusted", body.GetProperty("error").GetString());
        Assert.Matches("[0-9a-f]{64}", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Swapping_a_source_plugin_starts_a_fresh_instance_of_that_source_without_losing_what_the_old_one_emitted()
    {
        await using var tremor = await TremorProcess.StartAsync("tremor.api.allow-untrusted-load = on");
        var output = Path.Combine(tremor.Directory, "out.jsonl");
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile("ticks", output))).Status);
        await Eventually(() => Task.FromResult(Ids(output).Count >= 10), "ten events before the swap");

        var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
        var path = plugins.EnumerateArray().First(p => p.GetProperty("name").GetString() == "std").GetProperty("path").GetString()!;
        var (status, body) = await tremor.SendAsync(HttpMethod.Put, "/v1/plugins/std", JsonSerializer.Serialize(new { path }));
        Assert.Equal(200, status);
        // Only the metronome (plugin std) restarted; the flow and its file sink (plugin file) stayed.
        Assert.Equal(["ticks::tick"], body.GetProperty("restarted").EnumerateArray().Select(e => e.GetString()));

        // The new metronome starts again at id 0 (a swapped source starts fresh); the old one's ids are all there.
        await Eventually(() => Task.FromResult(Ids(output).IndexOf(0, 1) is > 0 and var at && Ids(output).Count >= at + 5), "events after the swap");
        var ids = Ids(output);
        var restart = ids.IndexOf(0, 1);
        Assert.True(restart >= 10, $"the new instance's sequence starts at {restart}, but ten events came before the swap");
        Assert.Equal(Enumerable.Range(0, restart).Select(i => (long)i), ids.Take(restart));
        Assert.Equal(Enumerable.Range(0, ids.Count - restart).Select(i => (long)i), ids.Skip(restart));
    }
}
