using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>How <c>tremor run</c> ends: signals drain (a second one stops at once), and the exit code and last line tell what was delivered.</summary>
public sealed class ShutdownTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-shutdown-");

    public void Dispose() => _temp.Delete(recursive: true);

    /// <summary>
    /// Ticks go to stdout and to a blackhole that takes <paramref name="delay"/> per batch. With two credits per link,
    /// the blackhole holds a batch in its plugin and one queued, and the pipeline up to two more: a drain takes
    /// several delays (seconds), longer than System.CommandLine's 2 s termination timeout.
    /// </summary>
    private async Task<string> SlowFlowAsync(string delay)
    {
        var file = Path.Combine(_temp.FullName, "slow.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor {
              data-path { credits = 2 }
              flows {
                slow {
                  connectors {
                    metronome { type = metronome, config { interval = 10ms } }
                    console { type = stdio, codec = json, postprocessors = ["separate"] }
                    hole { type = blackhole, config { delay = {{delay}} } }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["metronome/out -> main/in", "main/out -> console/in", "main/out -> hole/in"]
                }
              }
            }
            """);
        return file;
    }

    [Theory]
    [InlineData("SIGTERM")]
    [InlineData("SIGINT")]
    public async Task A_signal_drains_a_sink_that_needs_seconds_and_everything_is_delivered_exit_0(string signal)
    {
        await using var tremor = TremorProcess.Start(["run", await SlowFlowAsync("1500ms")]);
        await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);

        if (signal == "SIGTERM") tremor.Terminate();
        else tremor.Interrupt();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"received {signal}", result.Stderr);
        // Every tick the metronome emitted reached stdout, in order, and the slow blackhole got as many.
        var ticks = result.StdoutLines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(0, ticks.Count).Select(i => (long)i), ticks);
        var report = result.StdoutLines.Single(l => l.StartsWith("BENCH ", StringComparison.Ordinal));
        Assert.Equal(ticks.Count, JsonDocument.Parse(report["BENCH ".Length..]).RootElement.GetProperty("events").GetInt64());
        // Two sinks: each tick delivered twice.
        Assert.Equal($"every accepted event was delivered ({ticks.Count} from sources, {2 * ticks.Count} delivered by sinks)", result.StderrLines[^1]);
    }

    [Fact]
    public async Task A_second_signal_during_the_drain_stops_at_once_exit_1_and_the_last_line_counts_what_was_abandoned()
    {
        // A sink that would take an hour per batch: only the second signal can end this run.
        await using var tremor = TremorProcess.Start(["run", await SlowFlowAsync("1h")]);
        await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);
        tremor.Terminate();
        await tremor.StderrShows("draining").WaitAsync(TremorProcess.DefaultTimeout);

        tremor.Interrupt();
        var result = await tremor.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 1, result.ToString());
        var last = result.StderrLines[^1];
        Assert.StartsWith("error: received SIGINT during the drain: stopped without draining; ", last);
        Assert.Matches(@"\d+ event\(s\) not delivered: .*slow::hole \d+ in flight when stopped", last);
    }

    [Fact]
    public async Task A_source_that_cannot_start_ends_the_run_1_naming_it()
    {
        // The port is taken: the tcp_server cannot listen.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var file = Path.Combine(_temp.FullName, "taken.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor {
              flows {
                listen {
                  connectors {
                    server { type = tcp_server, preprocessors = ["separate"], config { url = "127.0.0.1:{{port}}" } }
                    console { type = stdio, codec = json, postprocessors = ["separate"] }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["server/out -> main/in", "main/out -> console/in"]
                }
              }
            }
            """);

        var result = await TremorProcess.RunAsync("run", file);

        Assert.True(result.ExitCode == 1, result.ToString());
        var last = result.StderrLines[^1];
        Assert.StartsWith("error: ", last);
        Assert.Contains("flow 'listen' failed: connector 'listen::server' failed: could not connect after 1 attempt(s)", last);
        Assert.DoesNotContain("every flow completed", result.Stderr);
    }
}
