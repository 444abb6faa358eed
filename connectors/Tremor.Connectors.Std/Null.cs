using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>
/// <c>null</c>: a sink that acknowledges and drops every event, and a source that never produces one. No config.
/// </summary>
public sealed class NullFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "null";

    /// <inheritdoc />
    public string Description => "Drops every event it is sent; produces none";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        context.Config.RejectUnknownKeys();
        return new NullConnector();
    }
}

internal sealed class NullConnector : ConnectorBase, ISource, ISink
{
    public bool IsTransactional => false;

    public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PullStatus.Empty);

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken) =>
        ValueTask.FromResult(SinkReply.Acked);

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
