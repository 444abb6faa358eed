using System.Security.Cryptography;
using System.Text.Json;

namespace Tremor.Api.Tests;

/// <summary>
/// Plugins loaded through the API and the watcher while a flow runs: a second provider of a connector type and a
/// second plugin of a name are refused with 409 naming both files, nothing of them (or of a deleted plugin) stays
/// mapped, a file refused while half-copied is checked again once complete, and the running flow never stops.
/// </summary>
public sealed class PluginConflictTests
{
    private static string MetronomeToFile(string output) => $$"""
        tremor.flows.ticks {
          connectors {
            tick { type = metronome, config { interval = 10ms } }
            out { type = file, codec = json, postprocessors = ["separate"], config { path = "{{output}}", mode = append } }
          }
          pipelines { main { type = passthrough } }
          links = ["tick -> main", "main -> out"]
        }
        """;

    private static int Lines(string file) => File.Exists(file) ? File.ReadAllLines(file).Length : 0;

    /// <summary>Probes a condition in the other process until true or 30 s passed.</summary>
    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Builds the C template as plugin <paramref name="name"/> into <paramref name="output"/>.</summary>
    private static async Task<string> BuildTemplate(string name, string output, string prefix = "")
    {
        var build = Directory.CreateTempSubdirectory("tremor-template-").FullName;
        var templates = Path.Combine(AppContext.BaseDirectory, "Templates", "c");
        File.Copy(Path.Combine(templates, "tremor_pdk.h"), Path.Combine(build, "tremor_pdk.h"));
        File.WriteAllText(Path.Combine(build, "plugin.c"), prefix + File.ReadAllText(Path.Combine(templates, "__NAME__.c")).Replace("__NAME__", name, StringComparison.Ordinal));
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        using (var gcc = System.Diagnostics.Process.Start("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", build, "-o", output, Path.Combine(build, "plugin.c")]))
        {
            await gcc!.WaitForExitAsync();
            Assert.Equal(0, gcc.ExitCode);
        }
        Directory.Delete(build, recursive: true);
        return output;
    }

    private static string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    private static async Task<JsonElement?> Plugin(TremorProcess tremor, string path)
    {
        var (_, plugins) = await tremor.SendAsync(HttpMethod.Get, "/v1/plugins");
        return plugins.EnumerateArray().Where(p => p.GetProperty("path").GetString() == path).Select(p => (JsonElement?)p).FirstOrDefault();
    }

    [Fact]
    public async Task A_second_provider_or_name_is_409_naming_both_files_and_after_delete_nothing_stays_mapped_while_a_flow_runs()
    {
        await using var tremor = await TremorProcess.StartAsync("tremor.api.allow-untrusted-load = on");
        var output = Path.Combine(tremor.Directory, "out.jsonl");
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile(output))).Status);
        await Eventually(() => Task.FromResult(Lines(output) >= 5), "the flow to run");

        // An impostor `file` provider.
        var impostor = await BuildTemplate("file", Path.Combine(tremor.Directory, "impostor", "file.so"));
        var (status, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/plugins", JsonSerializer.Serialize(new { path = impostor }));
        Assert.Equal(409, status);
        var error = body.GetProperty("error").GetString()!;
        Assert.StartsWith($"{impostor}: a plugin named 'file' is already loaded from ", error);
        Assert.Contains("Tremor.Connectors.File.dll", error);

        // Two files of one plugin name.
        var first = await BuildTemplate("twin", Path.Combine(tremor.Directory, "a", "twin.so"));
        var second = await BuildTemplate("twin", Path.Combine(tremor.Directory, "b", "twin.so"));
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/plugins", JsonSerializer.Serialize(new { path = first }))).Status);
        (status, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/plugins", JsonSerializer.Serialize(new { path = second }));
        Assert.Equal(409, status);
        Assert.Equal(
            $"{second}: a plugin named 'twin' is already loaded from {first}; unload it first (DELETE /v1/plugins/twin) or replace it (PUT /v1/plugins/twin)",
            body.GetProperty("error").GetString());
        Assert.Equal(409, (await tremor.SendAsync(HttpMethod.Post, "/v1/plugins", JsonSerializer.Serialize(new { path = first }))).Status);

        // Used in-process (so it is mapped), then deleted: nothing of any of them stays mapped.
        var flow = """
            tremor.flows.twins {
              connectors {
                tick { type = metronome, config { interval = 10ms, iterations = 3 } }
                out { type = twin }
              }
              links = ["tick -> out"]
            }
            """;
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", flow)).Status);
        await Eventually(async () =>
        {
            var (_, connectors) = await tremor.SendAsync(HttpMethod.Get, "/v1/connectors");
            return connectors.EnumerateArray().Any(c => c.GetProperty("alias").GetString() == "twins::out" && c.GetProperty("events_in").GetInt64() == 3);
        }, "three events at the twin sink");
        Assert.Contains(Sha(first), File.ReadAllText($"/proc/{tremor.Pid}/maps"));
        Assert.Equal(200, (await tremor.SendAsync(HttpMethod.Delete, "/v1/plugins/twin?force=true")).Status);

        var maps = File.ReadAllText($"/proc/{tremor.Pid}/maps");
        foreach (var file in new[] { impostor, first, second })
        {
            Assert.DoesNotContain(Sha(file), maps);
            Assert.DoesNotContain(file, maps);
        }
        var before = Lines(output);
        await Eventually(() => Task.FromResult(Lines(output) >= before + 5), "the first flow to keep running");
    }

    [Fact]
    public async Task Under_watch_an_aborting_plugin_is_refused_and_a_half_copied_file_is_checked_again_once_complete_while_a_flow_keeps_running()
    {
        await using var tremor = await TremorProcess.StartAsync(
            "tremor.plugins { directories = [\"watched\"], watch = on }",
            dir => Directory.CreateDirectory(Path.Combine(dir, "watched")));
        var output = Path.Combine(tremor.Directory, "out.jsonl");
        Assert.Equal(201, (await tremor.SendAsync(HttpMethod.Post, "/v1/flows", MetronomeToFile(output))).Status);
        // A plugin whose constructor aborts lands first: before, it killed the runtime as soon as it was loaded.
        var boom = await BuildTemplate(
            "boom", Path.Combine(tremor.Directory, "build", "boom.so"), "#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) { abort(); }\n");
        var boomTarget = Path.Combine(tremor.Directory, "watched", "boom.so");
        File.Move(boom, boomTarget);
        await Eventually(async () => await Plugin(tremor, boomTarget) is { } p && p.GetProperty("status").GetString() == "refused", "the aborting plugin to be refused");
        Assert.Contains("killed by signal 6 (SIGABRT) while loading (in its static constructors)", (await Plugin(tremor, boomTarget))!.Value.GetProperty("reason").GetString());

        var built = await BuildTemplate("late-sink", Path.Combine(tremor.Directory, "build", "late-sink.so"));
        var bytes = await File.ReadAllBytesAsync(built);
        var target = Path.Combine(tremor.Directory, "watched", "late-sink.so");

        // A copy caught half-way: refused as truncated.
        await File.WriteAllBytesAsync(target, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        await Eventually(async () => await Plugin(tremor, target) is { } p && p.GetProperty("status").GetString() == "refused", "the half copy to be refused");
        Assert.Contains("(truncated)", (await Plugin(tremor, target))!.Value.GetProperty("reason").GetString());

        // The copy completes: the watcher checks it again and loads it.
        await File.WriteAllBytesAsync(target, bytes);
        await Eventually(async () => await Plugin(tremor, target) is { } p && p.GetProperty("status").GetString() == "loaded", "the completed copy to load");
        Assert.Equal("late-sink", (await Plugin(tremor, target))!.Value.GetProperty("name").GetString());

        var before = Lines(output);
        await Eventually(() => Task.FromResult(Lines(output) >= before + 5), "the flow to keep running");
    }
}
