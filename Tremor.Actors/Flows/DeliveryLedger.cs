using System.Collections.Concurrent;

namespace Tremor.Actors.Flows;

/// <summary>
/// What one connector or pipeline did with the events it was handed, as counted by its actor and reported when it
/// finished and when it stopped. <paramref name="InFlight"/> is what it still held then (lost, if it stopped).
/// <paramref name="Failed"/> events reached no one that could act on the failure (lost); <paramref name="FailedBack"/>
/// events were failed back to their transactional source, which replays them or tells its peer (not lost here).
/// </summary>
public sealed record DeliveryTally(string Alias, long Emitted, long Received, long Delivered, long Failed, long Dropped, long InFlight, long FailedBack = 0)
{
    /// <summary>Events this node was handed or produced that reached no sink and no err port.</summary>
    public long NotDelivered => Failed + Dropped + InFlight;

    /// <summary>Adds the counts of an earlier instance of the same alias (a flow deployed again).</summary>
    public DeliveryTally Plus(DeliveryTally other) => new(Alias, Emitted + other.Emitted, Received + other.Received, Delivered + other.Delivered, Failed + other.Failed, Dropped + other.Dropped, InFlight + other.InFlight, FailedBack + other.FailedBack);
}

/// <summary>
/// The run's account of events: every connector and pipeline actor reports its <see cref="DeliveryTally"/> when it
/// finished its part and again when it stops (plain counters on the actor, nothing per event), the world adds the
/// flows that failed, and the summary is the run's last line and its exit code.
/// </summary>
public sealed class DeliveryLedger
{
    // By actor (one incarnation of a connector): a later report replaces its earlier one; a flow deployed again under
    // the same name adds up.
    private readonly ConcurrentDictionary<object, DeliveryTally> _tallies = new();

    /// <summary>Records what <paramref name="reporter"/> counted so far (replacing what it reported before).</summary>
    public void Report(object reporter, DeliveryTally tally) => _tallies[reporter] = tally;

    /// <summary>Every alias's counts so far.</summary>
    public IReadOnlyList<DeliveryTally> Tallies => _tallies.Values
        .GroupBy(t => t.Alias, StringComparer.Ordinal)
        .Select(g => g.Aggregate((a, b) => a.Plus(b)))
        .OrderBy(t => t.Alias, StringComparer.Ordinal)
        .ToList();

    /// <summary>The run's outcome, set by the world when the run ended; null while running.</summary>
    public RunSummary? Summary { get; set; }
}

/// <summary>How a run ended: its exit code and the one line that says whether everything was delivered.</summary>
public sealed record RunSummary(int ExitCode, string Line)
{
    /// <summary>Exit code of a run that lost events or had a flow fail.</summary>
    public const int Lost = 1;

    /// <summary>
    /// Exit 0 only when nothing was lost and no flow failed; otherwise <see cref="Lost"/> (or the code a connector
    /// asked for, when it asked for a non-zero one), with a line counting what was not delivered per connector.
    /// </summary>
    public static RunSummary From(IReadOnlyList<DeliveryTally> tallies, IReadOnlyList<string> failures, int requestedCode, string? abandoned, long deadLettered = 0)
    {
        var lost = tallies.Where(t => t.NotDelivered > 0).ToList();
        var delivered = tallies.Sum(t => t.Delivered);
        if (lost.Count == 0 && deadLettered == 0 && failures.Count == 0 && abandoned is null)
        {
            // Sources' events and sinks' deliveries differ when a pipeline filters, aggregates or fans out.
            var failedBack = tallies.Sum(t => t.FailedBack);
            return failedBack == 0
                ? new RunSummary(requestedCode, $"every accepted event was delivered ({tallies.Sum(t => t.Emitted)} from sources, {delivered} delivered by sinks)")
                : new RunSummary(requestedCode, $"every accepted event was delivered or failed back to its transactional source ({tallies.Sum(t => t.Emitted)} from sources, {delivered} delivered by sinks, {failedBack} failed back)");
        }
        var parts = new List<string>();
        if (abandoned is not null) parts.Add(abandoned);
        var total = lost.Sum(t => t.NotDelivered) + deadLettered;
        var where = tallies.Where(t => t.NotDelivered > 0 || t.FailedBack > 0).Select(Describe).ToList();
        if (deadLettered > 0) where.Add($"{deadLettered} sent to a connector or pipeline that was gone");
        parts.Add(total > 0 ? $"{total} event(s) not delivered: {string.Join("; ", where)}"
            : where.Count > 0 ? $"no event lost ({delivered} delivered by sinks; {string.Join("; ", where)})" : $"{delivered} delivered by sinks");
        parts.AddRange(failures);
        return new RunSummary(requestedCode != 0 ? requestedCode : Lost, "error: " + string.Join("; ", parts));
    }

    private static string Describe(DeliveryTally t)
    {
        var what = new List<string>();
        if (t.InFlight > 0) what.Add($"{t.InFlight} in flight when stopped");
        if (t.Failed > 0) what.Add($"{t.Failed} failed");
        if (t.Dropped > 0) what.Add($"{t.Dropped} dropped");
        if (t.FailedBack > 0) what.Add($"{t.FailedBack} failed back to their source");
        var of = t.Received > 0 ? $" (received {t.Received}, delivered {t.Delivered})" : "";
        return $"{t.Alias} {string.Join(", ", what)}{of}";
    }
}
