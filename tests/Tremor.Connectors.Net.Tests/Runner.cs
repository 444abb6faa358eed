using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

/// <summary>What one pull produced, copied (the batch and its memory are only valid until the next pull).</summary>
internal sealed record Recorded(ulong StreamId, byte[] Data, Value Meta, bool IsEnd);

/// <summary>
/// Plays the runtime for one connector: pulls in a loop and delivers sink batches and hooks, one call at a time (the
/// PDK's threading contract), cutting a waiting pull short when another call wants its turn (as the runtime does), and
/// records every chunk and stream end.
/// </summary>
internal sealed class Runner : IAsyncDisposable
{
    private readonly IConnector _connector;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Recorded> _records = [];
    private readonly HashSet<ulong> _streams = [];
    private readonly Task? _pump;
    private CancellationTokenSource? _pullCancel;
    private int _waitingForTurn;

    public Runner(IConnector connector, bool pull = true)
    {
        _connector = connector;
        if (pull && connector.Source is not null) _pump = Task.Run(PumpAsync);
    }

    public IConnector Connector => _connector;

    public List<Recorded> Records
    {
        get { lock (_lock) return [.. _records]; }
    }

    public List<Recorded> Chunks => Records.Where(r => !r.IsEnd).ToList();

    public HashSet<ulong> Ended => Records.Where(r => r.IsEnd).Select(r => r.StreamId).ToHashSet();

    /// <summary>How many streams brought data so far (cheap to poll while peers send fast).</summary>
    public int StreamCount
    {
        get { lock (_lock) return _streams.Count; }
    }

    /// <summary>Completes when a pull answered Finished.</summary>
    public Task Pumped => _pump ?? Task.CompletedTask;

    public bool Finished { get; private set; }

    /// <summary>Everything received so far as text, all streams in arrival order.</summary>
    public string Text => Fixtures.Text(Chunks.Select(c => c.Data));

    private async Task PumpAsync()
    {
        var source = _connector.Source!;
        var batch = new SourceBatch(16);
        while (!_stop.IsCancellationRequested)
        {
            await _turn.WaitAsync();
            using var pullCancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            lock (_lock) _pullCancel = pullCancel;
            if (Volatile.Read(ref _waitingForTurn) > 0) await pullCancel.CancelAsync();
            try
            {
                batch.Clear();
                PullStatus status;
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
                lock (_lock)
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var c = batch[i];
                        _records.Add(new Recorded(c.StreamId, c.Data.ToArray(), c.Meta, c.IsStreamEnd));
                        if (!c.IsStreamEnd) _streams.Add(c.StreamId);
                    }
                }
                if (status == PullStatus.Finished)
                {
                    Finished = true;
                    return;
                }
            }
            finally
            {
                lock (_lock) _pullCancel = null;
                _turn.Release();
            }
        }
    }

    /// <summary>Takes the turn from the pump: a pull waiting for input is cut short, as the runtime does.</summary>
    private async Task<T> WithTurnAsync<T>(Func<Task<T>> call)
    {
        Interlocked.Increment(ref _waitingForTurn);
        lock (_lock) _pullCancel?.Cancel();
        await _turn.WaitAsync();
        Interlocked.Decrement(ref _waitingForTurn);
        try
        {
            return await call();
        }
        finally
        {
            _turn.Release();
        }
    }

    public Task<SinkReply> DeliverAsync(SinkBatch batch) =>
        WithTurnAsync(() => _connector.Sink!.OnBatchAsync(batch, CancellationToken.None).AsTask());

    public Task<bool> ConnectAsync(int attempt) =>
        WithTurnAsync(() => _connector.ConnectAsync(attempt, CancellationToken.None).AsTask());

    /// <summary>The drain hook; the pump keeps pulling (as the runtime does for a source that pulls while draining).</summary>
    public Task DrainAsync() =>
        WithTurnAsync(async () =>
        {
            await _connector.OnDrainAsync(CancellationToken.None);
            return true;
        });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null) await _pump.WaitAsync(Fixtures.Timeout);
        await _connector.OnStopAsync(CancellationToken.None);
        await _connector.DisposeAsync();
        _stop.Dispose();
        _turn.Dispose();
    }
}
