using System.Globalization;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using Tremor.Pdk;

namespace Tremor.Connectors.Bench;

/// <summary>
/// What <c>bench</c>'s sink side and <c>blackhole</c> share: counts events and payload bytes, records end-to-end
/// latency (arrival minus ingest time) in an HDR histogram, skips events ingested during the warmup (which starts at
/// the first event's ingest time), and prints one report: readable lines, then <c>BENCH {json}</c> for scripts.
/// </summary>
internal sealed class BenchRecorder(IPluginHost host, string connectorType, TimeSpan warmup, TimeSpan? stopAfter)
{
    // Latencies above an hour are clamped: a bench that slow has other problems, and the histogram stays small.
    private const long HighestTrackableNs = 3_600_000_000_000;

    private readonly LongHistogram _latencyNs = new(HighestTrackableNs, 3);
    private readonly ulong _warmupNs = ToNs(warmup);
    private readonly ulong? _stopAfterNs = stopAfter is { } s ? ToNs(s) : null;
    private ulong _measureFromNs;
    private ulong _firstArrivalNs;
    private ulong _startNs;
    private ulong _endNs;
    private long _events;
    private long _bytes;
    private long _warmupEvents;
    // The process's CPU time when the first measured event arrived: CPU per event is what a loaded machine does not
    // distort (a busy neighbour takes wall-clock time from the run, not CPU), so A/B runs compare it.
    private TimeSpan _cpuAtStart;
    // The process's collections, their pauses and its allocations from the same point: what a change to the data
    // path moves besides CPU (a longer queue makes every gen0 collection copy more), per measured event.
    private readonly int[] _collectionsAtStart = new int[3];
    private TimeSpan _gcPauseAtStart;
    private long _allocatedAtStart;
    private bool _started;
    private bool _stopped;
    private bool _reported;

    /// <summary>Measured events.</summary>
    public long Events => _events;

    /// <summary>Records a batch; true when <c>stop-after-secs</c> has just elapsed (the caller reports and stops).</summary>
    public bool Record(SinkBatch batch)
    {
        if (_stopped || batch.Count == 0) return false;
        var now = host.NowNs();
        if (!_started)
        {
            _started = true;
            var first = batch.Events[0].IngestNs;
            _measureFromNs = (first == 0 ? now : first) + _warmupNs;
            _firstArrivalNs = now;
        }

        var measured = false;
        var events = batch.Events;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var ingestNs = e.IngestNs == 0 ? now : e.IngestNs;
            if (ingestNs < _measureFromNs)
            {
                _warmupEvents++;
                continue;
            }
            if (_events == 0)
            {
                _startNs = ingestNs;
                _cpuAtStart = Environment.CpuUsage.TotalTime;
                for (var g = 0; g < _collectionsAtStart.Length; g++) _collectionsAtStart[g] = GC.CollectionCount(g);
                _gcPauseAtStart = GC.GetTotalPauseDuration();
                _allocatedAtStart = GC.GetTotalAllocatedBytes();
            }
            _events++;
            _bytes += e.Payload.Length;
            var latency = now > ingestNs ? (long)Math.Min(now - ingestNs, HighestTrackableNs) : 0;
            _latencyNs.RecordValue(latency);
            measured = true;
        }
        if (measured) _endNs = now;

        if (_stopAfterNs is { } stopAfterNs && now - _firstArrivalNs >= stopAfterNs)
        {
            _stopped = true;
            return true;
        }
        return false;
    }

    /// <summary>Prints the report to the host's <see cref="IPluginHost.Out"/>, once; later calls do nothing.</summary>
    public void Report()
    {
        if (_reported) return;
        _reported = true;

        var seconds = _events > 0 && _endNs > _startNs ? (_endNs - _startNs) / 1e9 : 0;
        var cpuSeconds = _events > 0 ? (Environment.CpuUsage.TotalTime - _cpuAtStart).TotalSeconds : 0;
        var cpuNsPerEvent = _events > 0 ? cpuSeconds * 1e9 / _events : 0;
        var megabytesPerSecond = seconds > 0 ? _bytes / 1e6 / seconds : 0;
        var eventsPerSecond = seconds > 0 ? _events / seconds : 0;
        var gen0 = _events > 0 ? GC.CollectionCount(0) - _collectionsAtStart[0] : 0;
        var gen1 = _events > 0 ? GC.CollectionCount(1) - _collectionsAtStart[1] : 0;
        var gen2 = _events > 0 ? GC.CollectionCount(2) - _collectionsAtStart[2] : 0;
        var gcPauseMs = _events > 0 ? (GC.GetTotalPauseDuration() - _gcPauseAtStart).TotalMilliseconds : 0;
        var allocatedPerEvent = _events > 0 ? (GC.GetTotalAllocatedBytes() - _allocatedAtStart) / (double)_events : 0;
        var p50 = PercentileMicros(50);
        var p90 = PercentileMicros(90);
        var p99 = PercentileMicros(99);
        var p999 = PercentileMicros(99.9);
        var max = _events > 0 ? _latencyNs.GetMaxValue() / 1e3 : 0;

        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"{connectorType} report for {host.Alias}\n");
        text.Append(c, $"  events:     {_events} ({_warmupEvents} more ignored during warmup)\n");
        text.Append(c, $"  bytes:      {_bytes}\n");
        text.Append(c, $"  elapsed:    {seconds:F3} s\n");
        text.Append(c, $"  throughput: {megabytesPerSecond:F3} MB/s, {eventsPerSecond:F1} events/s\n");
        text.Append(c, $"  cpu:        {cpuSeconds:F3} s of the process, {cpuNsPerEvent:F0} ns per event\n");
        text.Append(c, $"  gc:         {gen0} gen0, {gen1} gen1, {gen2} gen2 collections, {gcPauseMs:F0} ms paused, {allocatedPerEvent:F0} bytes allocated per event\n");
        text.Append(c, $"  latency:    p50 {p50:F1} µs, p90 {p90:F1} µs, p99 {p99:F1} µs, p99.9 {p999:F1} µs, max {max:F1} µs\n");

        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteString("connector", connectorType);
            writer.WriteString("alias", host.Alias);
            writer.WriteNumber("events", _events);
            writer.WriteNumber("bytes", _bytes);
            writer.WriteNumber("warmup_events", _warmupEvents);
            writer.WriteNumber("elapsed_s", seconds);
            writer.WriteNumber("mb_per_s", megabytesPerSecond);
            writer.WriteNumber("events_per_s", eventsPerSecond);
            writer.WriteNumber("p50_us", p50);
            writer.WriteNumber("p90_us", p90);
            writer.WriteNumber("p99_us", p99);
            writer.WriteNumber("p999_us", p999);
            writer.WriteNumber("max_us", max);
            writer.WriteNumber("cpu_s", cpuSeconds);
            writer.WriteNumber("cpu_ns_per_event", cpuNsPerEvent);
            writer.WriteNumber("gc_gen0", gen0);
            writer.WriteNumber("gc_gen1", gen1);
            writer.WriteNumber("gc_gen2", gen2);
            writer.WriteNumber("gc_pause_ms", gcPauseMs);
            writer.WriteNumber("allocated_bytes_per_event", allocatedPerEvent);
            writer.WriteEndObject();
        }
        text.Append("BENCH ").Append(Encoding.UTF8.GetString(json.GetBuffer(), 0, (int)json.Length)).Append('\n');

        host.Out.Write(text.ToString());
        host.Out.Flush();
    }

    private double PercentileMicros(double percentile) =>
        _events > 0 ? _latencyNs.GetValueAtPercentile(percentile) / 1e3 : 0;

    private static ulong ToNs(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (ulong)(span.Ticks * 100);
}
