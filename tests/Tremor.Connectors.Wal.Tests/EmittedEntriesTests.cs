namespace Tremor.Connectors.Wal.Tests;

/// <summary>The source's record of entries out downstream: where the log may be truncated, whatever order acks come in.</summary>
public sealed class EmittedEntriesTests
{
    [Fact]
    public void Truncation_stops_at_the_oldest_entry_not_acknowledged_and_a_failed_one_holds_it_until_acknowledged_again()
    {
        var emitted = new EmittedEntries();
        // More than the ring's first size, so it grows while entries wait.
        for (var i = 0; i < 3000; i++) emitted.First((ulong)i, 100 + (i * 10));
        Assert.Equal(100, emitted.TruncateBefore(99_999));
        // Acks in reverse: nothing moves until the oldest one comes.
        for (var i = 2999; i >= 1; i--) Assert.False(emitted.Ack((ulong)i));
        Assert.Equal(100, emitted.TruncateBefore(99_999));
        // The oldest one fails: it is emitted again under a new pull id and holds the truncation until that is acked.
        Assert.Equal(100, emitted.Fail(0));
        Assert.Null(emitted.Fail(0));
        emitted.Again(5000, 100);
        Assert.Equal(100, emitted.TruncateBefore(99_999));
        Assert.True(emitted.Ack(5000));
        Assert.Equal(0, emitted.Outstanding);
        Assert.Equal(99_999, emitted.TruncateBefore(99_999));
        Assert.False(emitted.Ack(5000));
    }
}
