using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tremor.Api.Tests;

/// <summary>Hot swap through <c>PUT /v1/plugins/NAME</c>: all or nothing, and only the swapped plugin's connectors restart.</summary>
public sealed class SwapTests
{
    private static readonly string Root = FindRoot();

    // bin/CONFIGURATION/net10.0/: the plugin and fixture folders are per configuration.
    private static readonly string Configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    private static string StdPlugin => Path.Combine(Root, "artifacts", "plugins", Configuration, "Tremor.Connectors.Std", "Tremor.Connectors.Std.dll");

    private static string FilePlugin => Path.Combine(Root, "artifacts", "plugins", Configuration, "Tremor.Connectors.File", "Tremor.Connectors.File.dll");

    private static string StdSubset => Path.Combine(Root, "artifacts", "fixtures", Configuration, "swap", "StdSubset", "StdSubset.dll");

    [Fact]
    public async Task A_refused_swap_changes_nothing_and_the_flow_keeps_delivering()
    {
        var build = Directory.CreateTempSubdirectory("tremor-swap-build-").FullName;
        try
        {
            var junk = Path.Combine(build, "junk.so");
            File.WriteAllBytes(junk, Encoding.UTF8.GetBytes("not a shared object at all"));
            var future = await BuildFromCTemplate(build, "std", "#undef TREMOR_PDK_TARGET_MINOR\n#define TREMOR_PDK_TARGET_MINOR 99");
            var untrusted = await BuildFromCTemplate(build, "std", "");
            // Everything is trusted but the one file meant to be refused for it, so each refusal is the one named.
            var trusted = string.Join(", ", new[] { StdPlugin, FilePlugin, StdSubset, junk, future }.Select(p => $"\"t{Sha256(p)[..8]}\" = \"{Sha256(p)}\""));
            await using var tremor = await TremorProcess.StartAsync($$"""
                tremor.api.allow-untrusted-load = on
                tremor.plugins { require-trusted = on, trusted { {{trusted}} } }
                """);
            var output = Path.Combine(tremor.Directory, "out.jsonl");
            Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile("ticks", output))).Status);
            await Eventually(() => Ids(output).Count >= 3, "events before the first swap");

            var refusals = new (string Path, string Why)[]
            {
                (Path.Combine(build, "missing.dll"), "no such file"),
                (junk, "an ELF shared object"),
                (future, "abi_minor"),
                (untrusted, "not trusted"),
                (FilePlugin, "is plugin 'file', not 'std'"),
                (StdSubset, "does not provide connector type(s) exit, metrics, metronome, null, stdio"),
            };
            foreach (var (path, why) in refusals)
            {
                var (status, body) = await tremor.SendAsync(HttpMethod.Put, "/v1/plugins/std", JsonSerializer.Serialize(new { path }));
                var error = body.GetProperty("error").GetString()!;
                Assert.True(status == 422, $"{path}: {status} {error}");
                Assert.Contains(why, error, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("nothing changed", error);

                // The old version is still the one listed, and the flow still delivers.
                var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
                var std = Assert.Single(plugins.EnumerateArray(), p => p.GetProperty("name").GetString() == "std");
                Assert.Equal("loaded", std.GetProperty("status").GetString());
                Assert.Equal(StdPlugin, std.GetProperty("path").GetString());
                var before = Ids(output).Count;
                await Eventually(() => Ids(output).Count > before, $"events after the refused swap of {path}");
            }
            // Never restarted: one sequence of ids from 0, no gap, no second start.
            var ids = Ids(output);
            Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => (long)i), ids);
            var (_, flows) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");
            Assert.Equal("running", Assert.Single(flows.EnumerateArray()).GetProperty("state").GetString());
        }
        finally
        {
            Directory.Delete(build, recursive: true);
        }
    }

    [Fact]
    public async Task Swapping_a_sink_plugin_restarts_only_that_sink_the_file_source_window_and_truncating_sink_keep_going()
    {
        const int total = 30000;
        await using var tremor = await TremorProcess.StartAsync("tremor.api.allow-untrusted-load = on", manualStdout: true);
        var input = Path.Combine(tremor.Directory, "in.jsonl");
        var windows = Path.Combine(tremor.Directory, "windows.jsonl");
        File.WriteAllLines(input, Enumerable.Range(0, total).Select(i => $"{{\"n\":{i}}}"));
        // Raw events go to stdout (plugin std, swapped); counts of windows of ten to a truncating file (plugin file).
        var flow = $$"""
            tremor.flows.swap {
              connectors {
                in { type = file, codec = json, preprocessors = ["separate"], config { path = "{{input}}" } }
                console { type = stdio, codec = json, postprocessors = ["separate"] }
                counts { type = file, codec = json, postprocessors = ["separate"], config { path = "{{windows}}", mode = truncate } }
              }
              pipelines {
                raw { type = passthrough }
                win { query = "define window ten from tumbling with size = 10 end; select { \"count\": aggr::stats::count() } from in[ten] into out;" }
              }
              links = ["in -> raw", "raw -> console", "in -> win", "win -> counts"]
            }
            """;
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", flow)).Status);

        // Read a little of stdout and stop: the stdio sink blocks on the full pipe, back-pressure holds the file source
        // mid-file, so the swap below happens with events in flight and the source far from its end.
        var seen = new List<long>();
        for (var i = 0; i < 100; i++) seen.Add(N(await tremor.StandardOutput.ReadLineAsync()));
        var swap = tremor.SendAsync(HttpMethod.Put, "/v1/plugins/std", JsonSerializer.Serialize(new { path = StdPlugin }));
        // The swap waits for the batch the old stdio instance is writing: keep reading until it answered.
        _ = Task.Run(async () =>
        {
            try
            {
                while (await tremor.StandardOutput.ReadLineAsync() is { } line) lock (seen) seen.Add(N(line));
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException or InvalidOperationException)
            {
                // The process is being disposed.
            }
        });
        var (status, body) = await swap;
        Assert.True(status == 200, body.ToString());
        Assert.Equal(["swap::console"], body.GetProperty("restarted").EnumerateArray().Select(e => e.GetString()));

        await Eventually(() =>
        {
            lock (seen) return seen.Count >= total;
        }, "every event on stdout");
        await Eventually(() => File.Exists(windows) && File.ReadAllLines(windows).Length >= total / 10, "every window");
        lock (seen)
        {
            // Every event once: the file source was not started over, nothing in flight was lost or repeated.
            Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), seen.Order());
        }
        // The truncating sink of the other plugin was not truncated, and every window was full: the pipeline kept its state.
        var counts = File.ReadAllLines(windows).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("count").GetInt64()).ToList();
        Assert.Equal(total / 10, counts.Count);
        Assert.All(counts, c => Assert.Equal(10, c));
        var (_, connectors) = await tremor.SendAsync(HttpMethod.Get, "/v1/connectors");
        Assert.Equal(total, connectors.EnumerateArray().Single(c => c.GetProperty("alias").GetString() == "swap::in").GetProperty("events_out").GetInt64());
    }

    [Fact]
    public async Task Swapping_a_native_sink_destroys_the_old_instance_and_the_metronome_of_another_plugin_keeps_counting()
    {
        await using var tremor = await TremorProcess.StartAsync(
            "tremor.api.allow-untrusted-load = on\ntremor.plugins.directories = [\"v1\"]",
            dir => File.Move(BuildFromCTemplate(Path.Combine(dir, "build1"), "swap-sink", "").Result, Path.Combine(Directory.CreateDirectory(Path.Combine(dir, "v1")).FullName, "swap-sink.so")));
        var v2 = await BuildFromCTemplate(Path.Combine(tremor.Directory, "build2"), "swap-sink", "", version: "0.2.0");
        var output = Path.Combine(tremor.Directory, "out.jsonl");
        var flow = $$"""
            tremor.flows.n {
              connectors {
                tick { type = metronome, config { interval = 10ms } }
                native { type = swap-sink }
                copy { type = file, codec = json, postprocessors = ["separate"], config { path = "{{output}}", mode = append } }
              }
              pipelines { main { type = passthrough } }
              links = ["tick -> main", "main -> native", "main -> copy"]
            }
            """;
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", flow)).Status);
        await Eventually(() => Ids(output).Count >= 5, "events before the swap");

        var (status, body) = await tremor.SendAsync(HttpMethod.Put, "/v1/plugins/swap-sink", JsonSerializer.Serialize(new { path = v2 }));
        Assert.True(status == 200, body.ToString());
        Assert.Equal(["n::native"], body.GetProperty("restarted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("0.2.0", body.GetProperty("version").GetString());
        Assert.Equal("0.1.0", body.GetProperty("previous_version").GetString());
        // The old instance was destroyed (the template logs its count in destroy); the new one receives events.
        await Eventually(() => tremor.Stderr.Contains("swap-sink: ", StringComparison.Ordinal) && tremor.Stderr.Contains(" events, ", StringComparison.Ordinal), "the old instance's destroy line");
        var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
        Assert.Equal(v2, Assert.Single(plugins.EnumerateArray(), p => p.GetProperty("name").GetString() == "swap-sink").GetProperty("path").GetString());
        var atSwap = Ids(output).Count;
        await Eventually(() => Ids(output).Count > atSwap + 5, "events after the swap");
        // The metronome (plugin std) was not restarted: one sequence from 0.
        var ids = Ids(output);
        Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => (long)i), ids);
        var (_, connectors) = await tremor.SendAsync(HttpMethod.Get, "/v1/connectors");
        var native = connectors.EnumerateArray().Single(c => c.GetProperty("alias").GetString() == "n::native");
        Assert.Equal("running", native.GetProperty("state").GetString());
        Assert.Equal(0, native.GetProperty("restarts").GetInt32());
    }

    private static long N(string? line) => JsonDocument.Parse(line ?? throw new InvalidOperationException("stdout ended")).RootElement.GetProperty("n").GetInt64();

    private static string MetronomeToFile(string name, string output) => $$"""
        tremor.flows.{{name}} {
          connectors {
            tick { type = metronome, config { interval = 10ms } }
            out { type = file, codec = json, postprocessors = ["separate"], config { path = "{{output}}", mode = append } }
          }
          pipelines { main { type = passthrough } }
          links = ["tick -> main", "main -> out"]
        }
        """;

    private static List<long> Ids(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).ToList() : [];

    /// <summary>Probes a condition of another process until true, or fails after 30 s.</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Builds the C plugin template as plugin <paramref name="name"/>, with <paramref name="afterInclude"/> after the header's include.</summary>
    private static async Task<string> BuildFromCTemplate(string dir, string name, string afterInclude, string version = "0.1.0")
    {
        var templates = Path.Combine(AppContext.BaseDirectory, "Templates", "c");
        var sub = Directory.CreateDirectory(Path.Combine(dir, Guid.NewGuid().ToString("N"))).FullName; // creates dir too
        File.Copy(Path.Combine(templates, "tremor_pdk.h"), Path.Combine(sub, "tremor_pdk.h"));
        var source = File.ReadAllText(Path.Combine(templates, "__NAME__.c"))
            .Replace("__NAME__", name, StringComparison.Ordinal)
            .Replace("\"0.1.0\"", $"\"{version}\"", StringComparison.Ordinal)
            .Replace("#include \"tremor_pdk.h\"", "#include \"tremor_pdk.h\"\n" + afterInclude, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(sub, name + ".c"), source);
        var output = Path.Combine(sub, name + ".so");
        using var gcc = System.Diagnostics.Process.Start("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", sub, "-o", output, Path.Combine(sub, name + ".c")])!;
        await gcc.WaitForExitAsync();
        Assert.Equal(0, gcc.ExitCode);
        return output;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tremor.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Tremor.sln above {AppContext.BaseDirectory}");
    }
}
