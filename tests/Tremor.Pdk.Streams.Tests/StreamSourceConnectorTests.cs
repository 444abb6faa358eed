using System.Text;
using Akka;
using Akka.Streams.Dsl;
using Tremor.Pdk;
using Tremor.Pdk.Streams;

namespace Tremor.Pdk.Streams.Tests;

/// <summary>A stream exposed as a source: pulled with the runtime's pulls as demand, finished, failed and cancelled as a source is.</summary>
public sealed class StreamSourceConnectorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_endless_stream_is_read_no_further_ahead_of_the_pulls_than_its_buffer()
    {
        var produced = 0L;
        await using var source = new Streamed(new TestHost(), buffer: 8, () => Source.From(Numbers()).Select(i =>
        {
            Interlocked.Increment(ref produced);
            return SourceItem.Bytes(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }));
        await source.ConnectAsync(1, CancellationToken.None);
        var batch = new SourceBatch(4);
        var taken = new List<string>();
        for (var pull = 0; pull < 50; pull++)
        {
            batch.Clear();
            Assert.Equal(PullStatus.Data, await source.PullAsync(batch, CancellationToken.None).AsTask().WaitAsync(Patience));
            taken.AddRange(Enumerable.Range(0, batch.Count).Select(i => Encoding.UTF8.GetString(batch[i].Data.Span)));
            // Whatever the timing: the stream can only have run ahead into the queue's buffer and the element in flight.
            Assert.InRange(Interlocked.Read(ref produced) - taken.Count, 0, 8 + 1);
        }
        Assert.Equal(Enumerable.Range(0, taken.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), taken);
        Assert.True(taken.Count >= 50, $"each pull takes at least one element, took {taken.Count}");
    }

    [Fact]
    public async Task A_finite_stream_is_delivered_with_its_stream_ends_and_then_finishes_the_source()
    {
        await using var source = new Streamed(new TestHost(), buffer: 16, () => Source.From(
            [SourceItem.Bytes("a"u8.ToArray(), 1), SourceItem.EndOfStream(1), SourceItem.Event(Value.From(42L), 2)]));
        await source.ConnectAsync(1, CancellationToken.None);

        var chunks = new List<SourceChunk>();
        var batch = new SourceBatch(16);
        var status = PullStatus.Data;
        while (status != PullStatus.Finished)
        {
            batch.Clear();
            status = await source.PullAsync(batch, CancellationToken.None).AsTask().WaitAsync(Patience);
            chunks.AddRange(Enumerable.Range(0, batch.Count).Select(i => batch[i]));
        }

        Assert.Equal(3, chunks.Count);
        Assert.Equal("a", Encoding.UTF8.GetString(chunks[0].Data.Span));
        Assert.Equal(1UL, chunks[0].StreamId);
        Assert.True(chunks[1].IsStreamEnd && chunks[1].StreamId == 1);
        Assert.True(chunks[2].IsStructured);
        Assert.True(chunks[2].Structured.TryGetI64(out var answer) && answer == 42, chunks[2].Structured.ToString());
    }

    [Fact]
    public async Task A_failed_stream_delivers_what_came_before_and_then_fails_the_pull_so_the_runtime_restarts_the_instance()
    {
        await using var source = new Streamed(new TestHost(), buffer: 16, () => Source.From([SourceItem.Bytes("x"u8.ToArray()), SourceItem.Bytes("y"u8.ToArray())])
            .Concat(Source.Failed<SourceItem>(new IOException("the peer is gone"))));
        await source.ConnectAsync(1, CancellationToken.None);
        var batch = new SourceBatch(16);
        var taken = new List<string>();

        var failure = await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                batch.Clear();
                await source.PullAsync(batch, CancellationToken.None).AsTask().WaitAsync(Patience);
                taken.AddRange(Enumerable.Range(0, batch.Count).Select(i => Encoding.UTF8.GetString(batch[i].Data.Span)));
            }
        });

        Assert.Equal("the peer is gone", failure.Message);
        Assert.Equal(["x", "y"], taken);
    }

    [Fact]
    public async Task A_pull_the_runtime_cancels_loses_nothing_the_next_pull_gets_the_element()
    {
        var release = new TaskCompletionSource<SourceItem>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var source = new Streamed(new TestHost(), buffer: 16, () => Source.FromTask(release.Task));
        await source.ConnectAsync(1, CancellationToken.None);
        var batch = new SourceBatch(16);

        using (var cancel = new CancellationTokenSource())
        {
            var waiting = source.PullAsync(batch, cancel.Token).AsTask();
            await cancel.CancelAsync();
            Assert.Equal(PullStatus.Empty, await waiting.WaitAsync(Patience));
        }
        Assert.Equal(0, batch.Count);
        release.SetResult(SourceItem.Bytes("late"u8.ToArray()));

        var status = await source.PullAsync(batch, CancellationToken.None).AsTask().WaitAsync(Patience);
        Assert.True(status is PullStatus.Data or PullStatus.Finished, status.ToString());
        Assert.Equal("late", Encoding.UTF8.GetString(Assert.Single(Enumerable.Range(0, batch.Count).Select(i => batch[i])).Data.Span));
    }

    private static IEnumerable<long> Numbers()
    {
        for (var i = 0L; ; i++) yield return i;
    }

    private sealed class Streamed(TestHost host, int buffer, Func<Source<SourceItem, NotUsed>> graph)
        : StreamSourceConnector(new ConnectorContext(host, new PluginConfig("test", null)), buffer)
    {
        protected override Source<SourceItem, NotUsed> CreateSource(IStreamsHost streams) => graph();
    }
}
