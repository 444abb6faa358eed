using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>The text codecs through the whole runtime: file source, codec, query, json sink.</summary>
public sealed class CodecFlowTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-codecs-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Syslog_lines_from_a_file_reach_a_query_in_tremors_shape_and_a_bad_line_goes_to_err_with_its_byte()
    {
        var input = Path.Combine(_temp.FullName, "messages.log");
        await File.WriteAllTextAsync(input, string.Join('\n',
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event",
            "<999>1 - - - - - - not a priority",
            "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar") + "\n");
        var errors = Path.Combine(_temp.FullName, "errors.json");
        var file = Path.Combine(_temp.FullName, "syslog.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor.flows.syslog {
              connectors {
                in { type = file, codec = syslog, preprocessors = ["separate"], config { path = "{{input}}" } }
                out { type = stdio, codec = { name = json, config { mode = sorted } }, postprocessors = ["separate"] }
                errors { type = file, codec = json, postprocessors = ["separate"], config { path = "{{errors}}", mode = truncate } }
              }
              pipelines {
                main { query = "select { \"host\": event.hostname, \"severity\": event.severity, \"facility\": event.facility, \"app\": event.appname, \"protocol\": event.protocol, \"msg\": event.msg } from in into out;" }
              }
              links = ["in -> main", "main -> out", "in/err -> errors"]
            }
            """);
        var result = await TremorProcess.RunAsync("run", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            [
                """{"app":"evntslog","facility":"local4","host":"mymachine.example.com","msg":"An application event","protocol":"RFC5424","severity":"notice"}""",
                """{"app":"root","facility":"user","host":"74794bfb6795","msg":"i am foobar","protocol":"RFC3164","severity":"notice"}""",
            ],
            result.StdoutLines);
        var error = JsonDocument.Parse(Assert.Single(File.ReadAllLines(errors))).RootElement;
        Assert.Contains("invalid syslog at byte 1: PRI must be a number from 0 to 191", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
