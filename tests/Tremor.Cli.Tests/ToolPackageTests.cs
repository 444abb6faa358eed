using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Tremor.Cli.Tests;

/// <summary>
/// <c>dotnet pack</c> of the CLI makes the <c>tremor</c> .NET tool: installed from a local folder it runs, and runs a
/// flow with the built-in plugins it carries.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_packed_tool_installs_from_a_local_folder_and_runs_a_flow_with_the_plugins_it_carries()
    {
        var packages = Path.Combine(_dir, "packages");
        // Packs what the build already made (the CLI and the plugins under artifacts/): nothing is compiled again.
        var pack = await Dotnet("pack", Path.Combine(Repo.Root, "Tremor.Cli", "Tremor.Cli.csproj"), "-c", Repo.Configuration, "--no-build", "-o", packages);
        Assert.True(pack.Code == 0, pack.Output);
        Assert.Single(Directory.GetFiles(packages, "tremor.*.nupkg"));

        // Only the local folder as a source, and a package cache of its own: nothing from elsewhere, nothing stale.
        var config = Path.Combine(_dir, "nuget.config");
        File.WriteAllText(config, $"""
            <configuration>
              <packageSources><clear /><add key="local" value="{packages}" /></packageSources>
            </configuration>
            """);
        var tools = Path.Combine(_dir, "tools");
        var install = await Dotnet("tool", "install", "tremor", "--tool-path", tools, "--configfile", config);
        Assert.True(install.Code == 0, install.Output);
        var tremor = Path.Combine(tools, "tremor");

        // The installed tool starts with the JIT tiering the CLI is built with (a whole passthrough run took ~1.3x as
        // long without it): call counting from the first call, promotion after 2000 calls.
        var runtimeConfig = JsonNode.Parse(File.ReadAllText(Directory.GetFiles(tools, "tremor.runtimeconfig.json", SearchOption.AllDirectories).Single()))!;
        var properties = runtimeConfig["runtimeOptions"]!["configProperties"]!;
        Assert.Equal(0, (int)properties["System.Runtime.TieredCompilation.CallCountingDelayMs"]!);
        Assert.Equal(2000, (int)properties["System.Runtime.TieredCompilation.CallCountThreshold"]!);

        var version = await Run(tremor, "--version");
        Assert.True(version.Code == 0, version.Output);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout);

        // The tool's own plugins/ folder is searched first: the std plugin loads from the installed package.
        var list = await Run(tremor, "plugins", "list");
        Assert.True(list.Code == 0, list.Output);
        var std = list.Stdout.Split('\n').Single(l => l.Contains("Tremor.Connectors.Std.dll", StringComparison.Ordinal) && l.Contains("loaded", StringComparison.Ordinal));
        Assert.Contains(tools, std);

        var flow = Path.Combine(_dir, "tick.conf");
        File.WriteAllText(flow, """
            tremor.flows.tick {
              connectors {
                tick { type = metronome, codec = json, config { interval = 1ms, iterations = 3 } }
                out { type = stdio, codec = json, postprocessors = [separate] }
              }
              links = ["tick -> out"]
            }
            """);
        var run = await Run(tremor, "run", flow);
        Assert.True(run.Code == 0, run.Output);
        Assert.True(run.Stdout.Split('\n').Count(l => l.StartsWith('{')) == 3, run.Output);
    }

    private async Task<Outcome> Dotnet(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(_dir, "nuget-cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        return await Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", args, environment);
    }

    private static Task<Outcome> Run(string program, params string[] args) => Run(program, args, new Dictionary<string, string>());

    private static async Task<Outcome> Run(string program, string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within 3 minutes");
        }
        var text = await stdout;
        output.Append(text).Append(await stderr);
        return new Outcome(process.ExitCode, text, $"{program} {string.Join(' ', args)}: exit {process.ExitCode}\n{output}");
    }

    /// <summary>A child's exit code, its stdout, and everything it printed (for a failed assertion's message).</summary>
    private sealed record Outcome(int Code, string Stdout, string Output);
}
