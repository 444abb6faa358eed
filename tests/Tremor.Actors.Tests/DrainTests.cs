using System.Collections.Concurrent;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class DrainTests : TremorTestKit
{
    [Fact]
    public void A_source_that_pulls_while_draining_hands_over_everything_it_had_accepted()
    {
        var source = new QueueSourceFactory(queued: 1000);
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (world, _) = Deploy(Flow("f", """
            connectors {
              src { type = queue-source }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """));
        AwaitAssert(() => Assert.Equal(10, sink.ReceivedCount));

        world.Tell(new World.UndeployFlow("f"), TestActor);
        ExpectMsg<World.FlowUndeployed>(TimeSpan.FromSeconds(30));
        // Everything the source had accepted arrived, though the drain began after the first few.
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), sink.Received.Keys.Order());
        Assert.Equal(10, source.DrainedAt);
    }

    /// <summary>
    /// A source with events already accepted (as a server with reads queued) that hands over only ten before the drain
    /// (as if the flow were slow), then one per pull, then nothing.
    /// </summary>
    private sealed class QueueSourceFactory(int queued) : IConnectorFactory
    {
        public string Type => "queue-source";
        public string Description => "test source with a queue";
        public ConnectorKinds Kinds => ConnectorKinds.Source;
        public string? DefaultCodec => "json";
        public readonly ConcurrentQueue<byte[]> Queue = new(Enumerable.Range(0, queued).Select(n => Encoding.UTF8.GetBytes($"{{\"n\":{n}}}")));
        public int DrainedAt = -1;

        public IConnector Create(ConnectorContext context) => new Source(this);

        private sealed class Source(QueueSourceFactory f) : ConnectorBase, ISource
        {
            private int _taken;

            public bool IsTransactional => false;

            public bool PullsWhileDraining => true;

            public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
            {
                f.DrainedAt = _taken;
                return ValueTask.CompletedTask;
            }

            public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
            {
                if (f.DrainedAt < 0 && _taken >= 10)
                {
                    // Like a server waiting for input: the pull waits a while, then comes back empty. So a pull is
                    // usually under way when the drain begins, and comes back empty after it: not the last one.
                    try
                    {
                        await Task.Delay(50, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    return PullStatus.Empty;
                }
                if (!f.Queue.TryDequeue(out var item)) return PullStatus.Empty;
                _taken++;
                batch.Add(item);
                return PullStatus.Data;
            }

            public void Ack(ulong streamId, ulong pullId)
            {
            }

            public void Fail(ulong streamId, ulong pullId)
            {
            }
        }
    }
}
