using Akka.Actor;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Actors.Metrics;

namespace Tremor.Actors.Tests;

/// <summary>
/// <c>/metrics</c> is rendered from the counters the actors keep (<see cref="RuntimeMetrics"/>), so a scrape needs no
/// answer from any actor. Before, every scrape asked every connector and pipeline and left out, silently, any that
/// did not answer within 5 s.
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

    [Fact]
    public void A_scrape_reads_a_busy_connectors_counters_without_asking_it()
    {
        var factory = new TestSourceFactory { Total = null };
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
            var text = metrics.WritePrometheus();
            Assert.Contains($"tremor_connector_events_out_total{{connector=\"f::c\",type=\"test-source\"}} {emitted}\n", text);
            Assert.Contains("tremor_connector_up{connector=\"f::c\",type=\"test-source\"} 1\n", text);
            Assert.Contains("tremor_connector_restarts_total{connector=\"f::c\",type=\"test-source\"} 0\n", text);
        }
        finally
        {
            release.Set();
        }

        Sys.Stop(connector);
        AwaitCondition(() => metrics.Connectors.All(c => c.Alias != "f::c"));
    }

    [Fact]
    public void Label_values_are_escaped_as_the_prometheus_text_format_says()
    {
        var metrics = new RuntimeMetrics();
        var connector = metrics.RegisterConnector("f::a\"b\\c\nd", "t\"ype");
        connector.EventsIn = 3;
        metrics.RegisterPipeline("f::p\\\"");

        var text = metrics.WritePrometheus();

        Assert.Contains("tremor_connector_events_in_total{connector=\"f::a\\\"b\\\\c\\nd\",type=\"t\\\"ype\"} 3\n", text);
        Assert.Contains("tremor_pipeline_events_in_total{pipeline=\"f::p\\\\\\\"\"} 0\n", text);
        // Every sample is one line: no raw newline inside a label.
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Matches(@"^(# (HELP|TYPE) \S+ .+|\S+\{[^\n]*\} \d+)$", line));
    }
}
