using Tremor.Pdk;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>The wal connector as the runtime drives it: acks once on disk, replay of what was not acknowledged.</summary>
public sealed class WalConnectorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private TestHost Host() => new() { StateDir = _dir.File("state") };

    private static Event Numbered(int n)
    {
        var meta = new ValueRecord();
        meta.Set("origin", Value.From($"request-{n}"));
        var data = new ValueRecord();
        data.Set("n", n);
        data.Set("big", Value.From(ulong.MaxValue));
        data.Set("raw", Value.From(new byte[] { 1, 2, (byte)n }));
        return Harness.NewEvent(Value.From(data), Value.From(meta));
    }

    [Fact]
    public async Task With_group_commit_the_sink_acks_once_on_disk_and_the_source_emits_value_and_meta_in_order()
    {
        var host = Host();
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host);
        var events = Enumerable.Range(1, 20).Select(Numbered).ToArray();
        var reply = await wal.Sink!.OnBatchAsync(Harness.Batch(events), CancellationToken.None);
        Assert.Equal(SinkStatus.Pending, reply.Status);
        await Harness.AwaitAsync(() => host.Acked.Count == 20, "the group commit's ack");
        Assert.Equal(events.Select(e => e.Id), host.Acked);

        var chunks = await Harness.PullAsync(wal.Source!, 20);
        // The codec's bytes come back for the codec to decode, with the metadata beside them.
        Assert.All(chunks, c => Assert.False(c.IsStructured));
        Assert.Equal(Enumerable.Range(1, 20).Select(n => (long)n), chunks.Select(c => Harness.Data(c)["n"].RawI64));
        Assert.Equal("request-7", chunks[6].Meta["origin"].AsString());
        Assert.True(Harness.Data(chunks[0])["big"].TryGetU64(out var big) && big == ulong.MaxValue);
        Assert.Equal(new byte[] { 1, 2, 3 }, Harness.Data(chunks[2])["raw"].AsBytes());
        Assert.Equal(42UL, chunks[0].IngestNs);
    }

    [Fact]
    public async Task After_a_restart_only_what_downstream_did_not_acknowledge_is_emitted_again_acks_in_any_order()
    {
        var host = Host();
        List<SourceChunk> first;
        await using (var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch")))
        {
            Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch([.. Enumerable.Range(1, 6).Select(Numbered)]), CancellationToken.None)).Status);
            first = await Harness.PullAsync(wal.Source!, 6);
            // 1 and 2 acknowledged, 4 and 5 as well (out of order), 3 and 6 not: the log keeps 3 on.
            foreach (var i in new[] { 4, 0, 1, 3 }) wal.Source!.Ack(0, first[i].PullId);
        }
        await using (var wal = await Harness.ConnectAsync(new WalFactory(), host))
        {
            Assert.Contains(host.Logs, l => l.Message.Contains("recovered 4 entries", StringComparison.Ordinal));
            var again = await Harness.PullAsync(wal.Source!, 4);
            Assert.Equal([3L, 4, 5, 6], again.Select(c => Harness.Data(c)["n"].RawI64));
            foreach (var c in again) wal.Source!.Ack(0, c.PullId);
        }
        await using (var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch")))
        {
            Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch(Numbered(7)), CancellationToken.None)).Status);
            var next = await Harness.PullAsync(wal.Source!, 1);
            Assert.Equal(7, Harness.Data(next[0])["n"].RawI64);
        }
    }

    [Fact]
    public async Task A_failed_entry_is_emitted_again_before_newer_ones()
    {
        var host = Host();
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch"));
        await wal.Sink!.OnBatchAsync(Harness.Batch([.. Enumerable.Range(1, 3).Select(Numbered)]), CancellationToken.None);
        var chunks = await Harness.PullAsync(wal.Source!, 3);
        wal.Source!.Fail(0, chunks[1].PullId);
        await wal.Sink!.OnBatchAsync(Harness.Batch(Numbered(4)), CancellationToken.None);
        var next = await Harness.PullAsync(wal.Source!, 2);
        Assert.Equal([2L, 4], next.Select(c => Harness.Data(c)["n"].RawI64));
    }

    [Fact]
    public async Task At_max_bytes_the_sink_answers_full_takes_nothing_and_says_when_downstream_acks_made_room()
    {
        var host = Host();
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch"), ("max-bytes", "1MiB"));
        var big = new string('x', 100_000);
        var accepted = 0;
        SinkReply reply;
        while ((reply = await wal.Sink!.OnBatchAsync(Harness.Batch(Harness.NewEvent(Value.From(big))), CancellationToken.None)).Status == SinkStatus.Ack) accepted++;
        Assert.Equal(SinkStatus.Full, reply.Status);
        Assert.Contains("the wal is full", reply.Error, StringComparison.Ordinal);
        Assert.InRange(accepted, 9, 10);
        Assert.Empty(host.Failed);

        // The source side keeps emitting while the sink is full; an ack that frees too little says nothing yet.
        var chunks = await Harness.PullAsync(wal.Source!, accepted);
        Assert.Equal(accepted, chunks.Count);
        wal.Source!.Ack(0, chunks[1].PullId); // not the first: nothing can be truncated
        Assert.Equal(0, host.RoomSignals);
        wal.Source!.Ack(0, chunks[0].PullId);
        Assert.Equal(1, host.RoomSignals);
        Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch(Harness.NewEvent(Value.From(big))), CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_batch_larger_than_max_bytes_is_failed_with_what_to_raise_instead_of_waiting_for_ever()
    {
        var host = Host();
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch"), ("max-bytes", "1MiB"));
        var big = new string('x', 300_000);
        var reply = await wal.Sink!.OnBatchAsync(Harness.Batch([.. Enumerable.Range(0, 4).Select(_ => Harness.NewEvent(Value.From(big)))]), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("raise max-bytes", reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_that_cannot_be_written_is_a_clear_error_and_nothing_is_acknowledged()
    {
        var blocker = _dir.File("not-a-directory");
        await File.WriteAllTextAsync(blocker, "a file where the state directory should be");
        var host = new TestHost { StateDir = Path.Combine(blocker, "wal") };
        await using var wal = new WalFactory().Create(Fixtures.Context(host));
        Assert.False(await wal.ConnectAsync(1, CancellationToken.None));
        var error = Assert.Single(host.Logs, l => l.Level == PluginLogLevel.Error).Message;
        Assert.Contains("cannot open the wal in", error, StringComparison.Ordinal);
        Assert.Contains(blocker, error, StringComparison.Ordinal);
        Assert.Contains("writable", error, StringComparison.Ordinal);
        Assert.Empty(host.Acked);
    }

    [Fact]
    public async Task A_full_disk_under_the_log_fails_the_batch_naming_the_folder_and_acknowledges_nothing_unwritten()
    {
        var host = Host();
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch"), ("max-bytes", "32MiB"));
        var big = new string('x', 100_000);
        Event[] Batch() => [.. Enumerable.Range(0, 10).Select(_ => Harness.NewEvent(Value.From(big)))];
        Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch(Batch()), CancellationToken.None)).Status);
        // The log's second segment (8 MiB on) is a device that answers every write with ENOSPC, as a full disk does.
        var segment = Directory.GetFiles(Path.Combine(host.StateDirectory, "log"), "*.log.0").Single();
        File.CreateSymbolicLink(segment[..^1] + "1", "/dev/full");
        SinkReply reply;
        var acked = 1;
        while ((reply = await wal.Sink!.OnBatchAsync(Harness.Batch(Batch()), CancellationToken.None).AsTask().WaitAsync(Harness.Timeout)).Status == SinkStatus.Ack)
        {
            Assert.True(++acked < 20, "a full disk was never noticed");
        }
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains(host.StateDirectory, reply.Error, StringComparison.Ordinal);
        Assert.True(host.ConnectionsLost.Count == 1, $"reply: {reply.Error}; logs: {string.Join(" | ", host.Logs.Select(l => l.Message))}");
        Assert.Contains(host.StateDirectory, Assert.Single(host.ConnectionsLost), StringComparison.Ordinal);
        Assert.Contains(host.Logs, l => l.Level == PluginLogLevel.Error && l.Message.Contains("disk has space", StringComparison.Ordinal));
        Assert.Empty(host.Failed);

        // Space again: the runtime reconnects and offers the kept batch again; the wal reopened from its last commit
        // holds every acknowledged entry once and the retried batch once, nothing of the failed attempt.
        File.Delete(segment[..^1] + "1");
        Assert.True(await wal.ConnectAsync(2, CancellationToken.None), string.Join("\n", host.Logs));
        var retried = Batch();
        Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch(retried), CancellationToken.None)).Status);
        var chunks = await Harness.PullAsync(wal.Source!, (acked + 1) * 10);
        Assert.Equal((acked + 1) * 10, chunks.Count);
        Assert.Equal(0, await Harness.PullNothingAsync(wal.Source!));
    }

    [Fact]
    public async Task A_corrupt_wal_is_cut_reported_with_how_many_entries_were_dropped_and_keeps_accepting()
    {
        var host = Host();
        await using (var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch")))
        {
            await wal.Sink!.OnBatchAsync(Harness.Batch([.. Enumerable.Range(1, 10).Select(n => Harness.NewEvent(Value.From($"entry-{n:D3}")))]), CancellationToken.None);
        }
        var segment = Directory.GetFiles(Path.Combine(host.StateDirectory, "log"), "*.log.*").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[bytes.AsSpan().IndexOf("entry-008"u8)] ^= 0x55;
        await File.WriteAllBytesAsync(segment, bytes);

        var after = Host();
        await using var reopened = await Harness.ConnectAsync(new WalFactory(), after, ("fsync", "every-batch"));
        var error = Assert.Single(after.Logs, l => l.Level == PluginLogLevel.Error).Message;
        Assert.Contains("damaged", error, StringComparison.Ordinal);
        Assert.Contains("3 entries", error, StringComparison.Ordinal);
        Assert.Contains("7 kept", error, StringComparison.Ordinal);
        Assert.Equal(SinkStatus.Ack, (await reopened.Sink!.OnBatchAsync(Harness.Batch(Harness.NewEvent(Value.From("entry-new"))), CancellationToken.None)).Status);
        var chunks = await Harness.PullAsync(reopened.Source!, 8);
        Assert.Equal("entry-007", Harness.Data(chunks[6]).AsString());
        Assert.Equal("entry-new", Harness.Data(chunks[7]).AsString());
    }

    [Fact]
    public async Task Entries_a_wal_wrote_as_values_before_it_kept_the_codec_bytes_are_still_emitted_in_order_before_new_ones()
    {
        var host = Host();
        // A wal of the previous format: structured entries [sequence, ingest_ns, data, meta].
        using (var old = WalLog.Open(host.StateDirectory, 64L << 20))
        {
            for (var n = 1; n <= 3; n++)
            {
                var entry = new System.Buffers.ArrayBufferWriter<byte>();
                var e = Numbered(n);
                EntryCodec.Write(entry, (ulong)n, e.IngestNs, e.Data, e.Meta);
                old.Append(entry.WrittenSpan, (ulong)n);
            }
            await old.CommitAsync(CancellationToken.None);
        }
        await using var wal = await Harness.ConnectAsync(new WalFactory(), host, ("fsync", "every-batch"));
        Assert.Contains(host.Logs, l => l.Message.Contains("recovered 3 entries", StringComparison.Ordinal));
        Assert.Equal(SinkStatus.Ack, (await wal.Sink!.OnBatchAsync(Harness.Batch(Numbered(4)), CancellationToken.None)).Status);
        var chunks = await Harness.PullAsync(wal.Source!, 4);
        Assert.Equal([true, true, true, false], chunks.Select(c => c.IsStructured));
        Assert.Equal([1L, 2, 3, 4], chunks.Select(c => Harness.Data(c)["n"].RawI64));
        Assert.Equal("request-2", chunks[1].Meta["origin"].AsString());
        Assert.Equal(new byte[] { 1, 2, 3 }, Harness.Data(chunks[2])["raw"].AsBytes());
        foreach (var c in chunks) wal.Source!.Ack(0, c.PullId);
    }

    [Fact]
    public void Bad_keys_are_refused_with_their_path()
    {
        Fixtures.AssertRefusedNaming(new WalFactory(), [("fsync", "sometimes")], "fsync");
        Fixtures.AssertRefusedNaming(new WalFactory(), [("max-bytes", "lots")], "max-bytes");
        Fixtures.AssertRefusedNaming(new WalFactory(), [("max-bytes", "1KiB")], "max-bytes");
        Fixtures.AssertRefusedNaming(new WalFactory(), [("commit-interval", "0ms")], "commit-interval");
        Fixtures.AssertRefusedNaming(new WalFactory(), [("commit-timeout", "1ms")], "commit-timeout");
        Fixtures.AssertRefusedNaming(new WalFactory(), [("path", "/var/lib/wal")], "path");
    }
}
