using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>Pipelines written in the query language, run through the CLI.</summary>
public sealed class QueryFlowTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-query-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task The_filter_example_keeps_exactly_the_error_records_of_data_json()
    {
        var result = await TremorProcess.RunAsync("run", "hocon/examples/filter.conf");
        Assert.True(result.ExitCode == 0, result.ToString());
        var levels = result.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("short_message").GetString()).ToList();
        Assert.Equal(37, levels.Count);
        Assert.All(levels, l => Assert.Equal("error", l!.ToLowerInvariant()));
    }

    [Fact]
    public async Task A_flow_with_a_broken_query_does_not_start_and_names_the_key_line_and_column()
    {
        var file = Path.Combine(_temp.FullName, "broken.conf");
        await File.WriteAllTextAsync(file, """
            tremor.flows.broken {
              connectors {
                tick { type = metronome, config { interval = 10ms, iterations = 3 } }
                console { type = stdio, codec = json, postprocessors = ["separate"] }
              }
              pipelines {
                main { query = "select string::upercase(event.onramp) from in into out;" }
              }
              links = ["tick -> main", "main -> console"]
            }
            """);
        var result = await TremorProcess.RunAsync("run", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Contains("tremor.flows.broken.pipelines.main.query:1:8: unknown function `string::upercase`", result.Stderr);
        Assert.Contains("did you mean `string::uppercase`?", result.Stderr);
        Assert.Contains("^", result.Stderr);
    }

    [Fact]
    public async Task A_link_to_a_port_the_query_does_not_write_is_refused()
    {
        var file = Path.Combine(_temp.FullName, "ports.conf");
        await File.WriteAllTextAsync(file, """
            tremor.flows.ports {
              connectors {
                tick { type = metronome, config { interval = 10ms, iterations = 3 } }
                console { type = stdio }
              }
              pipelines {
                main { query = "select event from in into out;" }
              }
              links = ["tick -> main", "main/alerts -> console"]
            }
            """);
        var result = await TremorProcess.RunAsync("run", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("tremor.flows.ports.links[1]", result.Stderr);
        Assert.Contains("pipeline 'main' has no output port 'alerts'", result.Stderr);
    }
}

/// <summary>A plugin folder the user names but that does not exist is said, not silently skipped.</summary>
public sealed class MissingPluginDirectoryTests
{
    [Fact]
    public async Task A_missing_plugins_folder_is_warned_about()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"tremor-no-such-dir-{Guid.NewGuid():N}");
        var result = await TremorProcess.RunAsync("plugins", "list", "--plugins", missing);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"warning: plugin directory {missing} does not exist", result.Stderr);
    }
}
