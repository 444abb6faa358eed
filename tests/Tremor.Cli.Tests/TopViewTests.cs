using Spectre.Console;
using Tremor.Cli.Top;

namespace Tremor.Cli.Tests;

/// <summary>What one frame of <c>tremor top</c> says, from snapshots written here (the live tests run it against tremor).</summary>
public sealed class TopViewTests
{
    private static StatusSnapshot Snapshot(long uptimeMs, long eventsIn, string? lastError = null, string state = "running") => new(
        uptimeMs,
        "1.0.0",
        [new StatusSnapshot.Flow("f", "running", ["out"], [])],
        [new StatusSnapshot.Connector("f::out", "f", "file", "file", state, 0, eventsIn, 0, 0, 0, lastError, false)],
        [new StatusSnapshot.Plugin("file", "0.1.0", "connector", "loaded", null, ["connector:file"])],
        null);

    private static string Frame(StatusSnapshot? before, StatusSnapshot? now, string? problem = null)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(text) });
        console.Profile.Width = 200;
        console.Write(TopView.Render("http://127.0.0.1:9898", before, now, problem, DateTimeOffset.Now, live: true));
        return text.ToString();
    }

    private static string[] Row(string frame) => frame.Split('\n').Single(l => l.TrimStart().StartsWith("f::out ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void A_rate_is_the_counter_difference_over_the_API_clock_and_unknown_on_the_first_frame_or_after_a_redeploy()
    {
        Assert.Equal("-", Row(Frame(null, Snapshot(1_000, 50)))[4]);
        Assert.Equal("25.0", Row(Frame(Snapshot(1_000, 50), Snapshot(3_000, 100)))[4]);
        Assert.Equal("1,500", Row(Frame(Snapshot(1_000, 0), Snapshot(2_000, 1_500)))[4]);
        // The connector was created again (its totals start over): no rate rather than a negative one.
        Assert.Equal("-", Row(Frame(Snapshot(1_000, 500), Snapshot(2_000, 10)))[4]);
        // tremor started again (its clock starts over).
        Assert.Equal("-", Row(Frame(Snapshot(9_000, 50), Snapshot(1_000, 60)))[4]);
    }

    [Fact]
    public void Errors_and_problems_are_shown_as_written_even_when_they_look_like_markup()
    {
        var frame = Frame(null, Snapshot(1_000, 0, lastError: "[Errno 13] /var/log/[app].log: permission denied", state: "failed"), problem: "no tremor API at [::1]:9898");
        Assert.Contains("[Errno 13] /var/log/[app].log: permission denied", frame);
        Assert.Contains("no tremor API at [::1]:9898", frame);
        Assert.Equal("failed", Row(frame)[3]);
    }

    [Fact]
    public void Before_the_first_answer_the_frame_says_what_went_wrong()
    {
        var frame = Frame(null, null, "the tremor API at http://127.0.0.1:9898 refused the token in /x/token (401)");
        Assert.Contains("refused the token", frame);
        Assert.DoesNotContain("CONNECTOR", frame);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2000)]
    [InlineData("1.5", 1500)]
    [InlineData("1m", 60_000)]
    public void Intervals_read_as_people_write_them(string text, double ms)
    {
        Assert.True(TopCommand.TryParseInterval(text, out var interval));
        Assert.Equal(ms, interval.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("-1s")]
    [InlineData("0")]
    public void Intervals_that_are_not_durations_are_refused(string text) => Assert.False(TopCommand.TryParseInterval(text, out _));
}
