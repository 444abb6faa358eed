using System.Diagnostics;
using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>
/// <c>metronome</c>: a source that emits <c>{"onramp":"metronome","ingest_ns":N,"id":N}</c> every <c>interval</c>
/// (default 1s), the first one interval after it starts; after <c>iterations</c> ticks (if set) it is finished.
/// </summary>
public sealed class MetronomeFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "metronome";

    /// <inheritdoc />
    public string Description => "Emits a structured tick event every interval (keys: interval, iterations)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Source;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("interval", "iterations");
        var interval = config.GetDuration("interval", TimeSpan.FromSeconds(1));
        if (interval <= TimeSpan.Zero)
        {
            throw new ConfigException($"{config.Path}.interval", $"must be positive, found {interval}");
        }
        long? iterations = null;
        if (config.Has("iterations"))
        {
            iterations = config.GetInt("iterations");
            if (iterations <= 0)
            {
                throw new ConfigException($"{config.Path}.iterations", $"must be at least 1, found {iterations}");
            }
        }
        return new MetronomeConnector(context.Host, interval, iterations);
    }
}

internal sealed class MetronomeConnector(IPluginHost host, TimeSpan interval, long? iterations) : ConnectorBase, ISource
{
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    private long _nextTick = -1;
    private long _emitted;

    public override ISink? Sink => null;

    public bool IsTransactional => false;

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (iterations is { } limit && _emitted >= limit) return PullStatus.Finished;

        var now = Stopwatch.GetTimestamp();
        if (_nextTick < 0) _nextTick = now + _intervalTicks;
        // Task.Delay works in whole milliseconds and may wake a little early: wait until the tick is really due.
        while (now < _nextTick)
        {
            try
            {
                var wait = Stopwatch.GetElapsedTime(now, _nextTick);
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return PullStatus.Empty;
            }
            now = Stopwatch.GetTimestamp();
        }

        // Keep the beat anchored to the schedule, but after a pause start afresh instead of catching up in a burst.
        _nextTick = now - _nextTick > _intervalTicks ? now + _intervalTicks : _nextTick + _intervalTicks;

        var ingestNs = host.NowNs();
        var tick = Value.NewRecord(3);
        var record = tick.AsRecord()!;
        record.Append("onramp", "metronome");
        record.Append("ingest_ns", Value.From(ingestNs));
        record.Append("id", _emitted);
        batch.AddStructured(tick, 0, ingestNs);
        _emitted++;

        return iterations is { } max && _emitted >= max ? PullStatus.Finished : PullStatus.Data;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }
}
