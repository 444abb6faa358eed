using Tremor.Pdk;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>
/// The wal's source side emitting what its sink side appended: from the values the sink was given when the codec
/// round-trips them (msgpack, no processors), from the log otherwise and for retries and restarts; once appended,
/// not once committed (acks upstream still wait for the commit).
/// </summary>
public sealed class WalHandoffTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private TestHost Host() => new() { StateDir = _dir.File("state") };

    /// <summary>A context as the runtime makes it for a wal whose codec is msgpack (the default) without processors.</summary>
    private static ConnectorContext Msgpack(TestHost host, params (string, Value)[] config) =>
        Fixtures.Context(host, config) with { Codec = "msgpack" };

    private static async Task<IConnector> ConnectAsync(IConnector wal, TestHost host)
    {
        Assert.True(await wal.ConnectAsync(1, CancellationToken.None), string.Join("\n", host.Logs));
        return wal;
    }

    private static Event Numbered(int n)
    {
        var data = new ValueRecord();
        data.Set("n", n);
        data.Set("big", Value.From(ulong.MaxValue));
        data.Set("whole", 2.0);
        data.Set("raw", Value.From(new byte[] { 1, 2, (byte)n }));
        data.Set("list", Value.From(new List<Value> { "a", Value.Null, true }));
        var meta = new ValueRecord();
        meta.Set("origin", Value.From($"request-{n}"));
        return Harness.NewEvent(Value.From(data), Value.From(meta));
    }

    private static void AssertSame(Event expected, SourceChunk chunk)
    {
        Assert.Equal(expected.Data, Harness.Data(chunk));
        Assert.Equal(expected.Meta, chunk.Meta);
        Assert.Equal(expected.IngestNs, chunk.IngestNs);
    }

    /// <summary>
    /// Pulls <paramref name="count"/> events, each decoded before the next pull (a chunk's bytes stay valid until
    /// then only), with whether it came structured (handed off) or as the log's bytes.
    /// </summary>
    private static async Task<List<(bool Structured, Value Data, Value Meta)>> PullDecodedAsync(ISource source, int count, int capacity)
    {
        var batch = new SourceBatch(capacity);
        var events = new List<(bool, Value, Value)>();
        using var deadline = new CancellationTokenSource(Harness.Timeout);
        while (events.Count < count)
        {
            batch.Clear();
            await source.PullAsync(batch, deadline.Token);
            Assert.False(deadline.IsCancellationRequested, $"pulled {events.Count} of {count} within {Harness.Timeout}");
            for (var i = 0; i < batch.Count; i++)
            {
                events.Add((batch[i].IsStructured, Harness.Data(batch[i]), batch[i].Meta));
                source.Ack(0, batch[i].PullId);
            }
        }
        return events;
    }

    [Fact]
    public async Task With_msgpack_the_source_emits_the_values_the_sink_was_given_in_order_with_meta_before_their_commit()
    {
        var host = Host();
        // A commit only when the test asks for one (the drain's): what the source emits before it was not committed.
        await using var wal = await ConnectAsync(new WalFactory().Create(Msgpack(host, ("commit-interval", "1m"))), host);
        var events = Enumerable.Range(1, 20).Select(Numbered).ToArray();
        Assert.Equal(SinkStatus.Pending, (await wal.Sink!.OnBatchAsync(Harness.Batch(events), CancellationToken.None)).Status);

        var chunks = await Harness.PullAsync(wal.Source!, 20);
        Assert.All(chunks, c => Assert.True(c.IsStructured));
        for (var i = 0; i < events.Length; i++) AssertSame(events[i], chunks[i]);
        Assert.Empty(host.Acked);

        // Upstream hears of them only once they are on disk.
        await wal.Sink.OnEndAsync(CancellationToken.None);
        Assert.Equal(events.Select(e => e.Id), host.Acked);
    }

    [Fact]
    public async Task With_another_codec_the_source_decodes_the_log_and_still_emits_before_the_commit()
    {
        var host = Host();
        await using var wal = await ConnectAsync(new WalFactory().Create(Fixtures.Context(host, ("commit-interval", "1m")) with { Codec = "json" }), host);
        var events = Enumerable.Range(1, 5).Select(Numbered).ToArray();
        Assert.Equal(SinkStatus.Pending, (await wal.Sink!.OnBatchAsync(Harness.Batch(events), CancellationToken.None)).Status);

        var chunks = await Harness.PullAsync(wal.Source!, 5);
        Assert.All(chunks, c => Assert.False(c.IsStructured));
        for (var i = 0; i < events.Length; i++) AssertSame(events[i], chunks[i]);
        Assert.Empty(host.Acked);
    }

    [Fact]
    public async Task A_restart_mid_stream_replays_from_the_log_values_equal_to_what_went_in()
    {
        var host = Host();
        var events = Enumerable.Range(1, 10).Select(Numbered).ToArray();
        await using (var wal = await ConnectAsync(new WalFactory().Create(Msgpack(host)), host))
        {
            await wal.Sink!.OnBatchAsync(Harness.Batch(events), CancellationToken.None);
            var first = await Harness.PullAsync(wal.Source!, 4, new SourceBatch(4));
            Assert.All(first, c => Assert.True(c.IsStructured));
            foreach (var c in first) wal.Source!.Ack(0, c.PullId);
        }
        await using (var wal = await ConnectAsync(new WalFactory().Create(Msgpack(host)), host))
        {
            Assert.Contains(host.Logs, l => l.Message.Contains("recovered 6 entries", StringComparison.Ordinal));
            var again = await Harness.PullAsync(wal.Source!, 6);
            Assert.All(again, c => Assert.False(c.IsStructured));
            for (var i = 0; i < 6; i++) AssertSame(events[4 + i], again[i]);
            Assert.Equal(0, await Harness.PullNothingAsync(wal.Source!));
        }
    }

    [Fact]
    public async Task A_failed_entry_is_read_again_from_the_log_once_committed_and_equals_what_went_in()
    {
        var host = Host();
        await using var wal = await ConnectAsync(new WalFactory().Create(Msgpack(host, ("commit-interval", "1m"))), host);
        var events = Enumerable.Range(1, 3).Select(Numbered).ToArray();
        await wal.Sink!.OnBatchAsync(Harness.Batch(events), CancellationToken.None);
        var chunks = await Harness.PullAsync(wal.Source!, 3);
        wal.Source!.Fail(0, chunks[1].PullId);
        // Not committed yet: FasterLog cannot read it back, so nothing is emitted (and nothing is lost) until it is.
        Assert.Equal(0, await Harness.PullNothingAsync(wal.Source!));

        await wal.Sink.OnEndAsync(CancellationToken.None);
        var fourth = Numbered(4);
        await wal.Sink.OnBatchAsync(Harness.Batch(fourth), CancellationToken.None);
        var next = await Harness.PullAsync(wal.Source!, 2);
        Assert.False(next[0].IsStructured);
        AssertSame(events[1], next[0]);
        Assert.True(next[1].IsStructured);
        AssertSame(fourth, next[1]);
    }

    [Fact]
    public async Task Beyond_the_handoff_bound_the_source_reads_the_log_without_loss_or_reorder()
    {
        var host = Host();
        // A bound of one entry: of every batch appended while the source is behind, only the first is handed off.
        await using var wal = await ConnectAsync(new WalConnector(host, WalOptions.Read(Fixtures.Context(host).Config), handoff: true, handoffBytes: 1), host);
        var events = Enumerable.Range(1, 40).Select(Numbered).ToArray();
        var emitted = new List<(bool Structured, Value Data, Value Meta)>();
        await wal.Sink!.OnBatchAsync(Harness.Batch(events[..10]), CancellationToken.None);
        await wal.Sink.OnBatchAsync(Harness.Batch(events[10..20]), CancellationToken.None);
        emitted.AddRange(await PullDecodedAsync(wal.Source!, 15, 15));
        await wal.Sink.OnBatchAsync(Harness.Batch(events[20..30]), CancellationToken.None);
        emitted.AddRange(await PullDecodedAsync(wal.Source!, 15, 15));
        await wal.Sink.OnBatchAsync(Harness.Batch(events[30..]), CancellationToken.None);
        emitted.AddRange(await PullDecodedAsync(wal.Source!, 10, 15));

        Assert.Equal(events.Select(e => e.Data), emitted.Select(e => e.Data));
        Assert.Equal(events.Select(e => e.Meta), emitted.Select(e => e.Meta));
        // Both ways were taken: the handed-off heads and the log behind them.
        Assert.Contains(emitted, e => e.Structured);
        Assert.Contains(emitted, e => !e.Structured);
        Assert.Equal(0, await Harness.PullNothingAsync(wal.Source!));
    }

    [Fact]
    public void The_handoff_takes_only_its_head_and_drops_what_the_log_already_gave()
    {
        var handoff = new Handoff(maxBytes: 100);
        Assert.True(handoff.TryAdd(new Handoff.Entry(0, 40, 1, Value.Null, 0, 40)));
        Assert.True(handoff.TryAdd(new Handoff.Entry(40, 80, 2, Value.Null, 0, 40)));
        Assert.False(handoff.TryAdd(new Handoff.Entry(80, 120, 3, Value.Null, 0, 40)));
        Assert.False(handoff.TryTake(-8, out _));
        Assert.True(handoff.TryTake(40, out var second));
        Assert.Equal(2, second.Data.RawI64);
        Assert.Equal(0, handoff.Count);
        Assert.True(handoff.TryAdd(new Handoff.Entry(120, 160, 4, Value.Null, 0, 40)));
        Assert.False(handoff.TryTake(80, out _));
    }
}
