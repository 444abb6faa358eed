using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>
/// <c>exit</c>: a sink that asks the runtime to drain and stop on the first event it receives. The exit code is the
/// event's integer <c>exit</c> field (as in Tremor), else config <c>code</c> (default 0); the request waits for the
/// event's <c>delay</c> field (milliseconds) or config <c>delay</c> (a duration, default none). Later events are acked
/// and ignored.
/// </summary>
public sealed class ExitFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "exit";

    /// <inheritdoc />
    public string Description => "Stops the runtime on the first event, with the event's exit code (keys: code, delay)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("code", "delay");
        var code = config.GetInt("code", 0);
        if (code is < int.MinValue or > int.MaxValue)
        {
            throw new ConfigException($"{config.Path}.code", $"must fit a 32-bit exit code, found {code}");
        }
        var delay = config.GetDuration("delay", TimeSpan.Zero);
        if (delay < TimeSpan.Zero)
        {
            throw new ConfigException($"{config.Path}.delay", $"must not be negative, found {delay}");
        }
        return new ExitConnector(context.Host, (int)code, delay);
    }
}

internal sealed class ExitConnector(IPluginHost host, int defaultCode, TimeSpan defaultDelay) : ConnectorBase, ISink
{
    private bool _requested;

    public override ISource? Source => null;

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_requested || batch.Count == 0) return SinkReply.Acked;
        _requested = true;

        var data = batch.Events[0].Event.Data;
        var code = defaultCode;
        if (data["exit"].TryGetI64(out var requested))
        {
            if (requested is >= int.MinValue and <= int.MaxValue) code = (int)requested;
            else host.Log(PluginLogLevel.Warning, $"exit code {requested} does not fit an int; using {defaultCode}");
        }
        var delay = data["delay"].TryGetF64(out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : defaultDelay;

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        host.RequestShutdown(code, $"exit connector {host.Alias} received an event");
        return SinkReply.Acked;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
