using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary><c>tremor run</c> as a user runs it: a real process, its stdout, stderr and exit code.</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-run-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Hello_prints_five_ticks_as_json_lines_and_exits_0()
    {
        var result = await TremorProcess.RunAsync("run", "hocon/examples/hello.conf");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.EndsWith("\n", result.Stdout);
        var ids = AssertTicks(result);
        Assert.Equal([0, 1, 2, 3, 4], ids);
        Assert.DoesNotContain("ERROR", result.Stderr);
    }

    [Fact]
    public async Task Sigterm_drains_an_endless_flow_and_exits_0_with_only_complete_lines()
    {
        var file = Path.Combine(_temp.FullName, "endless.conf");
        await File.WriteAllTextAsync(file, """
            tremor {
              flows {
                endless {
                  connectors {
                    metronome { type = metronome, config { interval = 20ms } }
                    console { type = stdio, codec = json, postprocessors = ["separate"] }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["metronome/out -> main/in", "main/out -> console/in"]
                }
              }
            }
            """);
        await using var tremor = TremorProcess.Start(["run", file]);

        await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);
        tremor.Terminate();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.EndsWith("\n", result.Stdout);
        var ids = AssertTicks(result);
        Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => (long)i), ids);
        Assert.Contains("SIGTERM", result.Stderr);
        Assert.DoesNotContain("ERROR", result.Stderr);
    }

    [Theory]
    [InlineData("segfault")]
    [InlineData("abort")]
    public async Task A_crash_inside_an_in_process_plugin_call_names_the_plugin_and_the_call_on_stderr(string mode)
    {
        var file = Path.Combine(_temp.FullName, "crash.conf");
        await File.WriteAllTextAsync(file, """
            tremor {
              flows {
                crash {
                  connectors {
                    counter { type = c-counter, codec = json, config { iterations = 10 } }
                    crashy { type = c-crasher, codec = json, config { mode = MODE, marker = "5}" } }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["counter/out -> main/in", "main/out -> crashy/in"]
                }
              }
            }
            """.Replace("MODE", mode, StringComparison.Ordinal));
        var result = await TremorProcess.RunAsync("run", file);

        // The runtime dies with the plugin (in-process), but the operator learns where.
        Assert.True(result.ExitCode != 0, result.ToString());
        var line = Assert.Single(result.StderrLines, l => l.StartsWith("tremor: crashed inside plugin ", StringComparison.Ordinal));
        Assert.Matches(@"^tremor: crashed inside plugin c-crasher \(/.+\.so\) in sink_batch$", line);
    }

    /// <summary>Every stdout line is a whole JSON record from the metronome; returns the ids in order.</summary>
    private static List<long> AssertTicks(CliResult result)
    {
        var ids = new List<long>();
        foreach (var line in result.StdoutLines)
        {
            using var json = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
            Assert.Equal("metronome", json.RootElement.GetProperty("onramp").GetString());
            ids.Add(json.RootElement.GetProperty("id").GetInt64());
        }
        Assert.NotEmpty(ids);
        return ids;
    }
}
