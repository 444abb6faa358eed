using static Tremor.Connectors.Wal.Tests.LogEntries;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>The log under the wal connector: what survives a reopen, and what a damaged log is cut to.</summary>
public sealed class WalLogTests : IDisposable
{
    private const long Segment = 1 << 23;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task WriteAsync(int count, int size = 100)
    {
        using var log = WalLog.Open(_dir.Path, Segment);
        for (var i = 1; i <= count; i++) log.Append(Entry((ulong)i, new string('x', size) + i), (ulong)i);
        await log.CommitAsync(CancellationToken.None);
    }

    private string SegmentFile() => Directory.GetFiles(Path.Combine(_dir.Path, "log"), "*.log.*").Single();

    [Fact]
    public async Task Committed_entries_survive_a_reopen_in_order_and_the_sequence_goes_on()
    {
        await WriteAsync(50);
        using var log = WalLog.Open(_dir.Path, Segment);
        Assert.Equal(50, log.Recovery.Entries);
        Assert.Null(log.Recovery.CutReason);
        Assert.Equal(51UL, log.NextSequence);
        var texts = ReadAll(log);
        Assert.Equal(50, texts.Count);
        Assert.EndsWith("x1", texts[0], StringComparison.Ordinal);
        Assert.EndsWith("x50", texts[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flipped_byte_cuts_the_log_at_the_last_good_entry_and_says_how_many_entries_it_dropped()
    {
        await WriteAsync(50);
        var file = SegmentFile();
        var bytes = File.ReadAllBytes(file);
        // Entry 31 of 50: flip a byte inside its payload.
        var at = IndexOf(bytes, "x31"u8.ToArray()) - 20;
        bytes[at] ^= 0xff;
        File.WriteAllBytes(file, bytes);

        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            Assert.NotNull(log.Recovery.CutReason);
            Assert.Equal(30, log.Recovery.Entries);
            Assert.Equal(20, log.Recovery.CutEntries);
            Assert.Equal(30, ReadAll(log).Count);
            // It keeps accepting after the cut, and what it accepts survives.
            log.Append(Entry(log.NextSequence, "after"), log.NextSequence);
            await log.CommitAsync(CancellationToken.None);
        }
        using var again = WalLog.Open(_dir.Path, Segment);
        Assert.Null(again.Recovery.CutReason);
        var texts = ReadAll(again);
        Assert.Equal(31, texts.Count);
        Assert.Equal("after", texts[^1]);
    }

    [Fact]
    public async Task A_truncated_segment_is_cut_at_the_last_whole_entry()
    {
        await WriteAsync(50);
        var file = SegmentFile();
        var bytes = File.ReadAllBytes(file);
        var at = IndexOf(bytes, "x41"u8.ToArray());
        File.WriteAllBytes(file, bytes[..at]);

        using var log = WalLog.Open(_dir.Path, Segment);
        Assert.NotNull(log.Recovery.CutReason);
        Assert.Equal(40, log.Recovery.Entries);
        Assert.Equal(10, log.Recovery.CutEntries);
        Assert.Equal(40, ReadAll(log).Count);
    }

    [Fact]
    public async Task A_log_that_is_not_a_wal_is_set_aside_and_an_empty_one_takes_its_place()
    {
        await WriteAsync(5);
        foreach (var f in Directory.GetFiles(Path.Combine(_dir.Path, "log"), "*", SearchOption.AllDirectories))
        {
            File.WriteAllText(f, "this is not a wal, it is a shopping list: eggs, milk, flour");
        }

        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            Assert.NotNull(log.Recovery.CutReason);
            Assert.NotNull(log.Recovery.SetAside);
            Assert.True(Directory.Exists(log.Recovery.SetAside));
            Assert.Empty(ReadAll(log));
            log.Append(Entry(1, "fresh"), 1);
            await log.CommitAsync(CancellationToken.None);
        }
        using var again = WalLog.Open(_dir.Path, Segment);
        Assert.Equal(["fresh"], ReadAll(again));
    }

    [Fact]
    public async Task Truncated_entries_are_gone_after_a_reopen()
    {
        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            var addresses = new List<long>();
            for (var i = 1; i <= 10; i++) addresses.Add(log.Append(Entry((ulong)i, $"e{i}"), (ulong)i));
            await log.CommitAsync(CancellationToken.None);
            log.TruncateUntil(addresses[6]);
            Assert.True(log.HasUncommitted);
            await log.CommitAsync(CancellationToken.None);
        }
        using var again = WalLog.Open(_dir.Path, Segment);
        Assert.Equal(["e7", "e8", "e9", "e10"], ReadAll(again));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        var at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at >= 0, "marker not found in the segment file");
        return at;
    }
}
