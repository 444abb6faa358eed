using System.Text.Json.Nodes;

namespace Tremor.Cli.Tests;

/// <summary><c>tremor run query.trickle &lt; events.jsonl</c>: a query or script tried on JSON lines, without a flow.</summary>
public sealed class QueryRunTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-query-");

    public void Dispose() => _temp.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_temp.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static List<string> Compact(CliResult result) =>
        result.StdoutLines.Select(l => JsonNode.Parse(l)!.ToJsonString()).ToList();

    [Fact]
    public async Task A_query_prints_every_output_in_order_and_a_failed_event_in_Tremors_error_shape_on_stderr()
    {
        var query = Write("route.trickle", """
            define script route
            script
              match event.kind of
                case "loud" => emit {"shout": string::uppercase(event.text)} => "loud"
                default => {"said": event.text}
              end
            end;
            create script route;
            select event from in where event.kind != "skip" into route;
            select event from route into out;
            select {"port": "loud", "v": event} from route/loud into out;
            select event from route/err into err;
            """);

        var result = await TremorProcess.RunWithInputAsync(
            """
            {"kind": "quiet", "text": "a"}
            {"kind": "skip", "text": "b"}
            {"kind": "loud", "text": "c"}
            {"text": "no kind"}

            {"kind": "quiet", "text": "d"}
            """,
            "run", query);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["""{"said":"a"}""", """{"port":"loud","v":{"shout":"C"}}""", """{"said":"d"}"""], Compact(result));
        // The event without `kind` failed in the where clause and nothing routed it: like Tremor, the error and the
        // event it failed on are reported on stderr.
        var failed = JsonNode.Parse(Assert.Single(result.StderrLines))!.AsObject();
        Assert.Equal("""{"text":"no kind"}""", failed["event"]!.ToJsonString());
        Assert.Matches(@"route\.trickle:9:\d+: .*kind", failed["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_script_keeps_state_across_events_and_a_bad_line_is_reported_and_skipped()
    {
        var script = Write("count.tremor", """
            let state = match state of
              case null => 1
              default => state + 1
            end;
            {"n": state, "v": event}
            """);

        var result = await TremorProcess.RunWithInputAsync("1\n{oops\n\"two\"\n3\n", "run", script);

        // A line that is not JSON is named by its line number; the others still ran; the exit code says one was bad.
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("stdin:2: not JSON", result.Stderr);
        Assert.Equal(["""{"n":1,"v":1}""", """{"n":2,"v":"two"}""", """{"n":3,"v":3}"""], Compact(result));
    }

    [Fact]
    public async Task A_query_that_does_not_compile_exits_2_naming_the_file_line_and_column()
    {
        var query = Write("bad.trickle", "select event\nfrom nowhere into out;\n");

        var result = await TremorProcess.RunWithInputAsync("1\n", "run", query);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("bad.trickle:2:6: unknown stream `nowhere`", result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Open_windows_emit_at_the_end_of_input_unless_no_flush_is_given()
    {
        var query = Write("win.trickle", """
            define window two from tumbling with size = 2 end;
            select aggr::stats::count() from in[two] into out;
            """);
        const string events = "1\n2\n3\n";

        var flushed = await TremorProcess.RunWithInputAsync(events, "run", query);
        var kept = await TremorProcess.RunWithInputAsync(events, "run", query, "--no-flush");

        Assert.True(flushed.ExitCode == 0, flushed.ToString());
        Assert.Equal(["2", "1"], flushed.StdoutLines);
        Assert.True(kept.ExitCode == 0, kept.ToString());
        Assert.Equal(["2"], kept.StdoutLines);
    }

    [Fact]
    public async Task Ingest_ns_index_makes_interval_windows_the_same_on_every_run()
    {
        var query = Write("every3.trickle", """
            define window three_ns from tumbling with interval = 3 end;
            select aggr::win::collect_flattened(event) from in[three_ns] into out;
            """);

        // ingest_ns 0..6: windows [0, 3), [3, 6), and 6 flushed at the end of the input.
        var result = await TremorProcess.RunWithInputAsync("\"a\"\n\"b\"\n\"c\"\n\"d\"\n\"e\"\n\"f\"\n\"g\"\n", "run", query, "--ingest-ns", "Index");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["""["a","b","c"]""", """["d","e","f"]""", """["g"]"""], Compact(result));
    }
}
