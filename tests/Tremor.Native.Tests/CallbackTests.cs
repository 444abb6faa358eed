using Tremor.Native.Connectors;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>Two sources' events in one batch whose sequence numbers collide (sequences are unique per source only).</summary>
internal static class TwoSources
{
    public static SinkBatch Batch()
    {
        var bytes = "fromonefromtwo"u8.ToArray();
        SinkEvent Event(uint source, int offset, int len)
        {
            var id = new EventId(source, 0, 7, 5);
            return new SinkEvent(id, 42, bytes.AsMemory(offset, len), new Event { Id = id, IngestNs = 42 });
        }
        return new SinkBatch([Event(1, 0, 7), Event(2, 7, 7)], bytes);
    }
}

/// <summary>Host callbacks of in-process native instances: ack routing and callbacks that break the threading contract.</summary>
[Collection(NativeCollection.Name)]
public sealed class CallbackTests(NativeFixture fixture)
{
    [Fact]
    public async Task Acks_of_events_from_two_sources_with_the_same_sequence_reach_each_its_own_source()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        var host = new FakeHost();
        var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("async", true)));
        var batch = TwoSources.Batch();
        Assert.Equal(SinkReply.Pending, await connector.Sink!.OnBatchAsync(batch, default));
        // destroy joins the plugin's ack thread: every ack has arrived once it returned.
        await connector.DisposeAsync();
        Assert.Equal(batch.Events.Select(e => e.Id).OrderBy(id => id.SourceId), host.Acked.OrderBy(id => id.SourceId));
        Assert.DoesNotContain(host.Logs, l => l.Message.Contains("not pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Callbacks_after_destroy_are_ignored_and_reach_no_other_instance()
    {
        // The library stays loaded for the rest of the test run: the plugin's unjoined thread runs its code.
        var plugin = NativePluginLoader.Load(fixture.HostileSink);
        var done = Path.Combine(fixture.WorkDir, $"late-{Guid.NewGuid():N}");
        var lateHost = new FakeHost();
        var before = HostCallbacks.LateCallbacks;
        var late = plugin.ConnectorFactory.Create(FakeHost.Context(lateHost, ("mode", "late"), ("path", done)));
        await late.DisposeAsync(); // returns without joining: the thread starts calling back now

        // The next instance gets what the first one had (context slot, table memory) if anything is reused.
        var nextHost = new FakeHost();
        await using var next = plugin.ConnectorFactory.Create(FakeHost.Context(nextHost, ("mode", "none")));
        Assert.True(SpinWait.SpinUntil(() => File.Exists(done), TimeSpan.FromSeconds(30)), "the late thread never finished");

        Assert.Empty(lateHost.Logs);
        Assert.Empty(lateHost.Acked);
        Assert.Empty(nextHost.Logs);
        Assert.Empty(nextHost.Acked);
        Assert.True(HostCallbacks.LateCallbacks - before >= 400, $"{HostCallbacks.LateCallbacks - before} late callbacks counted");
        Assert.Equal(SinkReply.Acked, await next.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "still-fine"), default));
    }
}
