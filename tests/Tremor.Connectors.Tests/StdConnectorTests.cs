using System.Diagnostics;
using System.Text;
using Tremor.Connectors.Std;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

public sealed class StdConnectorTests
{
    [Fact]
    public async Task Metronome_ticks_the_configured_iterations_then_finishes()
    {
        var host = new TestHost();
        await using var connector = new MetronomeFactory().Create(Fixtures.Context(host, ("interval", "20ms"), ("iterations", 3)));
        Assert.Null(connector.Sink);
        var source = connector.Source!;
        Assert.False(source.IsTransactional);
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));

        var clock = Stopwatch.StartNew();
        var pulls = await Fixtures.PullUntilFinishedAsync(source);
        clock.Stop();

        var ticks = pulls.SelectMany(p => p.Chunks).ToList();
        Assert.Equal(3, ticks.Count);
        for (var i = 0; i < ticks.Count; i++)
        {
            var tick = ticks[i];
            Assert.True(tick.IsStructured);
            Assert.Equal(0UL, tick.StreamId);
            Assert.Equal("metronome", tick.Structured["onramp"].AsString());
            Assert.True(tick.Structured["ingest_ns"].TryGetU64(out var ingest));
            Assert.Equal(tick.IngestNs, ingest);
            Assert.True(ingest > 0);
            Assert.True(tick.Structured["id"].TryGetI64(out var id));
            Assert.Equal(i, id);
        }
        Assert.Equal(PullStatus.Finished, pulls[^1].Status);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(60), $"three 20ms ticks took only {clock.Elapsed}");

        var after = new SourceBatch(4);
        Assert.Equal(PullStatus.Finished, await source.PullAsync(after, CancellationToken.None));
        Assert.Equal(0, after.Count);
    }

    [Fact]
    public async Task Metrics_emits_each_series_of_the_runtime_meter_in_tremors_shape_every_interval()
    {
        // The runtime publishes its metrics under this meter name; here the test publishes them, as the runtime does.
        using var meter = new System.Diagnostics.Metrics.Meter("Tremor.Runtime");
        long emitted = 5;
        meter.CreateObservableCounter("tremor.connector.events", () => new System.Diagnostics.Metrics.Measurement<long>(emitted, new("connector", "f::in"), new("port", "out")));
        meter.CreateObservableGauge("tremor.connector.up", () => new System.Diagnostics.Metrics.Measurement<long>(1, new KeyValuePair<string, object?>("connector", "f::in")));
        var duration = meter.CreateHistogram<double>("tremor.pipeline.batch.duration", "s");
        var host = new TestHost();
        await using var connector = new MetricsFactory().Create(Fixtures.Context(host, ("interval", "20ms")));
        Assert.Null(connector.Sink);
        duration.Record(0.5, new KeyValuePair<string, object?>("pipeline", "f::main"));
        duration.Record(1.5, new KeyValuePair<string, object?>("pipeline", "f::main"));

        var first = new SourceBatch(16);
        Assert.Equal(PullStatus.Data, await connector.Source!.PullAsync(first, CancellationToken.None));
        emitted = 9;
        var second = new SourceBatch(16);
        Assert.Equal(PullStatus.Data, await connector.Source.PullAsync(second, CancellationToken.None));

        static double Number(Value v) => v.TryGetF64(out var d) ? d : throw new InvalidOperationException($"not a number: {v}");
        Value Series(SourceBatch batch, string measurement) => Assert.Single(Enumerable.Range(0, batch.Count).Select(i => batch[i].Structured), e => e["measurement"].AsString() == measurement);
        var events = Series(first, "connector_events");
        Assert.Equal("f::in", events["tags"]["connector"].AsString());
        Assert.Equal("out", events["tags"]["port"].AsString());
        Assert.True(events["fields"]["count"].TryGetI64(out var count));
        Assert.Equal(5, count);
        Assert.True(events["timestamp"].TryGetU64(out var timestamp) && timestamp > 0);
        Assert.True(Series(second, "connector_events")["fields"]["count"].TryGetI64(out var later));
        Assert.Equal(9, later);
        Assert.True(Series(first, "connector_up")["fields"]["value"].TryGetI64(out var up));
        Assert.Equal(1, up);
        var batchDuration = Series(first, "pipeline_batch_duration");
        Assert.Equal("f::main", batchDuration["tags"]["pipeline"].AsString());
        Assert.True(batchDuration["fields"]["count"].TryGetI64(out var recorded));
        Assert.Equal(2, recorded);
        Assert.Equal(2.0, Number(batchDuration["fields"]["sum"]));
        Assert.Equal(0.5, Number(batchDuration["fields"]["min"]));
        Assert.Equal(1.5, Number(batchDuration["fields"]["max"]));
    }

    [Fact]
    public async Task Metronome_returns_promptly_when_the_pull_is_cancelled()
    {
        var host = new TestHost();
        await using var connector = new MetronomeFactory().Create(Fixtures.Context(host, ("interval", "1h")));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var batch = new SourceBatch(4);

        var status = await connector.Source!.PullAsync(batch, cancel.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(PullStatus.Empty, status);
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public async Task Exit_requests_shutdown_with_the_events_exit_code_once()
    {
        var host = new TestHost();
        await using var connector = new ExitFactory().Create(Fixtures.Context(host, ("code", 9)));
        Assert.Null(connector.Source);
        var sink = connector.Sink!;
        var exit = Value.NewRecord();
        exit.AsRecord()!.Set("exit", 3);

        var reply = await sink.OnBatchAsync(Fixtures.SinkBatch(("{\"exit\":3}", 1UL, exit)), CancellationToken.None);
        await sink.OnBatchAsync(Fixtures.SinkBatch(("{\"exit\":4}", 1UL, exit)), CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        var request = Assert.Single(host.Shutdowns);
        Assert.Equal(3, request.Code);
    }

    [Fact]
    public async Task Exit_uses_the_configured_code_when_the_event_has_no_integer_exit_field()
    {
        var host = new TestHost();
        await using var connector = new ExitFactory().Create(Fixtures.Context(host, ("code", 7), ("delay", "10ms")));
        var data = Value.NewRecord();
        data.AsRecord()!.Set("exit", "not a number");

        await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch(("x", 1UL, data)), CancellationToken.None);

        Assert.Equal(7, Assert.Single(host.Shutdowns).Code);
    }

    [Fact]
    public async Task Null_acks_and_drops_everything_and_produces_nothing()
    {
        var host = new TestHost();
        await using var connector = new NullFactory().Create(Fixtures.Context(host));

        var reply = await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch("a", "b"), CancellationToken.None);
        var batch = new SourceBatch(4);
        var status = await connector.Source!.PullAsync(batch, CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Assert.Equal(PullStatus.Empty, status);
        Assert.Equal(0, batch.Count);
        Assert.Empty(host.OutText.ToString());
    }

    [Fact]
    public async Task Stdio_source_emits_the_input_bytes_then_ends_its_stream_and_finishes()
    {
        var host = new TestHost();
        var input = Encoding.UTF8.GetBytes("one\ntwo\nthree\n");
        await using var connector = new StdioConnector(host, toStderr: false, () => new MemoryStream(input));

        var pulls = await Fixtures.PullUntilFinishedAsync(connector);

        var data = pulls.SelectMany(p => p.Chunks.Zip(p.Data)).Where(c => !c.First.IsStreamEnd).Select(c => c.Second);
        Assert.Equal(input, Fixtures.Concat(data));
        var last = pulls[^1];
        Assert.Equal(PullStatus.Finished, last.Status);
        Assert.True(last.Chunks[^1].IsStreamEnd);
        Assert.Equal(0UL, last.Chunks[^1].StreamId);
    }

    [Fact]
    public async Task Stdio_sink_writes_utf8_split_across_batches_to_the_chosen_output()
    {
        var host = new TestHost();
        await using var toOut = new StdioFactory().Create(Fixtures.Context(host));
        await using var toErr = new StdioFactory().Create(Fixtures.Context(host, ("output", "stderr")));
        var euro = Encoding.UTF8.GetBytes("€\n");

        await toOut.Sink!.OnBatchAsync(new SinkBatch([], euro.AsMemory(0, 1)), CancellationToken.None);
        await toOut.Sink!.OnBatchAsync(new SinkBatch([], euro.AsMemory(1)), CancellationToken.None);
        await toErr.Sink!.OnBatchAsync(Fixtures.SinkBatch("oops\n"), CancellationToken.None);

        Assert.Equal("€\n", host.OutText.ToString());
        Assert.Equal("oops\n", host.ErrorText.ToString());
    }
}
