namespace Tremor.Cli.Tests;

/// <summary>A query file that uses a module file beside it, run through <c>tremor run</c>.</summary>
public sealed class QueryModuleTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-modules-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task A_query_file_uses_the_module_next_to_it_and_a_missing_module_stops_the_flow_at_the_use()
    {
        await File.WriteAllTextAsync(Path.Combine(_temp.FullName, "helpers.tremor"), "fn label(id) with \"tick-#{id}\" end;\n");
        await File.WriteAllTextAsync(Path.Combine(_temp.FullName, "main.trickle"), "use helpers;\nselect helpers::label(event.id) from in into out;\n");
        await File.WriteAllTextAsync(Path.Combine(_temp.FullName, "broken.trickle"), "use nowhere;\nselect event from in into out;\n");
        var ok = await RunAsync("main.trickle");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal(["\"tick-0\"", "\"tick-1\"", "\"tick-2\""], ok.StdoutLines);

        var broken = await RunAsync("broken.trickle");
        Assert.Equal(2, broken.ExitCode);
        Assert.Contains($"{Path.Combine(_temp.FullName, "broken.trickle")}:1:1: module `nowhere` not found", broken.Stderr);
    }

    private async Task<CliResult> RunAsync(string queryFile)
    {
        var flow = Path.Combine(_temp.FullName, Path.ChangeExtension(queryFile, ".conf"));
        await File.WriteAllTextAsync(flow, $$"""
            tremor.flows.modules {
              connectors {
                tick { type = metronome, config { interval = 10ms, iterations = 3 } }
                console { type = stdio, codec = json, postprocessors = ["separate"] }
              }
              pipelines {
                main { query-file = "{{Path.Combine(_temp.FullName, queryFile)}}" }
              }
              links = ["tick -> main", "main -> console"]
            }
            """);
        return await TremorProcess.RunAsync("run", flow);
    }
}
