using Tremor.Pdk;

namespace __NAMESPACE__;

/// <summary>The plugin's entry point: its manifest and the connector types it provides.</summary>
public sealed class __CLASS__Plugin : ITremorPlugin
{
    public PluginManifest Manifest { get; } = new("__NAME__", "0.1.0", "__NAME__: a sink that counts events and bytes");

    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new __CLASS__Factory()];
}

/// <summary>Makes __NAME__ connectors. Config: <c>log-every</c> (log a line every N events; default 0 = never).</summary>
public sealed class __CLASS__Factory : IConnectorFactory
{
    public string Type => "__NAME__";

    public string Description => "counts events and bytes (keys: log-every)";

    public ConnectorKinds Kinds => ConnectorKinds.Sink;

    public string? DefaultCodec => "json";

    public IConnector Create(ConnectorContext context)
    {
        context.Config.RejectUnknownKeys("log-every");
        var logEvery = context.Config.GetInt("log-every", 0);
        if (logEvery < 0) throw new ConfigException($"{context.Config.Path}.log-every", $"must be 0 or more, found {logEvery}");
        return new __CLASS__Sink(context.Host, logEvery);
    }
}

/// <summary>The sink: counts what it is handed and acks it.</summary>
public sealed class __CLASS__Sink(IPluginHost host, long logEvery) : ConnectorBase, ISink
{
    private long _events;
    private long _bytes;

    public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        foreach (var e in batch.Events)
        {
            _events++;
            _bytes += e.Payload.Length;
            if (logEvery > 0 && _events % logEvery == 0) host.Log(PluginLogLevel.Info, $"{_events} events, {_bytes} bytes");
        }
        return ValueTask.FromResult(SinkReply.Acked);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        host.Log(PluginLogLevel.Info, $"__NAME__: {_events} events, {_bytes} bytes");
        return ValueTask.CompletedTask;
    }
}
