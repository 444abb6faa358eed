using System.Text;
using Akka;
using Akka.Streams.Dsl;
using Tremor.Pdk;
using Tremor.Pdk.Streams;

namespace Tremor.Pdk.Streams.Tests;

/// <summary>A flow exposed as a sink: what leaves it is acked, a slow flow holds the batch call, a failed one fails what it held.</summary>
public sealed class StreamSinkConnectorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static SinkBatch Batch(int first, int count)
    {
        var payloads = Enumerable.Range(first, count).Select(i => Encoding.UTF8.GetBytes($"e{i}")).ToList();
        var memory = new ReadOnlyMemory<byte>(payloads.SelectMany(p => p).ToArray());
        var events = new List<SinkEvent>();
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            var id = new EventId(1, 0, (ulong)(first + i), (ulong)(first + i));
            events.Add(new SinkEvent(id, 1, memory.Slice(offset, payloads[i].Length), new Event { Id = id }));
            offset += payloads[i].Length;
        }
        return new SinkBatch(events, memory);
    }

    [Fact]
    public async Task A_gated_flow_holds_the_batch_call_once_its_queue_is_full_and_every_event_is_acked_once_it_opens()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = new List<string>();
        var host = new TestHost();
        await using var sink = new Delivering(host, buffer: 4, () => Flow.Create<SinkItem>().SelectAsync(1, async item =>
        {
            await gate.Task;
            lock (written) written.Add(Encoding.UTF8.GetString(item.Payload.Span));
            return item;
        }));
        await sink.ConnectAsync(1, CancellationToken.None);

        var call = sink.OnBatchAsync(Batch(0, 64), CancellationToken.None).AsTask();
        // Four wait in the queue and one in the stage: the other 59 cannot be offered while the gate is shut.
        Assert.False(call.IsCompleted);
        Assert.Empty(host.Acked);

        gate.SetResult();
        Assert.Equal(SinkStatus.Pending, (await call.WaitAsync(Patience)).Status);
        await sink.OnEndAsync(CancellationToken.None).AsTask().WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"e{i}"), written);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (ulong)i), host.Acked.Select(id => id.Sequence).Order());
        Assert.Empty(host.Failed);
    }

    [Fact]
    public async Task A_failing_flow_fails_the_events_it_held_with_the_reason_and_the_next_batch_call_throws()
    {
        var host = new TestHost();
        await using var sink = new Delivering(host, buffer: 16, () => Flow.Create<SinkItem>().Select(item =>
            item.Id.Sequence == 2 ? throw new IOException("disk full") : item));
        await sink.ConnectAsync(1, CancellationToken.None);

        await sink.OnBatchAsync(Batch(0, 5), CancellationToken.None).AsTask().WaitAsync(Patience);
        await WaitUntil(() => host.Acked.Count + host.Failed.Count == 5, () => $"acked {string.Join(",", host.Acked.Select(a => a.Sequence))} failed {string.Join(",", host.Failed.Select(f => f.Id.Sequence + ":" + f.Reason))}");

        Assert.Equal([0UL, 1UL], host.Acked.Select(id => id.Sequence).Order());
        Assert.Equal([2UL, 3UL, 4UL], host.Failed.Select(f => f.Id.Sequence).Order());
        Assert.All(host.Failed, f => Assert.Equal("disk full", f.Reason));
        var next = await Assert.ThrowsAsync<IOException>(() => sink.OnBatchAsync(Batch(5, 1), CancellationToken.None).AsTask().WaitAsync(Patience));
        Assert.Contains("disk full", next.Message);
    }

    /// <summary>Acks come from the stream's own thread: checks until true or the patience ran out.</summary>
    private static async Task WaitUntil(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for the acks and fails: {state()}");
            await Task.Delay(20);
        }
    }

    private sealed class Delivering(TestHost host, int buffer, Func<Flow<SinkItem, SinkItem, NotUsed>> delivery)
        : StreamSinkConnector(new ConnectorContext(host, new PluginConfig("test", null)), buffer)
    {
        protected override Flow<SinkItem, SinkItem, NotUsed> CreateDelivery(IStreamsHost streams) => delivery();
    }
}
