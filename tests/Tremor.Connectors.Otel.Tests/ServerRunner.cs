using Tremor.Pdk;

namespace Tremor.Connectors.Otel.Tests;

/// <summary>What the server runner does with each event it pulls: settles it as a flow would.</summary>
internal enum Settle
{
    Ack,
    Fail,
    /// <summary>Neither, as for an event a pipeline dropped.</summary>
    Nothing,
}

/// <summary>
/// Plays the runtime for otel_server: connects, pulls in a loop (one call at a time, as the PDK promises), records every
/// structured event with its meta, and acks or fails it as a flow's sinks would.
/// </summary>
internal sealed class ServerRunner : IAsyncDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(Value Data, Value Meta)> _events = [];
    private Task? _pump;

    public ServerRunner(TestHost host, params (string Key, Value Value)[] config)
    {
        Host = host;
        Connector = (OtelServerConnector)new OtelServerFactory().Create(Fixtures.Context(host, [("url", "127.0.0.1:0"), ("http-url", "127.0.0.1:0"), .. config]));
    }

    public TestHost Host { get; }

    public OtelServerConnector Connector { get; }

    public Settle Settle { get; set; } = Settle.Ack;

    public Uri GrpcUrl => Connector.GrpcUrl!;

    public Uri HttpUrl => Connector.HttpUrl!;

    public List<(Value Data, Value Meta)> Events
    {
        get { lock (_lock) return [.. _events]; }
    }

    public async Task StartAsync()
    {
        Assert.True(await Connector.ConnectAsync(1, CancellationToken.None), "otel_server did not start listening");
        _pump = Task.Run(PumpAsync);
    }

    private async Task PumpAsync()
    {
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
                    status = await Connector.PullAsync(batch, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                for (var i = 0; i < batch.Count; i++)
                {
                    var chunk = batch[i];
                    Assert.True(chunk.IsStructured, "otel_server emits structured events");
                    lock (_lock) _events.Add((chunk.Structured, chunk.Meta));
                    if (Settle == Settle.Ack) Connector.Ack(chunk.StreamId, chunk.PullId);
                    else if (Settle == Settle.Fail) Connector.Fail(chunk.StreamId, chunk.PullId);
                }
                if (status == PullStatus.Finished) return;
            }
            finally
            {
                _turn.Release();
            }
        }
    }

    /// <summary>Waits until an event with <paramref name="key"/> (logs, metrics, trace) satisfies <paramref name="condition"/>.</summary>
    public async Task<Value> WaitForAsync(string key, Func<Value, bool> condition, string what)
    {
        await Fixtures.WaitUntil(() => Events.Exists(e => !e.Data[key].IsNull && condition(e.Data)), what);
        return Events.First(e => !e.Data[key].IsNull && condition(e.Data)).Data;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null) await _pump.WaitAsync(TimeSpan.FromSeconds(20));
        await Connector.OnStopAsync(CancellationToken.None);
        await Connector.DisposeAsync();
        _stop.Dispose();
        _turn.Dispose();
    }
}
