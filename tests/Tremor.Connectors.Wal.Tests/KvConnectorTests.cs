using Tremor.Pdk;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>The kv connector: Tremor's commands as events, replies correlated on out, errors on err, durable.</summary>
public sealed class KvConnectorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private TestHost Host() => new() { StateDir = _dir.File("kv") };

    private static Event Command(string op, Value key, Value data = default, (string, Value)? extra = null, Value correlation = default)
    {
        var kv = new ValueRecord();
        kv.Set(op, key);
        if (extra is { } e) kv.Set(e.Item1, e.Item2);
        var meta = new ValueRecord();
        meta.Set("kv", Value.From(kv));
        if (!correlation.IsNull) meta.Set("correlation", correlation);
        return Harness.NewEvent(data, Value.From(meta));
    }

    [Fact]
    public async Task Commands_are_answered_on_out_in_order_with_their_op_key_and_correlation()
    {
        var host = Host();
        await using var kv = await Harness.ConnectAsync(new KvFactory(), host);
        var batch = Harness.Batch(
            Command("put", "snot", "badger", correlation: 1),
            Command("get", "snot", correlation: 2),
            Command("swap", "snot", "ferret", correlation: 3),
            Command("get", "missing", correlation: 4),
            Command("put", "a1", 1),
            Command("put", "a2", 2),
            Command("put", "b1", 3),
            Command("scan", "a", extra: ("end", "b"), correlation: 8),
            Command("delete", "snot", correlation: 9));
        Assert.Equal(SinkStatus.Ack, (await kv.Sink!.OnBatchAsync(batch, CancellationToken.None)).Status);

        var replies = await Harness.PullAsync(kv.Source!, 10);
        Assert.All(replies, r => Assert.False(r.IsError));
        string Op(SourceChunk c) => c.Meta["kv"]["op"].AsString()!;
        Assert.Equal(["put", "get", "swap", "get", "put", "put", "put", "scan", "scan", "delete"], replies.Select(Op));
        Assert.Equal("badger", replies[1].Structured.AsString());
        Assert.Equal(2, replies[1].Meta["correlation"].RawI64);
        Assert.Equal("snot", replies[1].Meta["kv"]["ok"].AsString());
        Assert.Equal("badger", replies[2].Structured.AsString()); // swap answers the old value
        Assert.True(replies[3].Structured.IsNull);
        Assert.Equal(["a1", "a2"], replies.Where(r => Op(r) == "scan").Select(r => r.Meta["kv"]["ok"].AsString()));
        Assert.Equal([1L, 2], replies.Where(r => Op(r) == "scan").Select(r => r.Structured.RawI64));
        Assert.Equal("ferret", replies[9].Structured.AsString()); // delete answers what it removed
    }

    [Fact]
    public async Task A_cas_that_does_not_match_and_a_bad_command_answer_on_err_and_fail_their_event_only()
    {
        var host = Host();
        await using var kv = await Harness.ConnectAsync(new KvFactory(), host);
        var ok = Command("put", "heinz", "gies");
        var casMismatch = Command("cas", "heinz", "ketchup", ("old", "mustard"), correlation: "c1");
        var casMatch = Command("cas", "heinz", "ketchup", ("old", "gies"));
        var bad = Harness.NewEvent("x", Value.Null);
        var reply = await kv.Sink!.OnBatchAsync(Harness.Batch(ok, casMismatch, casMatch, bad), CancellationToken.None);
        Assert.Equal(SinkStatus.Pending, reply.Status); // settled through the host: two acked, two failed
        Assert.Equal([ok.Id, casMatch.Id], host.Acked);
        Assert.Equal([casMismatch.Id, bad.Id], host.Failed.Select(f => f.Id));

        var replies = await Harness.PullAsync(kv.Source!, 4);
        Assert.Equal([false, true, false, true], replies.Select(r => r.IsError));
        Assert.Contains("expected \"mustard\" but found \"gies\"", replies[1].Meta["error"].AsString(), StringComparison.Ordinal);
        Assert.Equal("c1", replies[1].Meta["correlation"].AsString());
        Assert.Equal("cas", replies[1].Meta["kv"]["op"].AsString());
        Assert.Contains("the event has no command", replies[3].Meta["error"].AsString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task What_was_put_is_there_after_a_restart_and_a_delete_stays_deleted()
    {
        var host = Host();
        await using (var kv = await Harness.ConnectAsync(new KvFactory(), host))
        {
            var puts = Enumerable.Range(1, 50).Select(n => Command("put", $"key-{n:D2}", n)).Append(Command("delete", "key-07"));
            await kv.Sink!.OnBatchAsync(Harness.Batch([.. puts]), CancellationToken.None);
        }
        await using (var kv = await Harness.ConnectAsync(new KvFactory(), host))
        {
            await kv.Sink!.OnBatchAsync(Harness.Batch(Command("scan", "")), CancellationToken.None);
            var replies = await Harness.PullAsync(kv.Source!, 49);
            Assert.Equal(49, replies.Count);
            Assert.DoesNotContain(replies, r => r.Meta["kv"]["ok"].AsString() == "key-07");
            Assert.Equal(50, replies[^1].Structured.RawI64);
        }
    }

    [Fact]
    public void The_kv_connector_takes_no_keys()
    {
        Fixtures.AssertRefusedNaming(new KvFactory(), [("dir", "state")], "dir");
    }
}
