using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>What one pull produced, copied (the batch and its memory are only valid until the next pull).</summary>
internal sealed record Pulled(ulong StreamId, ulong PullId, byte[] Data, Value Meta, Value Structured = default)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Data);
}

/// <summary>
/// Plays the runtime for one broker connector: pulls in a loop, delivers sink batches, connects and passes acks, fails
/// and rejects back, one call at a time (the PDK's threading contract), and records every chunk pulled. As the runtime
/// does, any other call cuts a waiting pull short (its token is cancelled), so a pull may wait for input untimed.
/// </summary>
internal sealed class BrokerRunner : IAsyncDisposable
{
    private readonly IConnector _connector;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Pulled> _pulled = [];
    private CancellationTokenSource? _pullCancel;
    private int _waiting;
    private Task? _pump;
    private bool _disposed;

    public BrokerRunner(IConnector connector)
    {
        _connector = connector;
    }

    public IConnector Connector => _connector;

    public List<Pulled> Pulled
    {
        get { lock (_lock) return [.. _pulled]; }
    }

    public List<string> Texts => Pulled.Select(p => p.Text).ToList();

    /// <summary>Connects (asserting it worked) and starts pulling.</summary>
    public async Task StartAsync()
    {
        Assert.True(await ConnectAsync(1), "the connector did not connect");
        _pump ??= Task.Run(PumpAsync);
    }

    private async Task PumpAsync()
    {
        var source = _connector.Source!;
        var batch = new SourceBatch(16);
        while (!_stop.IsCancellationRequested)
        {
            await _turn.WaitAsync();
            if (Volatile.Read(ref _waiting) > 0)
            {
                // Another call waits for its turn: let it go first.
                _turn.Release();
                await Task.Yield();
                continue;
            }
            try
            {
                batch.Clear();
                PullStatus status;
                using var pullCancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                lock (_lock) _pullCancel = pullCancel;
                if (Volatile.Read(ref _waiting) > 0) await pullCancel.CancelAsync();
                try
                {
                    status = await source.PullAsync(batch, pullCancel.Token);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    status = PullStatus.Empty;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                finally
                {
                    lock (_lock) _pullCancel = null;
                }
                lock (_lock)
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var c = batch[i];
                        if (!c.IsStreamEnd) _pulled.Add(new Pulled(c.StreamId, c.PullId, c.Data.ToArray(), c.Meta, c.Structured));
                    }
                }
                if (status == PullStatus.Finished) return;
            }
            finally
            {
                _turn.Release();
            }
        }
    }

    public async Task<SinkReply> DeliverAsync(SinkBatch batch) => await InTurn(() => _connector.Sink!.OnBatchAsync(batch, CancellationToken.None));

    public async Task<bool> ConnectAsync(int attempt) => await InTurn(() => _connector.ConnectAsync(attempt, CancellationToken.None));

    public Task AckAsync(Pulled pulled) => InTurn(() =>
    {
        _connector.Source!.Ack(pulled.StreamId, pulled.PullId);
        return ValueTask.FromResult(true);
    });

    public Task FailAsync(Pulled pulled) => InTurn(() =>
    {
        _connector.Source!.Fail(pulled.StreamId, pulled.PullId);
        return ValueTask.FromResult(true);
    });

    /// <summary>What the runtime does when the codec could not decode the chunk (it went to <c>err</c>).</summary>
    public Task RejectAsync(Pulled pulled, string reason) => InTurn(() =>
    {
        _connector.Source!.Reject(pulled.StreamId, pulled.PullId, reason);
        return ValueTask.FromResult(true);
    });

    private async Task<T> InTurn<T>(Func<ValueTask<T>> call)
    {
        Interlocked.Increment(ref _waiting);
        CancellationTokenSource? pull;
        lock (_lock) pull = _pullCancel;
        try
        {
            pull?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That pull just ended.
        }
        try
        {
            await _turn.WaitAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        try
        {
            return await call();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Waits until the pulled chunks satisfy <paramref name="condition"/>.</summary>
    public Task WaitFor(Func<List<Pulled>, bool> condition, string what) => Fixtures.WaitUntil(() => condition(Pulled), what);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync();
        if (_pump is not null) await _pump.WaitAsync(TimeSpan.FromSeconds(20));
        await _connector.OnStopAsync(CancellationToken.None);
        await _connector.DisposeAsync();
        _stop.Dispose();
        _turn.Dispose();
    }
}

/// <summary>Builders and waits for the broker connector tests.</summary>
internal static partial class Fixtures
{
    public static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(20);

    /// <summary>A sink batch of events (payload and meta), payloads back to back as the runtime hands them over.</summary>
    public static SinkBatch BrokerBatch(params (string Payload, Value Meta)[] events) =>
        BackToBack(events.Select(e => (System.Text.Encoding.UTF8.GetBytes(e.Payload), 1UL, Value.Null, e.Meta)).ToArray());

    /// <summary>A sink batch of structured events (what a sink that writes fields, not bytes, reads), with their JSON as payload.</summary>
    public static SinkBatch DataBatch(params Value[] events) =>
        BackToBack(events.Select(e => (System.Text.Encoding.UTF8.GetBytes(e.ToString()), 1UL, e, Value.Null)).ToArray());

    /// <summary>
    /// What every transactional broker source promises: of two events the sink sent, the one failed downstream comes
    /// back and the acked one does not, and a later event still flows. <paramref name="check"/> compares the failed
    /// event's first delivery with the one that came back (the broker's mark of a redelivery, the same message).
    /// </summary>
    public static async Task FailedComesBackAndAckedDoesNot(BrokerRunner source, BrokerRunner sink, Action<Pulled, Pulled> check)
    {
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(BrokerBatch(("ok", Value.Null), ("bad", Value.Null)))).Status);
        await source.WaitFor(p => p.Count == 2, "both messages");
        var bad = source.Pulled.Single(p => p.Text == "bad");

        await source.AckAsync(source.Pulled.Single(p => p.Text == "ok"));
        await source.FailAsync(bad);

        await source.WaitFor(p => p.Count(x => x.Text == "bad") == 2, "the failed message delivered again");
        var again = source.Pulled.Last(p => p.Text == "bad");
        check(bad, again);
        await source.AckAsync(again);
        Assert.Equal(SinkStatus.Ack, (await sink.DeliverAsync(BrokerBatch(("after", Value.Null)))).Status);
        await source.WaitFor(p => p.Exists(x => x.Text == "after"), "a later message");
        Assert.Single(source.Pulled, p => p.Text == "ok");
        Assert.Single(source.Pulled, p => p.Text == "after");
    }

    /// <summary>
    /// A server nobody listens for: the connect fails (the runtime retries with its backoff) with one warning, and
    /// nothing worse, naming <paramref name="url"/> and the attempt; returns it for what else it must say.
    /// </summary>
    public static async Task<string> UnreachableWarning(IConnector connector, TestHost host, string url)
    {
        Assert.False(await connector.ConnectAsync(1, CancellationToken.None));
        var line = Assert.Single(host.Logs, l => l.Level >= PluginLogLevel.Warning);
        Assert.Equal(PluginLogLevel.Warning, line.Level);
        Assert.Contains(url, line.Message, StringComparison.Ordinal);
        Assert.Contains("attempt 1", line.Message, StringComparison.Ordinal);
        return line.Message;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + BrokerTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Polls an asynchronous <paramref name="condition"/> (a query to the server) until it holds or the deadline passes.</summary>
    public static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + BrokerTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }
}
