using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Tremor.Actors.Metrics;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// What counting costs the data path per batch, with the OpenTelemetry SDK listening as it does behind
/// <c>/metrics</c>: the runtime's way (<see cref="FieldPerBatch"/>: a plain field the actor adds to, read by an
/// observable counter only when a scrape collects) against a <see cref="Counter{T}"/> the actor would add to with
/// its tags once per batch (<see cref="CounterAddPerBatch"/>), and the one histogram recorded per batch
/// (<see cref="HistogramRecordPerBatch"/>). One operation = one batch; a batch is 128 events by default.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private const int BatchSize = 128;
    private static readonly KeyValuePair<string, object?> ConnectorTag = new("connector", "bench::snk");
    private static readonly KeyValuePair<string, object?> TypeTag = new("type", "blackhole");
    private static readonly KeyValuePair<string, object?> PortTag = new("port", "in");

    private RuntimeMetrics _registry = null!;
    private ConnectorMetrics _metrics = null!;
    private Meter _meter = null!;
    private Counter<long> _counter = null!;
    private MeterProvider _provider = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = new RuntimeMetrics(enabled: true);
        _metrics = _registry.RegisterConnector("bench::snk", "blackhole", ConnectorKinds.Sink, "bench");
        _meter = new Meter("Tremor.Benchmarks.Metrics");
        _counter = _meter.CreateCounter<long>("tremor.connector.events.added", "{event}");
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(RuntimeMetrics.MeterName, _meter.Name).Build();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _meter.Dispose();
        _registry.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long FieldPerBatch() => _metrics.EventsIn += BatchSize;

    [Benchmark]
    public void CounterAddPerBatch() => _counter.Add(BatchSize, ConnectorTag, TypeTag, PortTag);

    [Benchmark]
    public void HistogramRecordPerBatch() => _metrics.RecordBatch(Stopwatch.GetTimestamp());
}
