using System.Net;
using Tremor.Connectors.Otel.Proto.Prometheus;
using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Otel.Tests;

/// <summary>prometheus_remote_write against a real Prometheus.</summary>
public sealed class PrometheusRemoteWriteTests(PrometheusServer prometheus) : IClassFixture<PrometheusServer>
{
    private static long NowNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    private IConnector Sink(TestHost host, params (string Key, Value Value)[] config) =>
        new PrometheusRemoteWriteFactory().Create(Context(host, [("url", prometheus.WriteUrl.ToString()), .. config]));

    [Fact]
    public async Task Influx_shaped_and_single_sample_events_are_found_by_a_query_to_prometheus()
    {
        var host = new TestHost();
        await using var sink = Sink(host, ("labels", Record(("job", "tremor"))));
        Assert.True(await sink.ConnectAsync(1, CancellationToken.None));
        var now = NowNs();

        var reply = await sink.Sink!.OnBatchAsync(Structured(
            Record(("measurement", "rw_cpu"), ("tags", Record(("host", "web-1"), ("core", 0))), ("fields", Record(("value", 0.75), ("steal", 2))), ("timestamp", now)),
            Record(("measurement", "rw_cpu"), ("tags", Record(("host", "web-2"), ("core", 0))), ("fields", Record(("value", 0.25))), ("timestamp", now)),
            Record(("name", "rw.requests total"), ("labels", Record(("status", "200"))), ("value", 42), ("timestamp", now))), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Dictionary<string, double> cpu = [];
        await WaitUntil(async () => (cpu = await prometheus.QueryAsync("rw_cpu")).Count == 2, "both rw_cpu series in prometheus");
        Assert.Equal(0.75, cpu["__name__=rw_cpu,core=0,host=web-1,job=tremor"]);
        Assert.Equal(0.25, cpu["__name__=rw_cpu,core=0,host=web-2,job=tremor"]);
        Assert.Equal(2, (await prometheus.QueryAsync("rw_cpu_steal")).Single().Value);
        // A name Prometheus does not allow is made one it does: "." and " " become "_".
        Assert.Equal(42, (await prometheus.QueryAsync("rw_requests_total{status=\"200\"}")).Single().Value);
    }

    /// <summary>An OTLP metrics event as otel_server emits it: a sum and a histogram of service "shop".</summary>
    internal static Value OtlpMetrics(long timeNs)
    {
        var sumPoint = Record(("attributes", Record(("region", "eu"))), ("time_unix_nano", timeNs), ("value", 5));
        var sum = Record(("name", "rw_otel_orders"), ("data", Record(("sum", Record(("is_monotonic", true), ("aggregation_temporality", 2), ("data_points", List(sumPoint)))))));
        var histogramPoint = Record(("time_unix_nano", timeNs), ("count", 3), ("sum", 30.5), ("explicit_bounds", List(10.0, 20.0)), ("bucket_counts", List(1, 2, 0)));
        var histogram = Record(("name", "rw_otel_latency"), ("data", Record(("histogram", Record(("aggregation_temporality", 2), ("data_points", List(histogramPoint)))))));
        var resource = Record(("attributes", Record(("service.name", "shop"), ("service.instance.id", "shop-1"))));
        return Record(("metrics", List(Record(("resource", resource), ("scope_metrics", List(Record(("metrics", List(sum, histogram)))))))));
    }

    [Fact]
    public async Task OTLP_metrics_from_otel_server_are_written_as_prometheus_names_them()
    {
        var host = new TestHost();
        await using var sink = Sink(host);

        var reply = await sink.Sink!.OnBatchAsync(Structured(OtlpMetrics(NowNs())), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Dictionary<string, double> buckets = [];
        await WaitUntil(async () => (buckets = await prometheus.QueryAsync("rw_otel_latency_bucket")).Count == 3, "the histogram's buckets in prometheus");
        Assert.Equal(1, buckets["__name__=rw_otel_latency_bucket,instance=shop-1,job=shop,le=10"]);
        Assert.Equal(3, buckets["__name__=rw_otel_latency_bucket,instance=shop-1,job=shop,le=20"]);
        Assert.Equal(3, buckets["__name__=rw_otel_latency_bucket,instance=shop-1,job=shop,le=+Inf"]);
        Assert.Equal(30.5, (await prometheus.QueryAsync("rw_otel_latency_sum")).Single().Value);
        Assert.Equal(3, (await prometheus.QueryAsync("rw_otel_latency_count")).Single().Value);
        Assert.Equal(5, (await prometheus.QueryAsync("rw_otel_orders{region=\"eu\",job=\"shop\"}")).Single().Value);
    }

    [Fact]
    public async Task A_sample_prometheus_refuses_fails_its_events_with_prometheus_reason_and_keeps_the_connection()
    {
        var host = new TestHost();
        await using var sink = Sink(host);
        var now = NowNs();
        var sample = (long at) => Record(("name", "rw_out_of_order"), ("value", 1), ("timestamp", at));
        Assert.Equal(SinkStatus.Ack, (await sink.Sink!.OnBatchAsync(Structured(sample(now)), CancellationToken.None)).Status);

        // Ten minutes before a sample the series already has: out of order, which Prometheus answers with a 400.
        var reply = await sink.Sink.OnBatchAsync(Structured(sample(now - 600_000_000_000L)), CancellationToken.None);

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("400", reply.Error);
        Assert.Contains("out of order", reply.Error);
        Assert.Empty(host.ConnectionsLost);
    }

    [Fact]
    public async Task An_event_that_is_not_a_sample_fails_naming_the_field_and_the_rest_is_written()
    {
        var host = new TestHost();
        await using var sink = Sink(host);

        // Neither event has a timestamp: the sample is taken at the event's ingest time.
        var reply = await sink.Sink!.OnBatchAsync(StructuredAt((ulong)NowNs(),
            Record(("measurement", "rw_mixed"), ("fields", Record(("value", 1)))),
            Record(("measurement", "rw_mixed"), ("fields", Record(("text", "not a number"))))), CancellationToken.None);

        Assert.Equal(SinkStatus.Pending, reply.Status);
        Assert.Single(host.Acked);
        var failure = Assert.Single(host.Failed);
        Assert.Contains("event.fields.text: a Prometheus sample is a number, found a string ('not a number')", failure.Reason);
        await WaitUntil(async () => (await prometheus.QueryAsync("rw_mixed")).Count == 1, "the good sample in prometheus");
    }
}

/// <summary>prometheus_remote_write when nobody answers, and the mapping of events to series.</summary>
public sealed class PrometheusRemoteWriteOfflineTests
{
    [Fact]
    public async Task A_server_that_is_down_fails_the_batch_and_opens_the_circuit_breaker()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var host = new TestHost();
        await using var sink = new PrometheusRemoteWriteFactory().Create(Context(host, ("url", $"http://127.0.0.1:{port}/api/v1/write")));

        Assert.False(await sink.ConnectAsync(1, CancellationToken.None));
        var reply = await sink.Sink!.OnBatchAsync(Structured(Record(("name", "x"), ("value", 1))), CancellationToken.None);

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains($"127.0.0.1:{port}", reply.Error);
        Assert.Single(host.ConnectionsLost);
    }

    [Fact]
    public void Labels_are_sorted_sanitized_and_samples_of_a_series_in_time_order()
    {
        var series = new Dictionary<string, TimeSeries>();
        RemoteWriteSamples.Add(Record(("name", "9lives.total"), ("labels", Record(("zone", "b"), ("app-name", "x"), ("empty", ""))), ("value", true), ("timestamp", 2_000_000_000L)), 0, [], series);
        RemoteWriteSamples.Add(Record(("name", "9lives.total"), ("labels", Record(("zone", "b"), ("app-name", "x"))), ("value", 3), ("timestamp", 1_000_000_000L)), 0, [], series);

        var request = RemoteWriteSamples.Request(series);

        var ts = Assert.Single(request.Timeseries);
        Assert.Equal(["__name__=_9lives_total", "app_name=x", "zone=b"], ts.Labels.Select(l => $"{l.Name}={l.Value}"));
        Assert.Equal([(1000L, 3.0), (2000L, 1.0)], ts.Samples.Select(s => (s.Timestamp, s.Value)));
    }

    [Fact]
    public void An_exponential_histogram_fails_its_event_naming_the_metric()
    {
        var point = Record(("count", 1));
        var metric = Record(("name", "sizes"), ("data", Record(("exponential_histogram", Record(("data_points", List(point)))))));
        var exponential = Record(("metrics", List(Record(("scope_metrics", List(Record(("metrics", List(metric)))))))));

        var error = Assert.Throws<OtlpShapeException>(() => RemoteWriteSamples.Add(exponential, 1, [], []));

        Assert.Contains("metric 'sizes' is an exponential histogram", error.Message);
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        AssertRefusedNaming(new PrometheusRemoteWriteFactory(), [], "url");
        AssertRefusedNaming(new PrometheusRemoteWriteFactory(), [("url", "http://127.0.0.1:9090/api/v1/write"), ("labels", Record(("bad-name", "x")))], "labels.bad-name");
        AssertRefusedNaming(new PrometheusRemoteWriteFactory(), [("url", "ftp://x")], "url");
        AssertRefusedNaming(new OtelServerFactory(), [("url", "http://example.com:4317")], "url");
        AssertRefusedNaming(new OtelServerFactory(), [("url", "off"), ("http-url", "off")], "url");
        AssertRefusedNaming(new OtelServerFactory(), [("max-body-size", 0)], "max-body-size");
        AssertRefusedNaming(new OtelServerFactory(), [("listen", "x")], "listen");
        AssertRefusedNaming(new OtelServerFactory(), [("reply", "never")], "reply");
        AssertRefusedNaming(new OtelClientFactory(), [("protocol", "thrift")], "protocol");
        AssertRefusedNaming(new OtelClientFactory(), [("compression", "zstd")], "compression");
    }
}
