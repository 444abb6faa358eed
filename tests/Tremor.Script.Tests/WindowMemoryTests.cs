using Tremor.Pdk;

namespace Tremor.Script.Tests;

/// <summary>No other test runs alongside: the managed heap is the process's, so what a test running in parallel
/// holds at the moment of a measure would count as this one's.</summary>
[CollectionDefinition(nameof(WindowMemoryTests), DisableParallelization = true)]
public sealed class WindowMemoryCollection;

[Collection(nameof(WindowMemoryTests))]
public class WindowMemoryTests
{
    [Fact]
    public void A_million_distinct_groups_keep_memory_flat_under_max_groups()
    {
        var q = Query.Compile("""
            define window pair from tumbling with size = 2, max_groups = 1000 end;
            select aggr::stats::count() from in[pair] group by event into out;
            """, "window.trickle").Instantiate();
        var output = new CountingOutput();
        var batch = new Event[1000];
        long before = 0;
        for (var i = 0; i < 1_000_000; i += batch.Length)
        {
            for (var j = 0; j < batch.Length; j++) batch[j] = Harness.Ev(i + j);
            q.Process("in", batch, 0, output);
            Assert.True(q.Runners[0].GroupCount <= 1000, $"{q.Runners[0].GroupCount} groups retained after {i + batch.Length} events");
            // Measured once the bound is reached: from then on nothing accumulates.
            if (i + batch.Length == 10_000) before = GC.GetTotalMemory(forceFullCollection: true);
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        // 990,000 more groups than at the first measure: unbounded they would hold hundreds of MB. The margin leaves
        // room for what the runtime itself holds; no other test runs meanwhile (the collection).
        Assert.True(after - before < 64 * 1024 * 1024, $"managed heap grew by {(after - before) / 1024} KiB over 990,000 new groups");
        q.Finish(0, output);
        // Every event was counted in exactly one emitted window: evictions emitted, nothing was dropped.
        Assert.Equal(1_000_000, output.Total);
    }

    private sealed class CountingOutput : IQueryOutput
    {
        public long Total { get; private set; }

        public void Emit(string port, Event e) => Total += e.Data.TryGetI64(out var n) ? n : 0;
    }
}
