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
