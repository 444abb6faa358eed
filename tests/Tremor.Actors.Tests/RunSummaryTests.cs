using Tremor.Actors.Flows;

namespace Tremor.Actors.Tests;

/// <summary>The run's last line and exit code from the tallies: what counts as lost.</summary>
public sealed class RunSummaryTests
{
    [Fact]
    public void Events_failed_back_to_their_transactional_source_are_not_lost()
    {
        // A sink that failed events a transactional source heard of (and replayed, or answered its peer with an error).
        var tallies = new[]
        {
            new DeliveryTally("f::src", Emitted: 100, Received: 0, Delivered: 0, Failed: 0, Dropped: 0, InFlight: 0),
            new DeliveryTally("f::snk", Emitted: 0, Received: 110, Delivered: 100, Failed: 0, Dropped: 0, InFlight: 0, FailedBack: 10),
        };
        var summary = RunSummary.From(tallies, [], requestedCode: 0, abandoned: null);
        Assert.Equal(0, summary.ExitCode);
        Assert.Equal("every accepted event was delivered or failed back to its transactional source (100 from sources, 100 delivered by sinks, 10 failed back)", summary.Line);
    }

    [Fact]
    public void Failed_events_no_source_heard_of_are_lost_and_counted_beside_those_failed_back()
    {
        var tallies = new[]
        {
            new DeliveryTally("f::snk", Emitted: 0, Received: 50, Delivered: 40, Failed: 3, Dropped: 0, InFlight: 0, FailedBack: 7),
        };
        var summary = RunSummary.From(tallies, [], requestedCode: 0, abandoned: null);
        Assert.Equal(RunSummary.Lost, summary.ExitCode);
        Assert.Equal("error: 3 event(s) not delivered: f::snk 3 failed, 7 failed back to their source (received 50, delivered 40)", summary.Line);
    }

    [Fact]
    public void A_failed_flow_whose_events_were_all_failed_back_says_nothing_was_lost_and_why_it_failed()
    {
        var tallies = new[] { new DeliveryTally("f::snk", Emitted: 0, Received: 5, Delivered: 0, Failed: 0, Dropped: 0, InFlight: 0, FailedBack: 5) };
        var summary = RunSummary.From(tallies, ["flow 'f' failed: connector 'f::snk' failed"], requestedCode: 0, abandoned: null);
        Assert.Equal(RunSummary.Lost, summary.ExitCode);
        Assert.Equal("error: no event lost (0 delivered by sinks; f::snk 5 failed back to their source (received 5, delivered 0)); flow 'f' failed: connector 'f::snk' failed", summary.Line);
    }
}
