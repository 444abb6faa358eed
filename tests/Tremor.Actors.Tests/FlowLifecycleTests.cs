using Akka.Actor;
using Tremor.Actors.Configuration;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>How a flow ends: failures fail it (named), losses are counted, and the run's exit code says so.</summary>
public sealed class FlowLifecycleTests : TremorTestKit
{
    private const string SourceToSink = """
        connectors {
          src { type = test-source }
          snk { type = test-sink }
        }
        pipelines { main { type = passthrough } }
        links = ["src -> main", "main -> snk"]
        """;

    private string Summary => Services.Ledger.Summary?.Line ?? "(no summary)";

    [Fact]
    public async Task A_flow_that_delivered_everything_ends_0_and_says_so()
    {
        Register(new TestSourceFactory { Total = 300 });
        Register(new TestSinkFactory());
        var (_, exit) = Deploy(Flow("f", SourceToSink));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("every accepted event was delivered (300 from sources, 300 delivered by sinks)", Summary);
    }

    [Fact]
    public async Task A_pipeline_killed_by_an_unexpected_exception_fails_its_flow_and_the_run_ends_1()
    {
        var sink = new TestSinkFactory();
        Register(new TestSourceFactory { Total = null });
        Register(sink);
        var (_, exit) = Deploy(Flow("f", SourceToSink));
        AwaitAssert(() => Assert.True(sink.ReceivedCount > 0));

        // Kill makes the actor throw (ActorKilledException): a bug in the runtime, not a plugin failure.
        Sys.ActorSelection("/user/world/pipelines/f.main").Tell(Kill.Instance);

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("flow 'f' failed: 'main' stopped unexpectedly", Summary);
        Assert.StartsWith("error: ", Summary);
    }

    [Fact]
    public async Task A_source_that_never_connects_fails_its_flow_and_the_run_names_it()
    {
        Register(new TestSourceFactory { Total = 100, FailConnects = 1 });
        Register(new TestSinkFactory());
        var (_, exit) = Deploy(Flow("f", SourceToSink));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("connector 'f::src' failed: could not connect after 1 attempt(s)", Summary);
    }

    [Fact]
    public async Task A_sink_that_never_connects_ends_the_run_1_counting_every_event_it_could_not_deliver()
    {
        Register(new TestSourceFactory { Total = 100 });
        Register(new TestSinkFactory { NeverConnects = true });
        var (_, exit) = Deploy(Flow("f", SourceToSink));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("100 event(s) not delivered: f::snk 100 failed (received 100, delivered 0)", Summary);
        Assert.Contains("connector 'f::snk' failed", Summary);
    }

    [Fact]
    public async Task A_drain_that_times_out_ends_1_counting_what_was_still_in_flight()
    {
        var gate = new SemaphoreSlim(0);
        var source = new TestSourceFactory { Total = null };
        Register(source);
        Register(new TestSinkFactory { Gate = gate });
        var (world, exit) = Deploy(Flow("f", SourceToSink), new DataPathSettings(10, 2, TimeSpan.FromSeconds(1)));
        AwaitAssert(() => Assert.True(Interlocked.Read(ref source.Emitted) > 0));

        world.Tell(new World.ShutdownRequested(0, "test"));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("the drain did not finish within 1s", Summary);
        Assert.Matches(@"\d+ event\(s\) not delivered: .*f::snk \d+ in flight when stopped", Summary);
    }

    [Fact]
    public async Task A_second_stop_request_during_a_drain_ends_the_run_at_once_and_says_what_was_abandoned()
    {
        var gate = new SemaphoreSlim(0);
        var source = new TestSourceFactory { Total = null };
        Register(source);
        Register(new TestSinkFactory { Gate = gate });
        // A drain timeout far beyond the test's: only the second request can end this run in time.
        var (world, exit) = Deploy(Flow("f", SourceToSink), new DataPathSettings(10, 2, TimeSpan.FromMinutes(10)));
        AwaitAssert(() => Assert.True(Interlocked.Read(ref source.Emitted) > 0));
        world.Tell(new World.ShutdownRequested(0, "first signal"));

        world.Tell(new World.StopNow("second signal"));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.StartsWith("error: second signal: stopped without draining; ", Summary);
        Assert.Matches(@"f::snk \d+ in flight when stopped", Summary);
    }

    [Fact]
    public async Task A_signal_during_a_drain_a_connector_asked_for_stops_at_once()
    {
        var source = new TestSourceFactory { Total = null };
        Register(source);
        Register(new TestSinkFactory { Gate = new SemaphoreSlim(0) });
        var (world, exit) = Deploy(Flow("f", SourceToSink), new DataPathSettings(10, 2, TimeSpan.FromMinutes(10)));
        AwaitAssert(() => Assert.True(Interlocked.Read(ref source.Emitted) > 0));
        world.Tell(new World.ShutdownRequested(0, "an exit connector"));

        world.Tell(new World.SignalReceived("SIGINT"));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.StartsWith("error: received SIGINT during the drain: stopped without draining", Summary);
    }

    [Fact]
    public void World_answers_other_requests_while_a_deploy_is_being_validated()
    {
        using var gate = new ManualResetEventSlim();
        Register(new TestSourceFactory { Total = 10 });
        Register(new GatedFactory(new TestSinkFactory(), gate));
        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit, keepRunning: true), "world");
        var deployer = CreateTestProbe();
        var other = CreateTestProbe();

        world.Tell(new World.DeployFlow(Flow("f", SourceToSink.Replace("test-sink", "gated-sink"))), deployer);
        world.Tell(new World.ListFlows(), other);

        // The validation is blocked in the sink's config check; the world answers anyway.
        var list = other.ExpectMsg<World.FlowList>();
        Assert.Empty(list.Flows);
        deployer.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        // The name is taken while it validates.
        world.Tell(new World.DeployFlow(Flow("f", SourceToSink)), other);
        Assert.Contains("already deployed", other.ExpectMsg<World.DeployFailed>().Reason);
        gate.Set();
        deployer.ExpectMsg<World.FlowDeployed>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_flow_undeployed_while_it_validates_is_not_deployed_and_the_undeploy_is_answered()
    {
        using var gate = new ManualResetEventSlim();
        Register(new TestSourceFactory { Total = null });
        Register(new GatedFactory(new TestSinkFactory(), gate));
        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit, keepRunning: true), "world");
        var deployer = CreateTestProbe();
        var undeployer = CreateTestProbe();
        world.Tell(new World.DeployFlow(Flow("f", SourceToSink.Replace("test-sink", "gated-sink"))), deployer);

        world.Tell(new World.UndeployFlow("f"), undeployer);
        gate.Set();

        undeployer.ExpectMsg<World.FlowUndeployed>(TimeSpan.FromSeconds(10));
        Assert.Contains("undeployed while it was being validated", deployer.ExpectMsg<World.DeployFailed>().Reason);
        world.Tell(new World.ListFlows(), TestActor);
        Assert.Empty(ExpectMsg<World.FlowList>().Flows);
    }

    [Fact]
    public async Task A_query_file_changed_after_validation_does_not_change_or_break_the_deploy()
    {
        var dir = Directory.CreateTempSubdirectory("tremor-flow-lifecycle-");
        try
        {
            var queryFile = Path.Combine(dir.FullName, "q.trickle");
            await File.WriteAllTextAsync(queryFile, "select event from in into out;");
            var sink = new TestSinkFactory();
            Register(new TestSourceFactory { Total = 50 });
            Register(sink);
            var spec = Flow("f", SourceToSink.Replace("main { type = passthrough }", $"main {{ query-file = \"{queryFile}\" }}"));
            var validated = FlowValidator.Validate(spec, Catalog);

            await File.WriteAllTextAsync(queryFile, "this is not a query");
            var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit), "world");
            world.Tell(new World.DeployFlow(spec, validated), TestActor);

            ExpectMsg<World.FlowDeployed>();
            Assert.Equal(0, await exit.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(50, sink.ReceivedCount);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_part_that_cannot_be_created_fails_the_flow_with_its_error_instead_of_leaving_it_deploying()
    {
        Register(new TestSourceFactory { Total = 50 });
        Register(new TestSinkFactory());
        var spec = Flow("f", SourceToSink);
        var validated = FlowValidator.Validate(spec, Catalog);
        var broken = validated with
        {
            Programs = new Dictionary<string, Func<Pipelines.IPipelineProgram>> { ["main"] = () => throw new InvalidOperationException("the program could not be made") },
        };
        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var world = Sys.ActorOf(World.Props(Catalog, Services, DataPath(), exit), "world");

        world.Tell(new World.DeployFlow(spec, broken), TestActor);

        ExpectMsg<World.FlowDeployed>();
        Assert.Equal(1, await exit.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("flow 'f' failed: tremor.flows.f.pipelines.main: could not create pipeline 'main': the program could not be made", Summary);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // the plugin host is a Linux program
    public void An_isolated_connector_is_checked_against_its_schema_without_starting_a_plugin_host()
    {
        new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false)).DiscoverAll([]);
        Register(new TestSourceFactory());
        var dir = Directory.CreateTempSubdirectory("tremor-flow-lifecycle-");
        // A stand-in for the plugin host program that leaves a mark when started.
        var host = Path.Combine(dir.FullName, "fake-plugin-host");
        File.WriteAllText(host, "#!/bin/sh\necho started > \"$0.started\"\nexit 1\n");
        File.SetUnixFileMode(host, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        FlowSpec Isolated(string config) => Flow("f", $$"""
            connectors {
              src { type = test-source }
              snk { type = c-blackhole, isolation = process, config { {{config}} } }
            }
            links = ["src -> snk"]
            """);
        var previous = Environment.GetEnvironmentVariable("TREMOR_PLUGIN_HOST");
        Environment.SetEnvironmentVariable("TREMOR_PLUGIN_HOST", host);
        try
        {
            FlowValidator.Validate(Isolated($"path = \"{Path.Combine(dir.FullName, "out.jsonl")}\""), Catalog);
            var refused = Assert.Throws<ConfigException>(() => FlowValidator.Validate(Isolated("no-such-key = 1"), Catalog));
            Assert.Contains("no-such-key", refused.Message);
            Assert.False(File.Exists(host + ".started"), "validating the flow started a plugin host process");
        }
        finally
        {
            Environment.SetEnvironmentVariable("TREMOR_PLUGIN_HOST", previous);
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_sink_that_settles_each_event_is_counted_per_event()
    {
        Register(new TestSourceFactory { Total = 50 });
        Register(new SettlingSinkFactory(failN: 5));
        var (_, exit) = Deploy(Flow("f", SourceToSink.Replace("test-sink", "settling-sink")));

        Assert.Equal(1, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("error: 1 event(s) not delivered: f::snk 1 failed (received 50, delivered 49)", Summary);
    }

    /// <summary>Fails the event whose <c>n</c> is <paramref name="failN"/> and delivers the rest: <see cref="SinkReply.Settle"/>.</summary>
    private sealed class SettlingSinkFactory(long failN) : IConnectorFactory
    {
        public string Type => "settling-sink";
        public string Description => "a sink that settles events one by one";
        public ConnectorKinds Kinds => ConnectorKinds.Sink;
        public string? DefaultCodec => "json";

        public IConnector Create(ConnectorContext context) => new Sink(context.Host, failN);

        private sealed class Sink(IPluginHost host, long failN) : ConnectorBase, ISink
        {
            public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
            {
                var failed = batch.Events.Where(e => e.Event.Data["n"].TryGetI64(out var n) && n == failN).Select(e => (e.Id, "not this one")).ToList();
                return ValueTask.FromResult(SinkReply.Settle(host, batch, failed));
            }

            public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
        }
    }

    /// <summary>A factory whose config check (Create) waits for a gate: a slow validation.</summary>
    private sealed class GatedFactory(IConnectorFactory inner, ManualResetEventSlim gate) : IConnectorFactory
    {
        public string Type => "gated-sink";
        public string Description => "a sink whose config check waits";
        public ConnectorKinds Kinds => inner.Kinds;
        public string? DefaultCodec => inner.DefaultCodec;

        public IConnector Create(ConnectorContext context)
        {
            if (!gate.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the test never opened the gate");
            return inner.Create(context);
        }
    }
}
