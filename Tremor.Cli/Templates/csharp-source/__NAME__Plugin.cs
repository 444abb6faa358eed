using System.Text;
using Tremor.Pdk;

namespace __NAMESPACE__;

/// <summary>The plugin's entry point: its manifest and the connector types it provides.</summary>
public sealed class __CLASS__Plugin : ITremorPlugin
{
    public PluginManifest Manifest { get; } = new("__NAME__", "0.1.0", "__NAME__: a source that emits count events");

    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new __CLASS__Factory()];
}

/// <summary>Makes __NAME__ connectors. Config: <c>count</c> (events to emit; default 10).</summary>
public sealed class __CLASS__Factory : IConnectorFactory
{
    public string Type => "__NAME__";

    public string Description => "emits {\"n\":0} .. {\"n\":count-1}, then finishes (keys: count)";

    public ConnectorKinds Kinds => ConnectorKinds.Source;

    public string? DefaultCodec => "json";

    public IConnector Create(ConnectorContext context)
    {
        context.Config.RejectUnknownKeys("count");
        var count = context.Config.GetInt("count", 10);
        if (count < 0) throw new ConfigException($"{context.Config.Path}.count", $"must be 0 or more, found {count}");
        return new __CLASS__Source(count);
    }
}

/// <summary>The source: fills each pull with up to its capacity of events, then ends its stream.</summary>
public sealed class __CLASS__Source(long count) : ConnectorBase, ISource
{
    // The bytes of the last pull: the runtime decodes them before it pulls again.
    private readonly List<byte[]> _pulled = [];
    private long _next;

    public bool IsTransactional => false;

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        _pulled.Clear();
        while (!batch.IsFull && _next < count)
        {
            var bytes = Encoding.UTF8.GetBytes($"{{\"n\":{_next++}}}");
            _pulled.Add(bytes);
            batch.Add(bytes);
        }
        if (_next < count) return ValueTask.FromResult(PullStatus.Data);
        batch.EndStream(0);
        return ValueTask.FromResult(PullStatus.Finished);
    }

    // Not transactional: the runtime sends no acks or fails.
    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }
}
