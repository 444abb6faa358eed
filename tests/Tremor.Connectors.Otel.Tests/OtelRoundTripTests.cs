using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Otel.Tests;

/// <summary>otel_client → otel_server: an event with every OTLP field set leaves and arrives equal, on every transport.</summary>
public sealed class OtelRoundTripTests
{
    private const string TraceId = "5b8efff798038103d269b633813fc60c";
    private const string SpanId = "eee19b7ec3c1b174";

    private static Value Attributes() => Record(
        ("s", "text"), ("b", true), ("i", -7), ("d", 2.5), ("bytes", Value.From(new byte[] { 1, 2, 255 })),
        ("list", List(1, "two", false)), ("nested", Record(("k", "v"), ("n", Value.Null))));

    private static Value Resource() => Record(("attributes", Attributes()), ("dropped_attributes_count", 1));

    private static Value Scope(string name) => Record(("name", name), ("version", "1.0"), ("attributes", Record(("scope.attr", 1))), ("dropped_attributes_count", 2));

    private static Value Exemplar(Value value) => Record(
        ("filtered_attributes", Record(("user", "u1"))), ("time_unix_nano", 1_700_000_000_000_000_005L), ("value", value),
        ("span_id", SpanId), ("trace_id", TraceId));

    private static Value Point(params (string Key, Value Value)[] fields) => Record([
        ("attributes", Record(("host", "a"))), ("start_time_unix_nano", 1_700_000_000_000_000_000L),
        ("time_unix_nano", 1_700_000_000_000_000_010L), ("flags", 0), .. fields]);

    private static Value Resourced(string signal, string scopesKey, string itemsKey, string scope, string schemaUrl, params Value[] items)
    {
        var scoped = Record(("scope", Scope(scope)), ("schema_url", $"{scope}-schema"), (itemsKey, List(items)));
        var resource = Record(("resource", Resource()), ("schema_url", schemaUrl), (scopesKey, List(scoped)));
        return Record((signal, List(resource)));
    }

    internal static Value Logs()
    {
        var full = Record(
            ("time_unix_nano", 1_700_000_000_000_000_001L), ("observed_time_unix_nano", 1_700_000_000_000_000_002L),
            ("severity_number", 17), ("severity_text", "ERROR"), ("body", Record(("msg", "boom"), ("code", 3))),
            ("attributes", Attributes()), ("dropped_attributes_count", 4), ("flags", 1),
            ("trace_id", TraceId), ("span_id", SpanId), ("event_name", "app.crash"));
        var empty = Record(
            ("time_unix_nano", 0), ("observed_time_unix_nano", 0), ("severity_number", 0), ("severity_text", ""),
            ("body", Value.Null), ("attributes", Record()), ("dropped_attributes_count", 0), ("flags", 0),
            ("trace_id", ""), ("span_id", ""), ("event_name", ""));
        return Resourced("logs", "scope_logs", "logs", "app.logs", "https://opentelemetry.io/schemas/1.21.0", full, empty);
    }

    private static Value Metric(string name, string unit, string kind, Value body, Value? metadata = null)
    {
        var metric = Record(("name", name), ("description", $"{name} description"), ("unit", unit), ("data", Record((kind, body))));
        if (metadata is { } m) metric.AsRecord()!.Set("metadata", m);
        return metric;
    }

    internal static Value Metrics()
    {
        var gauge = Metric("queue.depth", "1", "gauge",
            Record(("data_points", List(Point(("value", 12), ("exemplars", List(Exemplar(3)))), Point(("exemplars", List()))))),
            Record(("origin", "test")));
        var sum = Metric("bytes.sent", "By", "sum", Record(
            ("data_points", List(Point(("value", 1.5), ("exemplars", List(Exemplar(0.25)))))),
            ("aggregation_temporality", 1),
            ("is_monotonic", true)));
        var histogram = Metric("latency", "ms", "histogram", Record(
            ("data_points", List(
                Point(("count", 3), ("sum", 30.5), ("bucket_counts", List(1, 2, 0)), ("explicit_bounds", List(10.0, 20.0)), ("min", 1.5), ("max", 19.0), ("exemplars", List())),
                Point(("count", 0), ("bucket_counts", List()), ("explicit_bounds", List()), ("exemplars", List())))),
            ("aggregation_temporality", 2)));
        var exponential = Metric("sizes", "", "exponential_histogram", Record(
            ("data_points", List(Point(
                ("count", 5), ("sum", 12.0), ("scale", -2), ("zero_count", 1), ("zero_threshold", 0.001),
                ("positive", Record(("offset", -1), ("bucket_counts", List(1, 2)))),
                ("negative", Record(("offset", 3), ("bucket_counts", List(1)))),
                ("min", -4.0), ("max", 9.0), ("exemplars", List())))),
            ("aggregation_temporality", 1)));
        var quantiles = List(Record(("quantile", 0.5), ("value", 0.4)), Record(("quantile", 0.99), ("value", 1.2)));
        var summary = Metric("rpc.duration", "s", "summary", Record(("data_points", List(Point(("count", 10), ("sum", 4.5), ("quantile_values", quantiles))))));
        return Resourced("metrics", "scope_metrics", "metrics", "app.metrics", "", gauge, sum, histogram, exponential, summary);
    }

    internal static Value Trace()
    {
        var span = Record(
            ("trace_id", TraceId), ("span_id", SpanId), ("parent_span_id", "00f067aa0ba902b7"), ("trace_state", "vendor=1"),
            ("flags", 257), ("name", "GET /cart"), ("kind", 3),
            ("start_time_unix_nano", 1_700_000_000_000_000_000L), ("end_time_unix_nano", 1_700_000_000_500_000_000L),
            ("attributes", Attributes()), ("dropped_attributes_count", 1),
            ("events", List(Record(("time_unix_nano", 1_700_000_000_100_000_000L), ("name", "retry"), ("attributes", Record(("attempt", 2))), ("dropped_attributes_count", 0)))),
            ("dropped_events_count", 2),
            ("links", List(Record(
                ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), ("span_id", "53995c3f42cd8ad8"), ("trace_state", ""),
                ("attributes", Record(("link", "parent-batch"))), ("dropped_attributes_count", 0), ("flags", 1)))),
            ("dropped_links_count", 3),
            ("status", Record(("code", 2), ("message", "upstream timed out"))));
        return Resourced("trace", "scope_spans", "spans", "app.trace", "", span);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    [InlineData("http/json")]
    public async Task Every_field_of_logs_metrics_and_traces_arrives_equal(string protocol)
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        var host = new TestHost();
        var url = protocol == "grpc" ? server.GrpcUrl : server.HttpUrl;
        await using var client = new OtelClientFactory().Create(Context(host, ("url", url.ToString()), ("protocol", protocol)));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));

        var sent = new[] { Logs(), Metrics(), Trace() };
        var reply = await client.Sink!.OnBatchAsync(Structured(sent), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Assert.Empty(host.Failed);
        await WaitUntil(() => server.Events.Count == 3, "three export requests at the server");
        foreach (var (key, expected) in new[] { ("logs", sent[0]), ("metrics", sent[1]), ("trace", sent[2]) })
        {
            var received = server.Events.Single(e => !e.Data[key].IsNull).Data;
            Assert.True(expected.Equals(received), $"{key} differs:\nsent     {expected}\nreceived {received}");
        }
        Assert.All(server.Events, e => Assert.Equal(protocol, e.Meta["otel_server"]["protocol"].AsString()));
        // Equality takes 12 and 12.0 as equal; OTLP keeps integer and float points apart, and so do the events.
        var metrics = Items(server.Events.Single(e => !e.Data["metrics"].IsNull).Data, "metrics", "scope_metrics", "metrics").ToList();
        Assert.Equal(ValueKind.I64, metrics[0]["data"]["gauge"]["data_points"][0]["value"].Kind);
        Assert.Equal(ValueKind.F64, metrics[1]["data"]["sum"]["data_points"][0]["value"].Kind);
        Assert.Equal(ValueKind.Bytes, Items(server.Events.Single(e => !e.Data["logs"].IsNull).Data, "logs", "scope_logs", "logs").First()["attributes"]["bytes"].Kind);
    }

    [Fact]
    public async Task The_events_of_one_batch_go_out_as_one_request_per_signal()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        await using var client = new OtelClientFactory().Create(Context(new TestHost(), ("url", server.GrpcUrl.ToString())));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));

        var reply = await client.Sink!.OnBatchAsync(Structured(Logs(), Logs(), Logs()), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        await WaitUntil(() => server.Events.Count == 1, "one export request");
        Assert.Equal(3, server.Events[0].Data["logs"].AsArray()!.Count);
    }

    [Fact]
    public async Task Tremor_events_with_the_older_instrumentation_library_names_are_sent_too()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        await using var client = new OtelClientFactory().Create(Context(new TestHost(), ("url", server.GrpcUrl.ToString())));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));
        var tremorShape = Record(("trace", List(Record(("instrumentation_library_spans", List(Record(
            ("instrumentation_library", Record(("name", "lib"), ("version", "0.1"))),
            ("spans", List(Record(("name", "legacy"), ("trace_id", TraceId), ("span_id", SpanId)))))))))));

        var reply = await client.Sink!.OnBatchAsync(Structured(tremorShape), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        var data = await server.WaitForAsync("trace", _ => true, "the span");
        var scope = data["trace"][0]["scope_spans"][0];
        Assert.Equal("lib", scope["scope"]["name"].AsString());
        Assert.Equal("legacy", scope["spans"][0]["name"].AsString());
    }
}
