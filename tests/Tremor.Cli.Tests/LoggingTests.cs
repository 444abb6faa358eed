using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Tremor.Actors.Configuration;
using Tremor.Cli.Hosting;

namespace Tremor.Cli.Tests;

/// <summary><c>tremor.log</c>: one level and one format for tremor's, Akka's and ASP.NET Core's log lines, on stderr.</summary>
public sealed class LoggingTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-logging-");

    public void Dispose() => _temp.Delete(recursive: true);

    private async Task<CliResult> RunAsync(string log)
    {
        var file = Path.Combine(_temp.FullName, "once.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor {
              log { {{log}} }
              flows.once {
                connectors {
                  tick { type = metronome, config { interval = 10ms, iterations = 1 } }
                  out { type = null }
                }
                links = ["tick -> out"]
              }
            }
            """);
        return await TremorProcess.RunAsync("run", file);
    }

    [Fact]
    public async Task By_default_the_runtime_logs_info_lines_as_time_level_message_and_the_summary_stays_last()
    {
        var result = await RunAsync("");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.StderrLines, l => Regex.IsMatch(l, @"^\d\d:\d\d:\d\d\.\d{3} INFO  runtime finished: every flow completed$"));
        Assert.StartsWith("every accepted event was delivered", result.StderrLines[^1]);
    }

    [Fact]
    public async Task At_level_warning_the_info_lines_are_gone_and_the_run_still_reports_its_end()
    {
        var result = await RunAsync("level = warning");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(result.StderrLines, l => l.Contains(" INFO ", StringComparison.Ordinal));
        Assert.StartsWith("every accepted event was delivered", result.StderrLines[^1]);
    }

    [Fact]
    public async Task Format_json_writes_each_log_line_as_one_json_object()
    {
        var result = await RunAsync("format = json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var entries = result.StderrLines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var finished = Assert.Single(entries, e => e.GetProperty("message").GetString() == "runtime finished: every flow completed");
        Assert.Equal("info", finished.GetProperty("level").GetString());
        Assert.True(DateTime.TryParse(finished.GetProperty("time").GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out _));
        Assert.DoesNotContain(result.StderrLines, l => Regex.IsMatch(l, @"^\d\d:\d\d:\d\d\.\d{3} "));
    }

    [Fact]
    public async Task An_unknown_level_is_refused_naming_the_key_and_nothing_starts()
    {
        var result = await RunAsync("level = loud");

        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("tremor.log.level: expected debug, info, warning, error or off, found \"loud\"", result.StderrLines[^1]);
    }

    [Fact]
    public void A_text_line_keeps_the_format_names_a_foreign_category_and_cannot_be_split_by_a_newline_in_the_message()
    {
        var at = new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);

        Assert.Equal("03:04:05.678 WARN  flow 'a\\nb': gone | IOException: peer reset", StderrLoggerProvider.Text(at, LogLevel.Warning, "Akka.Actor.ActorSystem", "flow 'a\nb': gone", new IOException("peer reset")));
        Assert.Equal("03:04:05.678 ERROR Microsoft.AspNetCore.Server.Kestrel: bad request", StderrLoggerProvider.Text(at, LogLevel.Error, "Microsoft.AspNetCore.Server.Kestrel", "bad request", null));
    }
}
