using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel.Tests;

/// <summary>
/// otel_server receiving from a client nobody here wrote: the OpenTelemetry .NET SDK's OTLP exporter, over gRPC and
/// over HTTP/protobuf. Each test names its own instrumentation, so the SDK's process-wide listeners never mix them up.
/// </summary>
public sealed class OtelSdkTests
{
    private static int _instance;

    private static string Unique(string what) => $"tremor.test.{what}.{Environment.ProcessId}.{Interlocked.Increment(ref _instance)}";

    private static void Configure(OtlpExporterOptions options, ServerRunner server, OtlpExportProtocol protocol, string signalPath)
    {
        options.Protocol = protocol;
        // In code the HTTP endpoint is the signal's full URL; gRPC takes the base.
        options.Endpoint = protocol == OtlpExportProtocol.Grpc ? server.GrpcUrl : new Uri(server.HttpUrl, signalPath);
        options.TimeoutMilliseconds = 20_000;
    }

    private static string Wire(OtlpExportProtocol protocol) => protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf";

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task Spans_exported_by_the_OpenTelemetry_SDK_arrive_as_one_trace_event_with_ids_kind_attributes_and_events(OtlpExportProtocol protocol)
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        var sourceName = Unique("spans");
        using var source = new ActivitySource(sourceName, "1.2.3");
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("checkout-service"))
            .AddSource(sourceName)
            .AddOtlpExporter(o => Configure(o, server, protocol, "v1/traces"))
            .Build();

        string traceId, spanId;
        using (var activity = source.StartActivity("GET /cart", ActivityKind.Server)!)
        {
            activity.SetTag("http.route", "/cart");
            activity.SetTag("http.status_code", 200);
            activity.AddEvent(new ActivityEvent("paid"));
            activity.SetStatus(ActivityStatusCode.Error, "card declined");
            traceId = activity.TraceId.ToHexString();
            spanId = activity.SpanId.ToHexString();
        }
        // True only when the export succeeded: the server answered OK once the event was acked.
        Assert.True(tracing.ForceFlush(20_000), "the SDK's export did not succeed");

        var data = await server.WaitForAsync("trace", d => Fixtures.Items(d, "trace", "scope_spans", "spans").Any(), "the exported span");
        var resource = data["trace"][0];
        Assert.Equal("checkout-service", resource["resource"]["attributes"]["service.name"].AsString());
        var scope = resource["scope_spans"][0];
        Assert.Equal(sourceName, scope["scope"]["name"].AsString());
        Assert.Equal("1.2.3", scope["scope"]["version"].AsString());
        var span = scope["spans"][0];
        Assert.Equal("GET /cart", span["name"].AsString());
        Assert.Equal(traceId, span["trace_id"].AsString());
        Assert.Equal(spanId, span["span_id"].AsString());
        Assert.Equal(2L, span["kind"].RawI64);
        Assert.Equal("/cart", span["attributes"]["http.route"].AsString());
        Assert.Equal(200L, span["attributes"]["http.status_code"].RawI64);
        Assert.Equal("paid", span["events"][0]["name"].AsString());
        Assert.Equal(2L, span["status"]["code"].RawI64);
        Assert.Equal("card declined", span["status"]["message"].AsString());
        Assert.True(span["end_time_unix_nano"].RawI64 >= span["start_time_unix_nano"].RawI64);
        var meta = server.Events.Single(e => !e.Data["trace"].IsNull).Meta["otel_server"];
        Assert.Equal(Wire(protocol), meta["protocol"].AsString());
        Assert.Equal("127.0.0.1", meta["peer"]["host"].AsString());
    }

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task Log_records_exported_by_the_OpenTelemetry_SDK_arrive_with_severity_body_and_attributes(OtlpExportProtocol protocol)
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        var category = Unique("logs");
        using (var factory = LoggerFactory.Create(builder => builder.AddOpenTelemetry(o =>
               {
                   o.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("billing"));
                   o.AddOtlpExporter(e => Configure(e, server, protocol, "v1/logs"));
               })))
        {
            var logger = factory.CreateLogger(category);
#pragma warning disable CA1848, CA2254 // the plain extension is what an application writes
            logger.LogWarning("order {OrderId} failed after {Attempts} attempts", 42, 3);
#pragma warning restore CA1848, CA2254
        }
        // Disposing the factory shut the SDK's logger provider down, which exported what it held.

        var data = await server.WaitForAsync("logs", d => Fixtures.Items(d, "logs", "scope_logs", "logs").Any(), "the exported log record");
        Assert.Equal("billing", data["logs"][0]["resource"]["attributes"]["service.name"].AsString());
        var scope = data["logs"][0]["scope_logs"][0];
        Assert.Equal(category, scope["scope"]["name"].AsString());
        var record = scope["logs"][0];
        Assert.Equal(13L, record["severity_number"].RawI64); // WARN
        Assert.Equal(42L, record["attributes"]["OrderId"].RawI64);
        Assert.Equal(3L, record["attributes"]["Attempts"].RawI64);
        Assert.Contains("order", record["body"].AsString());
        Assert.True(record["time_unix_nano"].RawI64 > 0);
    }

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task Metrics_exported_by_the_OpenTelemetry_SDK_arrive_as_a_sum_and_a_histogram_with_their_points(OtlpExportProtocol protocol)
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        var meterName = Unique("metrics");
        using var meter = new Meter(meterName, "2.0");
        using var metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("shop"))
            .AddMeter(meterName)
            .AddOtlpExporter(o => Configure(o, server, protocol, "v1/metrics"))
            .Build();
        var orders = meter.CreateCounter<long>("orders");
        var latency = meter.CreateHistogram<double>("latency", unit: "ms");
        orders.Add(5, new KeyValuePair<string, object?>("region", "eu"));
        latency.Record(12.5);
        Assert.True(metrics.ForceFlush(20_000), "the SDK's export did not succeed");

        var data = await server.WaitForAsync("metrics", d => Fixtures.Items(d, "metrics", "scope_metrics", "metrics").Count() >= 2, "the exported metrics");
        Assert.Equal("shop", data["metrics"][0]["resource"]["attributes"]["service.name"].AsString());
        var all = Fixtures.Items(data, "metrics", "scope_metrics", "metrics").ToList();
        var sum = all.Single(m => m["name"].AsString() == "orders")["data"]["sum"];
        Assert.True(sum["is_monotonic"].AsBool());
        Assert.Equal(2L, sum["aggregation_temporality"].RawI64); // cumulative, the SDK's default
        var point = sum["data_points"][0];
        Assert.Equal(5L, point["value"].RawI64);
        Assert.Equal("eu", point["attributes"]["region"].AsString());
        var histogram = all.Single(m => m["name"].AsString() == "latency");
        Assert.Equal("ms", histogram["unit"].AsString());
        var h = histogram["data"]["histogram"]["data_points"][0];
        Assert.Equal(1L, h["count"].RawI64);
        Assert.Equal(12.5, h["sum"].RawF64);
        Assert.Equal(h["explicit_bounds"].AsArray()!.Count + 1, h["bucket_counts"].AsArray()!.Count);
    }
}
