using Tremor.Pdk;

namespace Tremor.Connectors.Bench;

/// <summary>
/// <c>blackhole</c>: a sink that acks and measures everything it is sent, as <c>bench</c>'s sink side does (skipping
/// the first <c>warmup-secs</c>), and prints its report once, when the upstream ends or the connector stops. With
/// <c>stop-after-secs</c> it reports and asks the runtime to stop that long after its first event. With <c>delay</c>
/// it waits that long per batch: a deliberately slow sink, to show that back-pressure (not buffering) holds memory flat.
/// </summary>
public sealed class BlackholeFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "blackhole";

    /// <inheritdoc />
    public string Description => "Drops events while measuring throughput and latency (keys: warmup-secs, stop-after-secs, delay)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("warmup-secs", "stop-after-secs", "delay");
        var stopAfter = BenchConfig.OptionalSeconds(config, "stop-after-secs");
        var warmup = BenchConfig.Warmup(config);
        var delay = config.GetDuration("delay", TimeSpan.Zero);
        if (delay < TimeSpan.Zero) throw new ConfigException($"{config.Path}.delay", $"must not be negative, found {delay}");
        return new BlackholeConnector(context.Host, new BenchRecorder(context.Host, "blackhole", warmup, stopAfter), delay);
    }
}

internal sealed class BlackholeConnector(IPluginHost host, BenchRecorder recorder, TimeSpan delay) : ConnectorBase, ISink
{
    public override ISource? Source => null;

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        if (recorder.Record(batch))
        {
            recorder.Report();
            host.RequestShutdown(0, "blackhole: stop-after-secs elapsed");
        }
        return SinkReply.Acked;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        recorder.Report();
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        recorder.Report();
        return ValueTask.CompletedTask;
    }
}
