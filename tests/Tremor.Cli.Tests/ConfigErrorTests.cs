namespace Tremor.Cli.Tests;

/// <summary>
/// A bad flow file, run through the real CLI: exit code 2, one error line on stderr naming the file and the key
/// path (or line:column), and nothing on stdout because nothing started.
/// </summary>
public sealed class ConfigErrorTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-config-");

    public void Dispose() => _temp.Delete(recursive: true);

    public static TheoryData<string, string, string, string[]> BadFiles => new()
    {
        {
            "unclosed brace",
            Flow().TrimEnd()[..^1], // the closing brace of `tremor {` is missing
            ":1:8: syntax error",
            ["'{' is never closed"]
        },
        {
            "unknown connector type",
            Flow(metronome: "type = metronom, config { interval = 10ms, iterations = 3 }"),
            ": tremor.flows.ticks.connectors.metronome.type: ",
            ["unknown connector type 'metronom'", "loaded plugins provide: ", "stdio", "did you mean 'metronome'?"]
        },
        {
            "unknown port",
            Flow(links: "\"metronome/out -> main/in\", \"main/nope -> console/in\""),
            ": tremor.flows.ticks.links[1]: ",
            ["'main/nope -> console/in'", "pipeline 'main' has no output port 'nope'", "(it has: out, err)"]
        },
        {
            "link to nothing",
            Flow(links: "\"ghost/out -> main/in\", \"main/out -> console/in\""),
            ": tremor.flows.ticks.links[0]: ",
            ["links to 'ghost', which is no connector or pipeline of this flow", "known: metronome, console, main"]
        },
        {
            "wrong value type",
            Flow(metronome: "type = metronome, config { interval = 10ms, iterations = \"abc\" }"),
            ": tremor.flows.ticks.connectors.metronome.config.iterations: ",
            ["expected an integer", "abc"]
        },
        {
            "unknown key",
            Flow(metronome: "type = metronome, interval = 10ms, config { iterations = 3 }"),
            ": tremor.flows.ticks.connectors.metronome.interval: ",
            ["unknown key", "known keys are: type, codec,", "config"]
        },
        {
            "unknown codec",
            Flow(console: "type = stdio, codec = jsn, postprocessors = [\"separate\"]"),
            ": tremor.flows.ticks.connectors.console.codec: ",
            ["unknown codec 'jsn'", "json", "did you mean 'json'?"]
        },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task A_bad_file_is_one_error_line_naming_where_exit_2_and_nothing_runs(string name, string text, string where, string[] gist)
    {
        var file = Path.Combine(_temp.FullName, name.Replace(' ', '-') + ".conf");
        await File.WriteAllTextAsync(file, text);

        var result = await TremorProcess.RunAsync("run", file);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal("", result.Stdout);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith($"error: {file}{where}", line);
        foreach (var part in gist) Assert.Contains(part, line);
    }

    /// <summary>A valid flow (metronome → passthrough → stdio) with one part swapped for a broken one.</summary>
    private static string Flow(
        string metronome = "type = metronome, config { interval = 10ms, iterations = 3 }",
        string console = "type = stdio, codec = json, postprocessors = [\"separate\"]",
        string links = "\"metronome/out -> main/in\", \"main/out -> console/in\"") => $$"""
        tremor {
          flows {
            ticks {
              connectors {
                metronome { {{metronome}} }
                console { {{console}} }
              }
              pipelines { main { type = passthrough } }
              links = [{{links}}]
            }
          }
        }
        """;
}
