using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class DataPathTests
{
    private static Event E(long n) => new() { Data = Value.From(n) };

    [Fact]
    public void Output_is_cut_into_batches_of_at_most_batch_size_in_order()
    {
        var events = Enumerable.Range(0, 25).Select(i => E(i)).ToList();

        var batches = Batches.Cut(events, 10);

        Assert.Equal([10, 10, 5], batches.Select(b => b.Length).ToList());
        Assert.Equal(events, batches.SelectMany(b => b).ToList());
        Assert.Empty(Batches.Cut(new List<Event>(), 10));
        // An array that fits is passed on as it is, not copied.
        var small = events.Take(3).ToArray();
        Assert.Same(small, Assert.Single(Batches.Cut(small, 10)));
    }

    [Fact]
    public void A_rate_limited_log_shows_the_first_of_each_interval_and_sums_up_the_rest()
    {
        var log = new LogRateLimit(burst: 3, interval: TimeSpan.FromSeconds(10));
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        var shown = Enumerable.Range(0, 50).Count(i => log.ShouldLog(t0.AddMilliseconds(i), $"bad line {i}"));

        Assert.Equal(3, shown);
        Assert.Equal(TimeSpan.FromSeconds(10), log.UntilWindowEnd(t0));
        Assert.Equal((47L, "bad line 49"), log.TakeSuppressed());
        Assert.Null(log.TakeSuppressed());
        // The next interval shows its first ones again.
        Assert.True(log.ShouldLog(t0.AddSeconds(10), "later"));
    }
}
