using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>
/// TREMOR_FULL and host->sink_has_room (ABI 1.2), in process and in a plugin host process: a sink at a bound of its
/// own takes nothing and says so, and says when it has room; a plugin of an older minor cannot answer it.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class FullSinkTests(NativeFixture fixture)
{
    private static readonly IsolationOptions s_options = new(TimeSpan.FromSeconds(10), null);

    private static IConnector Create(NativePlugin plugin, string isolation, FakeHost host) =>
        (isolation == "process" ? plugin.CreateIsolatedFactory(s_options) : plugin.ConnectorFactory).Create(FakeHost.Context(host, ("capacity", 5)));

    private static SinkBatch Three(string prefix) => FakeHost.Batch(new byte[256], $"{prefix}1", $"{prefix}2", $"{prefix}3");

    private static async Task<List<string>> PullAsync(IConnector connector)
    {
        var batch = new SourceBatch(16);
        await connector.Source!.PullAsync(batch, CancellationToken.None);
        return [.. Enumerable.Range(0, batch.Count).Select(i => System.Text.Encoding.UTF8.GetString(batch[i].Data.Span))];
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("process")]
    public async Task A_full_sink_takes_nothing_says_why_and_takes_the_same_batch_once_it_said_it_has_room(string isolation)
    {
        using var plugin = NativePluginLoader.Load(fixture.FullQueue);
        Assert.Equal(2, plugin.Inspection.AbiMinor);
        var host = new FakeHost();
        await using var queue = Create(plugin, isolation, host);
        Assert.True(await queue.ConnectAsync(1, default));

        Assert.Equal(SinkStatus.Ack, (await queue.Sink!.OnBatchAsync(Three("a"), default)).Status);
        var full = await queue.Sink!.OnBatchAsync(Three("b"), default);
        Assert.Equal(SinkStatus.Full, full.Status);
        Assert.Equal("the queue holds 3 of 5 events; the batch needs 3", full.Error);
        Assert.Equal(0, host.RoomSignals);

        // The pull makes room and the plugin says so during it: an isolated plugin's signal arrives with that call.
        Assert.Equal(["a1", "a2", "a3"], await PullAsync(queue));
        Assert.Equal(1, host.RoomSignals);
        Assert.Equal(SinkStatus.Ack, (await queue.Sink!.OnBatchAsync(Three("b"), default)).Status);
        Assert.Equal(["b1", "b2", "b3"], await PullAsync(queue));
        Assert.Empty(host.Failed);
        Assert.Empty(host.Acked);
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("process")]
    public async Task A_plugin_of_abi_1_1_that_answers_full_is_a_broken_instance_naming_the_minor(string isolation)
    {
        using var plugin = NativePluginLoader.Load(fixture.FullQueueOldMinor);
        Assert.Equal(1, plugin.Inspection.AbiMinor);
        var host = new FakeHost();
        await using var queue = Create(plugin, isolation, host);
        Assert.True(await queue.ConnectAsync(1, default));
        Assert.Equal(SinkStatus.Ack, (await queue.Sink!.OnBatchAsync(Three("a"), default)).Status);
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await queue.Sink!.OnBatchAsync(Three("b"), default));
        Assert.Contains("c-full-queue-1-1", error.Message, StringComparison.Ordinal);
        Assert.Contains("answered TREMOR_FULL (5), which ABI 1.2 added, but the plugin is built for ABI 1.1", error.Message, StringComparison.Ordinal);
    }
}
