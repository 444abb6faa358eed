using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class PluginStopTests : TremorTestKit
{
    [Fact]
    public void Plugin_instances_that_hang_when_stopped_do_not_hold_up_other_flows()
    {
        // More hanging instances than the plugin dispatcher has threads (4).
        using var release = new ManualResetEventSlim(false);
        var hanging = new HangingStopFactory(release);
        var source = new TestSourceFactory { Total = 100 };
        var sink = new TestSinkFactory();
        Register(hanging);
        Register(source);
        Register(sink);
        try
        {
            var (world, _) = Deploy(Flow("stuck", """
                connectors {
                  h1 { type = hanging-stop }
                  h2 { type = hanging-stop }
                  h3 { type = hanging-stop }
                  h4 { type = hanging-stop }
                  h5 { type = hanging-stop }
                  snk { type = test-sink }
                }
                links = ["h1 -> snk", "h2 -> snk", "h3 -> snk", "h4 -> snk", "h5 -> snk"]
                """));
            world.Tell(new World.UndeployFlow("stuck"), TestActor);
            ExpectMsg<World.FlowUndeployed>(TimeSpan.FromSeconds(30));
            AwaitCondition(() => Volatile.Read(ref hanging.Stopping) == 5, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));

            // Five instances are stuck in OnStop; another flow still gets its plugins created, called and its events delivered.
            world.Tell(new World.DeployFlow(Flow("next", """
                connectors {
                  src { type = test-source }
                  snk { type = test-sink }
                }
                links = ["src -> snk"]
                """)), TestActor);
            ExpectMsg<World.FlowDeployed>(TimeSpan.FromSeconds(30));
            AwaitCondition(() => sink.ReceivedCount == 100, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task A_restarted_connector_gets_its_new_instance_only_after_the_old_one_stopped()
    {
        var source = new TestSourceFactory { Total = 10, Transactional = true, ReplayFailed = true };
        var sink = new SlowStopSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = slow-stop-sink, restart { min-backoff = 5ms, max-backoff = 20ms } }
            }
            links = ["src -> snk"]
            """));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        // The first instance failed and took its time to stop (as one that closes a port or joins threads would); the
        // second was created after it had been disposed, and got everything.
        Assert.Equal(3, sink.Instances); // validation's, the one that failed, the one after it
        Assert.False(sink.Overlapped);
        Assert.Equal(10, sink.Delivered);
    }

    /// <summary>A sink that fails the first batch it is given; that instance takes a while to stop.</summary>
    private sealed class SlowStopSinkFactory : IConnectorFactory
    {
        public int Instances;
        public int Delivered;
        public bool Overlapped;
        private int _alive;
        private int _batches;

        public string Type => "slow-stop-sink";
        public string Description => "test sink that stops slowly";
        public ConnectorKinds Kinds => ConnectorKinds.Sink;
        public string? DefaultCodec => "json";

        public IConnector Create(ConnectorContext context)
        {
            if (Interlocked.Increment(ref _alive) > 1) Overlapped = true;
            Interlocked.Increment(ref Instances);
            return new Sink(this);
        }

        private sealed class Sink(SlowStopSinkFactory f) : ConnectorBase, ISink
        {
            private bool _broke;

            public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
            {
                if (Interlocked.Increment(ref f._batches) == 1)
                {
                    _broke = true;
                    throw new InvalidOperationException("the first batch breaks the instance");
                }
                Interlocked.Add(ref f.Delivered, batch.Count);
                return ValueTask.FromResult(SinkReply.Acked);
            }

            public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

            public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
            {
                if (_broke) await Task.Delay(300, CancellationToken.None); // the plugin's own slow shutdown
            }

            public override async ValueTask DisposeAsync()
            {
                Interlocked.Decrement(ref f._alive);
                await base.DisposeAsync();
            }
        }
    }

    /// <summary>A source that has nothing and whose OnStop blocks its thread until released (a plugin joining a stuck thread).</summary>
    private sealed class HangingStopFactory(ManualResetEventSlim release) : IConnectorFactory
    {
        public int Stopping;

        public string Type => "hanging-stop";
        public string Description => "test source that hangs in OnStop";
        public ConnectorKinds Kinds => ConnectorKinds.Source;
        public string? DefaultCodec => "json";

        public IConnector Create(ConnectorContext context) => new Source(this, release);

        private sealed class Source(HangingStopFactory f, ManualResetEventSlim release) : ConnectorBase, ISource
        {
            public bool IsTransactional => false;

            public ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(PullStatus.Finished);

            public override ValueTask OnStopAsync(CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref f.Stopping);
                release.Wait();
                return ValueTask.CompletedTask;
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
