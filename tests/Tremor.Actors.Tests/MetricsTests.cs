using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Akka.Actor;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Actors.Metrics;
using Tremor.Connectors.File;
using Tremor.Connectors.Std;

namespace Tremor.Actors.Tests;

/// <summary>
/// The runtime's metrics are <see cref="System.Diagnostics.Metrics"/> instruments of the meter
/// <c>Tremor.Runtime</c> (<see cref="RuntimeMetrics"/>) that read the counters the actors keep, so a collection (a
/// Prometheus scrape, the <c>metrics</c> connector) needs no answer from any actor. Before, every scrape asked every
/// connector and pipeline and left out, silently, any that did not answer within 5 s.
/// </summary>
public sealed class MetricsTests : TremorTestKit
{
    // One thread: an actor that blocks it keeps every other actor of the dispatcher from running.
    public MetricsTests()
        : base("single-thread { type = ForkJoinDispatcher, throughput = 1, dedicated-thread-pool { thread-count = 1 } }")
    {
    }

    private sealed class Blocker(ManualResetEventSlim started, ManualResetEventSlim release) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            started.Set();
            release.Wait();
        }
    }

    /// <summary>What one collection of this system's meter reports: instrument name and tags, rendered, to value.</summary>
    private static Dictionary<string, double> Collect(RuntimeMetrics metrics)
    {
        var seen = new Dictionary<string, double>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        // Only this test's runtime: other kits' systems in this process have meters of the same name.
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter)) l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = new List<string>();
            foreach (var tag in tags) labels.Add($"{tag.Key}={tag.Value}");
            seen[$"{instrument.Name}{{{string.Join(",", labels)}}}"] = value;
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void A_collection_reads_a_busy_connectors_counters_without_asking_it()
    {
        var factory = new TestSourceFactory { Total = null };
        Register(factory);
        var downstream = CreateTestProbe();
        var spec = Connector(factory.Type);
        var connector = Sys.ActorOf(ConnectorActor.Props(spec, factory, Catalog, Services, DataPath(), CreateTestProbe().Ref).WithDispatcher("single-thread"));
        connector.Tell(new LinkOutput("out", downstream.Ref, "in"));
        connector.Tell(new ConnectorActor.Start());
        connector.Tell(new Credit(1), downstream.Ref);
        var batch = downstream.ExpectMsg<EventBatch>();
        var metrics = RuntimeMetrics.Get(Sys);
        AwaitCondition(() => metrics.Connectors.Any(c => c.Alias == "f::c" && c.EventsOut >= batch.Events.Length && c.State == ConnectorState.Running));

        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Sys.ActorOf(Props.Create(() => new Blocker(started, release)).WithDispatcher("single-thread")).Tell("block");
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        try
        {
            // The connector cannot answer now...
            Assert.Throws<AskTimeoutException>(() => connector.Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromMilliseconds(300)).GetAwaiter().GetResult());

            // ...and its series are all there, with the counts it had when it got stuck.
            var emitted = metrics.Connectors.Single(c => c.Alias == "f::c").EventsOut;
            var seen = Collect(metrics);
            Assert.Equal(emitted, seen["tremor.connector.events{connector=f::c,type=test-source,port=out}"]);
            // A source has no in port: no series for it.
            Assert.DoesNotContain("tremor.connector.events{connector=f::c,type=test-source,port=in}", seen.Keys);
            Assert.Equal(0, seen["tremor.connector.events{connector=f::c,type=test-source,port=err}"]);
            Assert.Equal(1, seen["tremor.connector.up{connector=f::c,type=test-source}"]);
            Assert.Equal(0, seen["tremor.connector.restarts{connector=f::c,type=test-source}"]);
            // The plugin that provides the type (the kit registers its factories as plugin "tests") was called.
            Assert.True(seen["tremor.plugin.calls{plugin=tests}"] > 0);
        }
        finally
        {
            release.Set();
        }

        Sys.Stop(connector);
        AwaitCondition(() => !Collect(metrics).Keys.Any(k => k.Contains("connector=f::c", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_pipelines_circuit_breaker_is_a_gauge_that_follows_its_downstream()
    {
        var spec = new Configuration.PipelineSpec("f", "main", "passthrough", "tremor.flows.f.pipelines.main", new Tremor.Pdk.PluginConfig("tremor.flows.f.pipelines.main", null));
        var pipeline = Sys.ActorOf(Pipelines.PipelineActor.Props(spec, new Pipelines.PassthroughProgram(), DataPath()));
        var upstream = CreateTestProbe();
        var downstream = CreateTestProbe();
        pipeline.Tell(new LinkInput(upstream.Ref));
        pipeline.Tell(new LinkOutput("out", downstream.Ref, "in"));
        upstream.ExpectMsg<Credit>();
        var metrics = RuntimeMetrics.Get(Sys);
        const string gauge = "tremor.pipeline.circuit_breaker.open{pipeline=f::main}";
        AwaitCondition(() => Collect(metrics).TryGetValue(gauge, out var closed) && closed == 0);

        pipeline.Tell(new CircuitBreaker(true, "the sink lost its peer"), downstream.Ref);
        upstream.ExpectMsg<CircuitBreaker>(m => m.Open);
        AwaitCondition(() => Collect(metrics)[gauge] == 1);

        pipeline.Tell(new CircuitBreaker(false, ""), downstream.Ref);
        upstream.ExpectMsg<CircuitBreaker>(m => !m.Open);
        AwaitCondition(() => Collect(metrics)[gauge] == 0);
    }

    [Fact]
    public async Task A_plugin_that_throws_counts_its_failures_and_restarts_for_the_plugin_and_the_connector()
    {
        var source = new TestSourceFactory { Total = 100 };
        var sink = new TestSinkFactory { ThrowOn = [2, 4] };
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("failing", """
            connectors {
              src { type = test-source }
              snk { type = test-sink, restart { min-backoff = 10ms, max-backoff = 20ms } }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """));
        var metrics = RuntimeMetrics.Get(Sys);
        // Read while the flow runs: the connector's series leave with it.
        AwaitCondition(() => Collect(metrics).GetValueOrDefault("tremor.connector.restarts{connector=failing::snk,type=test-sink}") == 2, TimeSpan.FromSeconds(30));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        var seen = Collect(metrics);
        // Both test factories are plugin "tests": the sink's two throws and the two instances made again after them.
        Assert.Equal(2, seen["tremor.plugin.failures{plugin=tests}"]);
        Assert.Equal(2, seen["tremor.plugin.restarts{plugin=tests}"]);
        Assert.True(seen["tremor.plugin.calls{plugin=tests}"] >= 10 + 10, "at least a pull per source batch and a call per sink batch");
    }

    [Fact]
    public void With_metrics_off_there_is_no_meter_and_the_counters_still_count()
    {
        var metrics = new RuntimeMetrics(enabled: false);

        var connector = metrics.RegisterConnector("f::c", "t", Tremor.Pdk.ConnectorKinds.Sink, "p");
        connector.EventsIn += 3;
        connector.RecordBatch(System.Diagnostics.Stopwatch.GetTimestamp());

        Assert.False(metrics.Enabled);
        Assert.Null(metrics.Meter);
        Assert.Equal(3, metrics.Connectors.Single().EventsIn);
    }

    [Fact]
    public void Tremor_metrics_enabled_off_in_the_config_leaves_the_runtime_without_a_meter_and_a_bad_value_names_the_key()
    {
        var config = Configuration.TremorConfig.Parse("tremor.metrics.enabled = off", "test.conf");
        Assert.False(Configuration.TremorConfig.ReadSettings(config, "test.conf").MetricsEnabled);
        using (var system = ActorSystem.Create("metrics-off", config))
        {
            Assert.Null(RuntimeMetrics.Get(system).Meter);
        }

        var bad = Assert.Throws<Tremor.Pdk.ConfigException>(() => Configuration.TremorConfig.ReadSettings(Configuration.TremorConfig.Parse("tremor.metrics.enabled = maybe", "test.conf"), "test.conf"));
        Assert.Contains("tremor.metrics.enabled", bad.Path);
        var unknown = Assert.Throws<Tremor.Pdk.ConfigException>(() => Configuration.TremorConfig.ReadSettings(Configuration.TremorConfig.Parse("tremor.metrics.interval = 1s", "test.conf"), "test.conf"));
        Assert.Contains("tremor.metrics", unknown.Path);
        Assert.Contains("interval", unknown.Message);
    }

    [Fact]
    public async Task The_metrics_connector_writes_the_flows_own_connector_counters_to_a_file_as_they_grow()
    {
        var output = Path.Combine(DataDir, "metrics.jsonl");
        Register(new MetronomeFactory());
        Register(new NullFactory());
        Register(new MetricsFactory());
        Register(new FileFactory());
        Deploy(Flow("observed", $$"""
            connectors {
              tick { type = metronome, config { interval = 5ms } }
              drop { type = null }
              metrics { type = metrics, config { interval = 100ms } }
              out { type = file, postprocessors = ["separate"], config { path = "{{output}}", mode = truncate } }
            }
            pipelines { main { type = passthrough }, fwd { type = passthrough } }
            links = ["tick -> main", "main -> drop", "metrics -> fwd", "fwd -> out"]
            """));

        // The metronome's out port counted in one event per interval, growing from one to the next.
        var counts = new List<long>();
        await AwaitAssertAsync(
            () =>
            {
                counts = Lines(output)
                    .Where(e => e["measurement"]!.GetValue<string>() == "connector_events" &&
                                e["tags"]!["connector"]!.GetValue<string>() == "observed::tick" &&
                                e["tags"]!["port"]!.GetValue<string>() == "out")
                    .Select(e => e["fields"]!["count"]!.GetValue<long>())
                    .ToList();
                Assert.True(counts.Count >= 3 && counts[^1] > counts[0], $"metronome out counts so far: [{string.Join(", ", counts)}]");
                return Task.CompletedTask;
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(50));
        Assert.Equal(counts.Order(), counts);

        var all = Lines(output);
        // The sink side, the pipeline and the plugin are there too, and every event has Tremor's shape.
        Assert.Contains(all, e => e["measurement"]!.GetValue<string>() == "connector_events" && e["tags"]!["connector"]!.GetValue<string>() == "observed::drop" && e["tags"]!["port"]!.GetValue<string>() == "in");
        Assert.Contains(all, e => e["measurement"]!.GetValue<string>() == "pipeline_events" && e["tags"]!["pipeline"]!.GetValue<string>() == "observed::main");
        Assert.Contains(all, e => e["measurement"]!.GetValue<string>() == "connector_up" && e["tags"]!["connector"]!.GetValue<string>() == "observed::tick" && e["fields"]!["value"]!.GetValue<long>() == 1);
        Assert.Contains(all, e => e["measurement"]!.GetValue<string>() == "plugin_calls" && e["tags"]!["plugin"]!.GetValue<string>() == "tests");
        Assert.All(all, e => Assert.True(e["timestamp"]!.GetValue<long>() > 0));
    }

    /// <summary>The whole JSON lines of <paramref name="path"/> (a line being written is left for the next read).</summary>
    private static List<JsonNode> Lines(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(stream).ReadToEnd();
        var end = text.LastIndexOf('\n');
        return end < 0 ? [] : [.. text[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)];
    }
}
