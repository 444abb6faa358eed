using System.Collections.Concurrent;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>Acks reach a transactional source whose pull waits for input, as an idle server's does.</summary>
public sealed class SourceAckTests : TremorTestKit
{
    /// <summary>Emits one event, then waits in its pull for input that never comes (until the runtime cuts the wait short).</summary>
    private sealed class IdleServerFactory : IConnectorFactory
    {
        public string Type => "idle-server";
        public string Description => "emits one event, then waits";
        public ConnectorKinds Kinds => ConnectorKinds.Source;
        public string? DefaultCodec => "json";

        public readonly ConcurrentBag<ulong> Acked = [];
        public int Waits;

        public IConnector Create(ConnectorContext context) => new Source(this);

        private sealed class Source(IdleServerFactory f) : ConnectorBase, ISource
        {
            private static readonly byte[] Request = Encoding.UTF8.GetBytes("{\"request\":1}");
            private bool _emitted;

            public bool IsTransactional => true;

            public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
            {
                if (!_emitted)
                {
                    _emitted = true;
                    batch.Add(Request, streamId: 7);
                    return PullStatus.Data;
                }
                Interlocked.Increment(ref f.Waits);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                }
                return PullStatus.Empty;
            }

            public void Ack(ulong streamId, ulong pullId) => f.Acked.Add(streamId);

            public void Fail(ulong streamId, ulong pullId)
            {
            }
        }
    }

    [Fact]
    public void The_ack_of_a_delivered_event_reaches_a_source_waiting_for_input_without_new_input()
    {
        var server = new IdleServerFactory();
        var sink = new TestSinkFactory();
        Register(server);
        Register(sink);
        Deploy(Flow("f", """
            connectors {
              src { type = idle-server }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """));

        // The server answers its client only on the ack: it must not wait behind a pull that waits for the next client.
        AwaitCondition(() => server.Acked.Contains(7UL), TimeSpan.FromSeconds(20), "the ack of the delivered event reached the waiting source");
        Assert.Single(server.Acked);
        // Cut short for the ack, the wait was taken up again.
        AwaitCondition(() => Volatile.Read(ref server.Waits) >= 2, TimeSpan.FromSeconds(20), "the source pulled again after the ack");
    }
}
