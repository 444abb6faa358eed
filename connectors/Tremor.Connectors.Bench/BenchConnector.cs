using Tremor.Pdk;

namespace Tremor.Connectors.Bench;

/// <summary>
/// <c>bench</c>, as in Tremor: the source replays the non-empty lines of <c>path</c> (an <c>.xz</c> file is
/// decompressed once, into memory) as one chunk per line with its own ingest time, for <c>iterations</c> passes and/or
/// <c>stop-after-secs</c> seconds (neither: until shutdown); the sink side is a blackhole that reports throughput and
/// latency (skipping the first <c>warmup-secs</c>) when the upstream ends, then asks the runtime to stop.
/// Chunks are whole lines without their line end, so the flow needs no <c>separate</c> preprocessor. With
/// <c>base64 = true</c> each line is decoded from base64 once, at connect time, and its bytes are replayed (as Tremor's
/// bench does: its passthrough-msgpack benchmark measures the codec, not base64); a line that is not base64 fails the
/// connect naming the line and byte. With <c>interval</c> (e.g. <c>5us</c>) one event is emitted
/// per interval at most (Tremor's throttle, for latency at a given rate; <see cref="BenchThrottle"/>): what is due leaves
/// at once, a source that fell behind catches up at most one pull's worth, and with nothing due it waits, woken by a
/// pacer thread with sub-millisecond resolution (<see cref="BenchPacer"/>), until <c>pace</c> (default 1 ms) worth of
/// events is due. A shorter pace lowers latency at low rates and costs CPU: every wake-up also wakes the flow's
/// threads. Without <c>interval</c>, as fast as the flow takes them.
/// </summary>
public sealed class BenchFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "bench";

    /// <inheritdoc />
    public string Description =>
        "Replays a file's lines and measures throughput and latency (keys: path, base64, iterations, stop-after-secs, warmup-secs, interval, pace)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("path", "base64", "iterations", "stop-after-secs", "warmup-secs", "interval", "pace");

        var path = config.GetString("path");
        string fullPath;
        try
        {
            if (path.Length == 0 || path.Contains('\0')) throw new ArgumentException("empty or contains NUL");
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException($"{config.Path}.path", $"'{path}' is not a valid file path ({e.Message})");
        }

        var base64 = config.GetBool("base64", false);
        long? iterations = null;
        if (config.Has("iterations"))
        {
            iterations = config.GetInt("iterations");
            if (iterations < 1) throw new ConfigException($"{config.Path}.iterations", $"must be at least 1, found {iterations}");
        }
        var stopAfter = BenchConfig.OptionalSeconds(config, "stop-after-secs");
        var warmup = BenchConfig.Warmup(config);
        var interval = config.GetDuration("interval", TimeSpan.Zero);
        if (interval < TimeSpan.Zero) throw new ConfigException($"{config.Path}.interval", $"must not be negative, found {interval}");
        var pace = config.GetDuration("pace", TimeSpan.FromMilliseconds(1));
        if (pace < TimeSpan.FromMicroseconds(1))
        {
            throw new ConfigException($"{config.Path}.pace", $"must be at least 1us, found {pace} (the shortest wait of a throttled source)");
        }
        return new BenchConnector(context.Host, fullPath, base64, iterations, stopAfter, warmup, (ulong)(interval.Ticks * 100), (ulong)(pace.Ticks * 100));
    }
}

/// <summary>The config keys <c>bench</c> and <c>blackhole</c> share.</summary>
internal static class BenchConfig
{
    public static TimeSpan? OptionalSeconds(PluginConfig config, string key)
    {
        if (!config.Has(key)) return null;
        var seconds = config.GetDouble(key);
        if (!(seconds > 0) || double.IsInfinity(seconds))
        {
            throw new ConfigException($"{config.Path}.{key}", $"must be a positive number of seconds, found {seconds}");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    public static TimeSpan Warmup(PluginConfig config)
    {
        var seconds = config.GetDouble("warmup-secs", 0);
        if (!(seconds >= 0) || double.IsInfinity(seconds))
        {
            throw new ConfigException($"{config.Path}.warmup-secs", $"must be zero or a positive number of seconds, found {seconds}");
        }
        return TimeSpan.FromSeconds(seconds);
    }
}

internal sealed class BenchConnector(
    IPluginHost host,
    string path,
    bool base64,
    long? iterations,
    TimeSpan? stopAfter,
    TimeSpan warmup,
    ulong intervalNs,
    ulong paceNs) : ConnectorBase, ISource, ISink
{
    private readonly BenchRecorder _recorder = new(host, "bench", warmup, null);
    private bool _sinkUsed;
    private readonly ulong? _stopAfterNs = stopAfter is { } s ? (ulong)(s.Ticks * 100) : null;
    private BenchReplay? _replay;
    private ulong _startedNs;
    private int _position;
    private long _passes;
    private bool _finished;
    private readonly BenchThrottle? _throttle = intervalNs > 0 ? new BenchThrottle(intervalNs, paceNs) : null;
    private BenchPacer? _pacer;

    public bool IsTransactional => false;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_replay is not null) return true;
        _replay = await BenchReplay.LoadAsync(path, base64, cancellationToken).ConfigureAwait(false);
        host.Log(PluginLogLevel.Info, $"bench: replaying {_replay.Lines.Length} lines ({_replay.Bytes} bytes) from '{path}'");
        return true;
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_throttle is null || _finished) return Fill(batch, int.MaxValue);
        var now = host.NowNs();
        if (_throttle.WaitNs(now, batch.Capacity - batch.Count) is var wait and > 0)
        {
            // Each event is stamped when it is added, so the wait is not counted as latency.
            _pacer ??= new BenchPacer($"bench-pacer {host.Alias}");
            try
            {
                await _pacer.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return PullStatus.Empty;
            }
            now = host.NowNs();
        }
        var due = _throttle.Due(now, batch.Capacity - batch.Count);
        if (due == 0) return PullStatus.Empty;
        var status = Fill(batch, due);
        _throttle.Taken(batch.Count);
        return status;
    }

    private PullStatus Fill(SourceBatch batch, int limit)
    {
        if (_finished) return PullStatus.Finished;
        var lines = (_replay ?? throw new InvalidOperationException($"bench '{path}' was pulled before it was connected")).Lines;

        var now = host.NowNs();
        if (_startedNs == 0) _startedNs = now;
        if (_stopAfterNs is { } stopAfterNs && now - _startedNs >= stopAfterNs) return Finish(batch);

        while (!batch.IsFull && batch.Count < limit)
        {
            // Every line is its own event with its own ingest time, as if it had just arrived. The lines never change
            // while the run lasts, so the codec may keep slices of them (long strings are not copied).
            batch.AddImmutable(lines[_position], 0, host.NowNs());
            if (++_position == lines.Length)
            {
                _position = 0;
                if (++_passes == iterations) return Finish(batch);
            }
        }
        return PullStatus.Data;
    }

    private PullStatus Finish(SourceBatch batch)
    {
        _finished = true;
        batch.EndStream(0);
        return PullStatus.Finished;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        _sinkUsed = true;
        _recorder.Record(batch);
        return ValueTask.FromResult(SinkReply.Acked);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        _recorder.Report();
        host.RequestShutdown(0, "bench finished");
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        // Used only as a source (another connector measures), the sink side has nothing to report.
        if (_sinkUsed) _recorder.Report();
        return ValueTask.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        _pacer?.Dispose();
        return base.DisposeAsync();
    }
}
