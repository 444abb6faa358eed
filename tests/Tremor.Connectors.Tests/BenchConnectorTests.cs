using System.Text;
using System.Text.Json;
using Tremor.Connectors.Bench;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

public sealed class BenchConnectorTests : IDisposable
{
    private const ulong Second = 1_000_000_000;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<string> WriteAsync(string name, string content)
    {
        var path = _dir.File(name);
        await System.IO.File.WriteAllTextAsync(path, content);
        return path;
    }

    private static List<(SourceChunk Chunk, string Text)> DataChunks(List<Fixtures.Pull> pulls) =>
        pulls.SelectMany(p => p.Chunks.Zip(p.Data))
            .Where(c => !c.First.IsStreamEnd)
            .Select(c => (c.First, Encoding.UTF8.GetString(c.Second)))
            .ToList();

    [Fact]
    public async Task Bench_replays_each_line_as_its_own_chunk_with_its_own_ingest_time()
    {
        var path = await WriteAsync("data.json", "{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}");
        var host = new TestHost { ManualClock = true, ClockNs = 42 * Second, TickNs = 1000 };
        await using var connector = new BenchFactory().Create(Fixtures.Context(host, ("path", path), ("iterations", 3)));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));

        var pulls = await Fixtures.PullUntilFinishedAsync(connector.Source!, capacity: 4);

        var chunks = DataChunks(pulls);
        string[] lines = ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"];
        Assert.Equal(lines.Concat(lines).Concat(lines), chunks.Select(c => c.Text));
        Assert.All(chunks, c => Assert.False(c.Chunk.IsStructured));
        var ingest = chunks.Select(c => c.Chunk.IngestNs).ToList();
        Assert.All(ingest, t => Assert.True(t >= 42 * Second));
        Assert.Equal(ingest.Count, ingest.Distinct().Count());
        Assert.Equal(ingest.Order(), ingest);
        // Full batches until the last pull, which ends the stream and finishes.
        Assert.All(pulls[..^1], p => Assert.Equal(4, p.Chunks.Count));
        Assert.Equal(PullStatus.Finished, pulls[^1].Status);
        Assert.True(pulls[^1].Chunks[^1].IsStreamEnd);
    }

    [Fact]
    public async Task Bench_with_an_interval_emits_only_the_events_that_are_due()
    {
        var path = await WriteAsync("data.json", "{\"a\":1}\n");
        var host = new TestHost { ManualClock = true, ClockNs = 42 * Second };
        await using var connector = new BenchFactory().Create(Fixtures.Context(host, ("path", path), ("interval", "1ms")));
        await connector.ConnectAsync(1, CancellationToken.None);
        var batch = new SourceBatch(100);

        // The first event is due at once; the clock standing still, nothing more is due.
        Assert.Equal(PullStatus.Data, await connector.Source!.PullAsync(batch, CancellationToken.None));
        Assert.Equal(1, batch.Count);
        batch.Clear();
        Assert.Equal(PullStatus.Empty, await connector.Source.PullAsync(batch, CancellationToken.None));
        Assert.Equal(0, batch.Count);

        // 10 ms later ten events are due (one per millisecond), not a batch-full.
        host.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(PullStatus.Data, await connector.Source.PullAsync(batch, CancellationToken.None));
        Assert.Equal(10, batch.Count);
        batch.Clear();
        Assert.Equal(PullStatus.Empty, await connector.Source.PullAsync(batch, CancellationToken.None));
    }

    [Fact]
    public void Bench_throttle_releases_what_is_due_at_once_and_waits_a_pace_when_nothing_is()
    {
        // 10 µs per event, a 100 µs pace.
        var throttle = new BenchThrottle(intervalNs: 10_000, paceNs: 100_000);
        const ulong start = 42 * Second;

        Assert.Equal(0UL, throttle.WaitNs(start, room: 128));
        Assert.Equal(1, throttle.Due(start, room: 128));
        throttle.Taken(1);
        // Nothing due: wait until a pace's worth (ten events) is, not for the next event alone.
        Assert.Equal(100_000UL, throttle.WaitNs(start, room: 128));
        Assert.Equal(30_000UL, throttle.WaitNs(start, room: 3));
        // Something due: no wait, however little.
        Assert.Equal(0UL, throttle.WaitNs(start + 25_000, room: 128));
        Assert.Equal(2, throttle.Due(start + 25_000, room: 128));
        throttle.Taken(2);
        Assert.Equal(0, throttle.Due(start + 25_000, room: 128));
    }

    [Fact]
    public void Bench_throttle_behind_by_more_than_a_pull_catches_up_one_pull_and_skips_the_rest()
    {
        var throttle = new BenchThrottle(intervalNs: 10_000, paceNs: 100_000);
        const ulong start = 42 * Second;
        Assert.Equal(1, throttle.Due(start, room: 128));
        throttle.Taken(1);

        // A 10 ms stall: a thousand events are due, one pull's worth leaves; the rest of the backlog is skipped.
        Assert.Equal(128, throttle.Due(start + 10_000_000, room: 128));
        throttle.Taken(128);
        Assert.Equal(0, throttle.Due(start + 10_000_000, room: 128));
        Assert.Equal(10_000UL, throttle.WaitNs(start + 10_000_000, room: 1));
        Assert.Equal(1, throttle.Due(start + 10_010_000, room: 128));
    }

    [Fact]
    public void Bench_throttle_with_an_interval_longer_than_the_pace_releases_one_event_per_interval()
    {
        var throttle = new BenchThrottle(intervalNs: 1_000_000, paceNs: 100_000);

        Assert.Equal(0UL, throttle.WaitNs(Second, room: 128));
        Assert.Equal(1, throttle.Due(Second, room: 128));
        throttle.Taken(1);
        Assert.Equal(1_000_000UL, throttle.WaitNs(Second, room: 128));
        Assert.Equal(400_000UL, throttle.WaitNs(Second + 600_000, room: 128));
    }

    [Fact]
    public async Task Bench_pacer_wakes_a_wait_at_its_time_ends_a_cancelled_one_and_stops_its_thread()
    {
        using var pacer = new BenchPacer("bench-pacer test");
        Assert.True(pacer.IsRunning);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await pacer.WaitAsync(300_000, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed >= TimeSpan.FromMicroseconds(300), $"woke after {clock.Elapsed.TotalMicroseconds} µs, before its time");

        using var cancel = new CancellationTokenSource();
        var hour = pacer.WaitAsync(3_600 * Second, cancel.Token);
        Assert.False(hour.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hour.WaitAsync(TimeSpan.FromSeconds(30)));

        var pending = pacer.WaitAsync(3_600 * Second, CancellationToken.None);
        pacer.Dispose();
        Assert.False(pacer.IsRunning);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Throws<ObjectDisposedException>(() => pacer.WaitAsync(1, CancellationToken.None).GetAwaiter().GetResult());
    }

    [Theory]
    [InlineData("bench", "interval")]
    [InlineData("bench", "pace")]
    [InlineData("blackhole", "delay")]
    public void A_bad_throttle_names_the_key(string type, string key)
    {
        var e = Assert.Throws<ConfigException>(() => type == "bench"
            ? new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", "x.json"), (key, "soon")))
            : new BlackholeFactory().Create(Fixtures.Context(new TestHost(), (key, "soon"))));
        Assert.EndsWith("." + key, e.Path);
        Assert.Contains("duration", e.Message);
    }

    [Fact]
    public void A_pace_below_a_microsecond_names_the_key_and_the_bound()
    {
        var e = Assert.Throws<ConfigException>(() =>
            new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", "x.json"), ("interval", "2us"), ("pace", "100ns"))));

        Assert.EndsWith(".pace", e.Path);
        Assert.Contains("at least 1us", e.Message);
    }

    [Fact]
    public async Task Bench_replays_an_xz_file()
    {
        var plain = await WriteAsync("data.json", "x\ny\n");
        var xz = Fixtures.Xz(plain);
        var host = new TestHost();
        await using var connector = new BenchFactory().Create(Fixtures.Context(host, ("path", xz), ("iterations", 2)));
        await connector.ConnectAsync(1, CancellationToken.None);

        var chunks = DataChunks(await Fixtures.PullUntilFinishedAsync(connector.Source!, capacity: 3));

        Assert.Equal(["x", "y", "x", "y"], chunks.Select(c => c.Text));
    }

    [Fact]
    public async Task Bench_stops_after_the_configured_seconds()
    {
        var path = await WriteAsync("data.json", "x\n");
        var host = new TestHost { ManualClock = true, ClockNs = Second };
        await using var connector = new BenchFactory().Create(Fixtures.Context(host, ("path", path), ("stop-after-secs", 1.5)));
        await connector.ConnectAsync(1, CancellationToken.None);
        var source = connector.Source!;
        var batch = new SourceBatch(8);

        Assert.Equal(PullStatus.Data, await source.PullAsync(batch, CancellationToken.None));
        Assert.Equal(8, batch.Count);
        host.Advance(TimeSpan.FromSeconds(1));
        batch.Clear();
        Assert.Equal(PullStatus.Data, await source.PullAsync(batch, CancellationToken.None));
        host.Advance(TimeSpan.FromSeconds(1));
        batch.Clear();
        Assert.Equal(PullStatus.Finished, await source.PullAsync(batch, CancellationToken.None));
        Assert.True(batch[batch.Count - 1].IsStreamEnd);
    }

    [Fact]
    public async Task Bench_with_base64_replays_each_line_decoded_as_tremor_does()
    {
        var path = await WriteAsync("good.b64", "aGVsbG8=\r\n\nd29ybGQ=\n");
        await using var connector = new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", path), ("base64", true), ("iterations", 2)));
        await connector.ConnectAsync(1, CancellationToken.None);

        var chunks = DataChunks(await Fixtures.PullUntilFinishedAsync(connector.Source!));

        Assert.Equal(["hello", "world", "hello", "world"], chunks.Select(c => c.Text));
    }

    [Theory]
    [InlineData("aGVsbG8=\nd29y!GQ=\n", "line 2 is not valid base64: '!' (0x21) at byte 4 of the line")]
    [InlineData("aGVsbG8=\naGVsbG8\n", "line 2 is not valid base64: 7 characters is not a multiple of 4")]
    [InlineData("aG=sbG8=\n", "line 1 is not valid base64: misplaced '=' padding at byte 2 of the line")]
    public async Task Bench_with_base64_refuses_a_line_that_is_not_base64_naming_the_line_and_byte(string content, string expected)
    {
        var path = await WriteAsync("bad.b64", content);
        await using var connector = new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", path), ("base64", true), ("iterations", 1)));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => connector.ConnectAsync(1, CancellationToken.None).AsTask());

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Contains("base64 = false", error.Message);
    }

    [Fact]
    public async Task Bench_of_a_missing_file_fails_to_connect_naming_the_path()
    {
        var path = _dir.File("missing.json.xz");
        await using var connector = new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", path)));

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => connector.ConnectAsync(1, CancellationToken.None).AsTask());

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public async Task Bench_sink_reports_when_the_upstream_ends_and_asks_the_runtime_to_stop()
    {
        var path = await WriteAsync("data.json", "x\n");
        var host = new TestHost { ManualClock = true, ClockNs = 100 * Second, Alias = "bench::bench" };
        await using var connector = new BenchFactory().Create(Fixtures.Context(host, ("path", path)));
        var sink = connector.Sink!;

        // Ingested 1ms, 2ms and 3ms before they arrive.
        var now = host.ClockNs;
        var reply = await sink.OnBatchAsync(
            Fixtures.SinkBatch(("aaaa", now - 3_000_000, Value.Null), ("bb", now - 2_000_000, Value.Null), ("c", now - 1_000_000, Value.Null)),
            CancellationToken.None);
        await sink.OnEndAsync(CancellationToken.None);
        await connector.OnStopAsync(CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        var (code, reason) = Assert.Single(host.Shutdowns);
        Assert.Equal(0, code);
        Assert.Equal("bench finished", reason);
        var report = host.OutText.ToString();
        Assert.Single(report.Split('\n'), l => l.StartsWith("BENCH ", StringComparison.Ordinal));
        var json = Bench(report);
        Assert.Equal("bench", json.GetProperty("connector").GetString());
        Assert.Equal(3, json.GetProperty("events").GetInt64());
        Assert.Equal(7, json.GetProperty("bytes").GetInt64());
        Assert.Equal(0.003, json.GetProperty("elapsed_s").GetDouble(), 9);
        Assert.Equal(1000, json.GetProperty("events_per_s").GetDouble(), 6);
        Assert.InRange(json.GetProperty("p50_us").GetDouble(), 1995, 2005);
        Assert.InRange(json.GetProperty("max_us").GetDouble(), 2995, 3005);
        // The process's CPU from the first measured event to the report, and per event: what A/B runs compare.
        var cpu = json.GetProperty("cpu_s").GetDouble();
        Assert.InRange(cpu, 0, 60);
        Assert.Equal(cpu * 1e9 / 3, json.GetProperty("cpu_ns_per_event").GetDouble(), 3);
        Assert.Contains("ns per event", report);
        // The collections, their pauses and the allocations over the same span: counts, never negative.
        foreach (var key in new[] { "gc_gen0", "gc_gen1", "gc_gen2", "gc_pause_ms", "allocated_bytes_per_event" })
        {
            Assert.True(json.GetProperty(key).GetDouble() >= 0, key);
        }
        Assert.Contains("bytes allocated per event", report);
        Assert.Contains("events:     3", report);
        Assert.Contains("bytes:      7", report);
    }

    [Fact]
    public async Task Blackhole_ignores_warmup_stops_after_the_configured_seconds_and_reports_once()
    {
        var host = new TestHost { ManualClock = true, ClockNs = 10 * Second, Alias = "bench::blackhole" };
        await using var connector = new BlackholeFactory().Create(
            Fixtures.Context(host, ("warmup-secs", 1), ("stop-after-secs", 5)));
        Assert.Null(connector.Source);
        var sink = connector.Sink!;
        var start = host.ClockNs;

        // Warmup: ingested within a second of the first event.
        await sink.OnBatchAsync(Fixtures.SinkBatch(("w1", start, Value.Null), ("w2", start + Second / 2, Value.Null)), CancellationToken.None);
        host.Advance(TimeSpan.FromSeconds(2));
        var t = host.ClockNs;
        await sink.OnBatchAsync(Fixtures.SinkBatch(("hello", t - 1_000_000, Value.Null), ("hi", t - 1_000_000, Value.Null)), CancellationToken.None);
        Assert.Empty(host.Shutdowns);
        Assert.Empty(host.OutText.ToString());

        host.Advance(TimeSpan.FromSeconds(4));
        t = host.ClockNs;
        var reply = await sink.OnBatchAsync(Fixtures.SinkBatch(("last", t - 1_000_000, Value.Null)), CancellationToken.None);
        await sink.OnBatchAsync(Fixtures.SinkBatch(("after", t, Value.Null)), CancellationToken.None);
        await sink.OnEndAsync(CancellationToken.None);
        await connector.OnStopAsync(CancellationToken.None);

        Assert.Equal(SinkStatus.Ack, reply.Status);
        Assert.Equal(0, Assert.Single(host.Shutdowns).Code);
        var report = host.OutText.ToString();
        Assert.Single(report.Split('\n'), l => l.StartsWith("BENCH ", StringComparison.Ordinal));
        var json = Bench(report);
        Assert.Equal("blackhole", json.GetProperty("connector").GetString());
        Assert.Equal("bench::blackhole", json.GetProperty("alias").GetString());
        Assert.Equal(3, json.GetProperty("events").GetInt64());
        Assert.Equal(11, json.GetProperty("bytes").GetInt64());
        Assert.Equal(2, json.GetProperty("warmup_events").GetInt64());
        Assert.InRange(json.GetProperty("p99_us").GetDouble(), 995, 1005);
        Assert.Contains("events:     3 (2 more ignored during warmup)", report);
        Assert.Contains("p99.9", report);
    }

    [Fact]
    public async Task Blackhole_reports_on_end_without_asking_to_stop()
    {
        var host = new TestHost();
        await using var connector = new BlackholeFactory().Create(Fixtures.Context(host));

        await connector.Sink!.OnEndAsync(CancellationToken.None);

        Assert.Empty(host.Shutdowns);
        Assert.Equal(0, Bench(host.OutText.ToString()).GetProperty("events").GetInt64());
    }

    private static JsonElement Bench(string report)
    {
        var line = report.Split('\n').Single(l => l.StartsWith("BENCH ", StringComparison.Ordinal));
        return JsonDocument.Parse(line["BENCH ".Length..]).RootElement.Clone();
    }
}
