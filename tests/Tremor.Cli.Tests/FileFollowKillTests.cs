using System.Text;
using Xunit.Abstractions;

namespace Tremor.Cli.Tests;

/// <summary>
/// <c>file</c> follow → pipeline → <c>file</c> sink in a real <c>tremor</c>, killed with SIGKILL at random moments while
/// a writer appends (and rotates the file once), then restarted on the same data directory: every line written before
/// a kill reaches the output; only lines in flight at a kill may come twice.
/// </summary>
public sealed class FileFollowKillTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-follow-");

    public void Dispose() => _temp.Delete(recursive: true);

    private string In => Path.Combine(_temp.FullName, "in.log");

    private string Out => Path.Combine(_temp.FullName, "out.log");

    private async Task<string> FlowAsync()
    {
        var file = Path.Combine(_temp.FullName, "follow.conf");
        await File.WriteAllTextAsync(file, $$"""
            tremor {
              data-dir = "{{Path.Combine(_temp.FullName, "data")}}"
              flows {
                tail {
                  connectors {
                    logs { type = file, codec = string, config { mode = follow, path = "{{In}}", poll-interval = 50ms } }
                    copy { type = file, codec = string, postprocessors = ["separate"], config { mode = append, path = "{{Out}}" } }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["logs -> main", "main -> copy"]
                }
              }
            }
            """);
        return file;
    }

    /// <summary>Appends lines <paramref name="from"/>.. in small writes; renames the file and starts a new one at <paramref name="rotateAt"/>.</summary>
    private async Task WriteAsync(int from, int count, int? rotateAt)
    {
        for (var i = from; i < from + count;)
        {
            var text = new StringBuilder();
            for (var end = Math.Min(i + 25, from + count); i < end; i++)
            {
                if (i == rotateAt)
                {
                    await AppendAsync(text);
                    text.Clear();
                    File.Move(In, In + ".1");
                }
                text.Append("line-").Append(i).Append('\n');
            }
            await AppendAsync(text);
            // A writer at its own pace (not a synchronisation): the kills fall while lines are still coming.
            await Task.Delay(5);
        }
    }

    private async Task AppendAsync(StringBuilder text)
    {
        if (text.Length == 0) return;
        await using var stream = new FileStream(In, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()));
    }

    private List<string> OutLines() =>
        File.Exists(Out) ? File.ReadAllText(Out).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList() : [];

    /// <summary>Waits, bounded, for the output to satisfy <paramref name="condition"/>, re-reading it as it grows.</summary>
    private async Task AwaitOutputAsync(Func<List<string>, bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition(OutLines()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the output did not reach {what} within {within.TotalSeconds:0}s ({OutLines().Count} lines)");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Kill_9_at_random_moments_loses_no_line_written_before_it()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var flow = await FlowAsync();
        await File.WriteAllTextAsync(In, "");
        var written = 0;
        const int rounds = 3;
        for (var round = 0; round < rounds; round++)
        {
            var burst = random.Next(400, 1200);
            var before = OutLines().Count;
            var tremor = TremorProcess.Start(["run", flow], _temp.FullName);
            var writer = Task.CompletedTask;
            try
            {
                // Lines come while the source runs (the restart reads what came while it was down first).
                await tremor.StderrShows("following").WaitAsync(TremorProcess.DefaultTimeout);
                // The rotation falls in the middle of the second round's burst.
                writer = WriteAsync(written, burst, round == 1 ? written + burst / 2 : null);
                // A random moment mid-stream: part of this round's lines reached the output, not all of them.
                var killAfter = random.Next(1, burst);
                await AwaitOutputAsync(lines => lines.Count >= before + killAfter, TimeSpan.FromSeconds(60), $"{killAfter} more lines");
            }
            finally
            {
                await tremor.DisposeAsync(); // SIGKILL, the whole process tree
                await writer;
            }
            written += burst;
            output.WriteLine($"round {round}: wrote {burst}, killed after {OutLines().Count - before} new output line(s)");
        }

        await using (var last = TremorProcess.Start(["run", flow], _temp.FullName))
        {
            await last.StderrShows("following").WaitAsync(TremorProcess.DefaultTimeout);
            await WriteAsync(written, 200, null);
            written += 200;
            await AwaitOutputAsync(lines => lines.Distinct().Count() >= written, TimeSpan.FromSeconds(60), $"all {written} lines");
            last.Terminate();
            var result = await last.WaitAsync(TremorProcess.DefaultTimeout);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        var lines = OutLines();
        var expected = Enumerable.Range(0, written).Select(i => $"line-{i}").ToHashSet();
        var lost = expected.Except(lines).ToList();
        var duplicates = lines.Count - lines.Distinct().Count();
        output.WriteLine($"seed {seed}: {written} lines written, {lines.Count} in the output, lost {lost.Count}, duplicates {duplicates}");
        Assert.True(lost.Count == 0, $"lost {lost.Count} line(s), e.g. {string.Join(", ", lost.Take(5))} (seed {seed})");
        Assert.All(lines, l => Assert.Contains(l, expected));
    }
}
