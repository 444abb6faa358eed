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
        var events = Enumerable.Range(0, 25).Select(i => E(i)).ToArray();

        var batches = new[] { 0, 10, 20 }.Select(from => Batches.Slice(events, from, 10)).ToList();

        Assert.Equal([10, 10, 5], batches.Select(b => b.Length).ToList());
        Assert.Equal(events, batches.SelectMany(b => b).ToArray());
        // An array that fits is passed on as it is, not copied.
        var small = events[..3];
        Assert.Same(small, Batches.Slice(small, 0, 10));
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
