using Tremor.Actors.Connectors;

namespace Tremor.Actors.Tests;

public sealed class BackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(4, 800)]
    [InlineData(5, 1600)]
    [InlineData(6, 2000)]
    [InlineData(60, 2000)]
    public void Without_jitter_delays_double_until_the_cap(int attempt, double expectedMs) =>
        Assert.Equal(expectedMs, Backoff.Delay(Min, Max, 2, attempt, jitter: 0.2, random01: 0.5).TotalMilliseconds, 6);

    [Fact]
    public void Jitter_moves_a_delay_by_at_most_its_fraction_and_never_past_the_cap()
    {
        Assert.Equal(80, Backoff.Delay(Min, Max, 2, 1, 0.2, 0).TotalMilliseconds, 6);
        Assert.Equal(120, Backoff.Delay(Min, Max, 2, 1, 0.2, 1).TotalMilliseconds, 6);
        Assert.Equal(2000, Backoff.Delay(Min, Max, 2, 10, 0.2, 1).TotalMilliseconds, 6);
    }

    [Fact]
    public void Attempts_below_one_count_as_the_first() =>
        Assert.Equal(Backoff.Delay(Min, Max, 2, 1, 0, 0), Backoff.Delay(Min, Max, 2, 0, 0, 0));
}
