using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

/// <summary>What one pull produced, copied (the batch and its memory are only valid until the next pull).</summary>
internal sealed record Recorded(ulong StreamId, byte[] Data, Value Meta, bool IsEnd);

/// <summary>
/// Plays the runtime for one connector: pulls in a loop and delivers sink batches, one call at a time (the PDK's
/// threading contract), and records every chunk and stream end.
/// </summary>
internal sealed class Runner : IAsyncDisposable
{
    private readonly IConnector _connector;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Recorded> _records = [];
    private readonly Task? _pump;

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

    /// <summary>Everything received so far as text, all streams in arrival order.</summary>
    public string Text => Fixtures.Text(Chunks.Select(c => c.Data));

    private async Task PumpAsync()
    {
        var source = _connector.Source!;
        var batch = new SourceBatch(16);
        while (!_stop.IsCancellationRequested)
        {
            await _turn.WaitAsync();
            try
            {
                batch.Clear();
                PullStatus status;
                try
                {
                    status = await source.PullAsync(batch, _stop.Token);
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

    public async Task<SinkReply> DeliverAsync(SinkBatch batch)
    {
        await _turn.WaitAsync();
        try
        {
            return await _connector.Sink!.OnBatchAsync(batch, CancellationToken.None);
        }
        finally
        {
            _turn.Release();
        }
    }

    public async Task<bool> ConnectAsync(int attempt)
    {
        await _turn.WaitAsync();
        try
        {
            return await _connector.ConnectAsync(attempt, CancellationToken.None);
        }
        finally
        {
            _turn.Release();
        }
    }

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
