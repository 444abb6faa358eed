using Tremor.Pdk;

namespace Tremor.Cluster.Tests;

/// <summary>
/// <c>discard</c>: a sink that acks and drops, registered by every test node. (The std plugin's <c>null</c> cannot be
/// named in HOCON: Akka's parser reads <c>type = "null"</c> as no value.)
/// </summary>
public sealed class DiscardFactory : IConnectorFactory
{
    public string Type => "discard";
    public string Description => "drops every event";
    public ConnectorKinds Kinds => ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    public IConnector Create(ConnectorContext context) => new Discard();

    private sealed class Discard : ConnectorBase, ISink
    {
        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(SinkReply.Acked);

        public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
