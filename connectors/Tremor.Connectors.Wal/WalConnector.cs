using System.Buffers;
using FASTER.core;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>
/// <c>wal</c>: a durable queue between two parts of a flow. Its sink appends each event to the log and acknowledges
/// it upstream once it is on disk (per <see cref="FsyncPolicy"/>); its source emits the entries in order once they
/// are appended (not waiting for their commit) and is transactional: an entry is truncated only once downstream
/// acknowledged it and every entry before it, a failed one is emitted again, and after a restart everything not
/// acknowledged is emitted again. When the connector's codec round-trips every value exactly (msgpack without
/// processors), the source emits what the sink appended from the values it kept (<see cref="Handoff"/>) instead of
/// decoding the entry's bytes; retries and restarts read the log.
/// </summary>
internal sealed class WalConnector : ConnectorBase, ISource, ISink
{
    private readonly IPluginHost _host;
    private readonly WalOptions _options;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Lock _awaitingLock = new();
    private readonly List<(long Until, List<EventId> Ids)> _awaiting = [];
    private readonly List<long> _addresses = [];
    // Id lists of batches acked at a commit, returned to the sink side for reuse (bounded: a few commits' worth).
    private const int MaxIdLists = 64;
    private readonly Stack<List<EventId>> _idLists = new();
    // Null unless the codec's bytes decode back to the very values (else an event would look different after a restart).
    private readonly Handoff? _handoff;

    // Source side, touched by the runtime's calls only (one at a time).
    private readonly EmittedEntries _emitted = new();
    private readonly SortedSet<long> _retry = [];
    private readonly PullReader _pull;
    // The next entry to emit the first time, and where the iterator stands (they part when the handoff emits).
    private long _readNext;
    private long _readerAt;
    // Where the log may be truncated (the first entry not acknowledged): the committer applies it before each commit,
    // one FasterLog call per commit instead of one per acknowledged entry.
    private long _truncateUntil;
    // The sink answered Full for a batch of this footprint: the source's acks tell the runtime once it fits.
    private long _fullNeeds;
    // A commit failed: the log is reopened from its last good commit without waiting on it again.
    private volatile bool _brokenLog;
    // Completed (and replaced) by every append and every commit: a pull waiting for entries (or for a failed entry's
    // commit, to read it again) waits on it. FASTER's own iterator wait was seen to miss a commit.
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WalLog? _log;
    private FasterLogScanIterator? _reader;
    private CancellationTokenSource? _stopCommitter;
    private Task? _committer;

    private string _directory = "";

    /// <param name="host">The runtime.</param>
    /// <param name="options">The connector's settings.</param>
    /// <param name="handoff">Whether the values the sink side is given may be emitted as they are (the codec round-trips them exactly).</param>
    /// <param name="handoffBytes">Entry bytes the handoff holds at most.</param>
    public WalConnector(IPluginHost host, WalOptions options, bool handoff, long handoffBytes = Handoff.DefaultMaxBytes)
    {
        _host = host;
        _options = options;
        _pull = new PullReader(this);
        _handoff = handoff ? new Handoff(handoffBytes) : null;
    }

    public bool IsTransactional => true;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        await CloseAsync().ConfigureAwait(false);
        try
        {
            _directory = _host.StateDirectory;
        }
        catch (InvalidOperationException e)
        {
            // The runtime's message says which directory and what to do (another runtime holds it, it cannot be made).
            _host.Log(PluginLogLevel.Error, $"no state directory for the wal: {e.Message}");
            return false;
        }
        var opening = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            _log = WalLog.Open(_directory, SegmentBytes(_options.MaxBytes));
            _log.CommitTimeout = _options.CommitTimeout;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _host.Log(PluginLogLevel.Error, $"cannot open the wal in {_directory}: {e.Message}{FreeSpace(_directory)}; nothing is accepted until it can be written (check that the directory exists, is writable and has space)");
            return false;
        }
        Report(_log.Recovery, opening.Elapsed);
        _emitted.Clear();
        _retry.Clear();
        _handoff?.Clear();
        _readNext = _readerAt = _log.BeginAddress;
        Volatile.Write(ref _truncateUntil, _readNext);
        _reader = _log.Read(_readNext);
        _stopCommitter = new CancellationTokenSource();
        _committer = Task.Run(() => CommitLoopAsync(_log, _stopCommitter.Token), CancellationToken.None);
        return true;
    }

    /// <summary>Segments (the unit in which truncated data leaves the disk) of about a quarter of the bound.</summary>
    private static long SegmentBytes(long maxBytes) => Math.Clamp(maxBytes / 4, 8L << 20, 64L << 20);

    private void Report(WalRecovery recovery, TimeSpan took)
    {
        if (recovery.SetAside is { } aside)
        {
            _host.Log(PluginLogLevel.Error, $"{recovery.CutReason}; it was moved to {aside} and an empty wal started (what it held was never acknowledged downstream: look there to recover it by hand)");
        }
        else if (recovery.CutReason is { } reason)
        {
            _host.Log(PluginLogLevel.Error, $"the wal in {_directory} was damaged ({reason}); cut at the last good entry: {recovery.CutEntries} entr{(recovery.CutEntries == 1 ? "y" : "ies")} ({recovery.CutBytes} bytes) dropped, {recovery.Entries} kept");
        }
        else if (recovery.Entries > 0)
        {
            _host.Log(PluginLogLevel.Info, $"recovered {recovery.Entries} entr{(recovery.Entries == 1 ? "y" : "ies")} ({_log!.Size} bytes) not yet acknowledged downstream in {took.TotalMilliseconds:0} ms; emitting them again");
        }
    }

    // ---- sink ----

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var log = _log ?? throw new InvalidOperationException("the wal is not open");
        List<(EventId, string)>? failed = null;
        var entries = new List<(int Start, int Length)>(batch.Count);
        _buffer.ResetWrittenCount();
        long footprint = 0;
        var sequence = log.NextSequence;
        foreach (var e in batch.Events)
        {
            var start = _buffer.WrittenCount;
            // The payload the runtime's codec made of the event (msgpack unless the flow names another) goes in as it is.
            EntryCodec.WriteEncoded(_buffer, sequence, e.IngestNs, e.Payload.Span, e.Event.Meta);
            var length = _buffer.WrittenCount - start;
            if (length > WalLog.MaxEntryBytes)
            {
                (failed ??= []).Add((e.Id, $"the event takes {length} bytes in the wal, more than the {WalLog.MaxEntryBytes} one entry can hold"));
                continue;
            }
            entries.Add((start, length));
            footprint += WalLog.Footprint(length);
            sequence++;
        }
        if (footprint > _options.MaxBytes)
        {
            // Even an empty wal could not take it: waiting for room would wait for ever.
            return SinkReply.Failed($"one batch takes {footprint} bytes in the wal, more than its max-bytes {_options.MaxBytes}: raise max-bytes (at least tremor.data-path.batch-size times the largest event)");
        }
        var size = Size(log);
        if (size + footprint > _options.MaxBytes)
        {
            // Nothing of the batch is written: the runtime keeps it and holds the sources upstream back until the
            // source side's acks (truncation) make room.
            _fullNeeds = footprint;
            return SinkReply.Full($"the wal is full: {size} of max-bytes {_options.MaxBytes} hold entries downstream has not acknowledged yet, and the batch needs {footprint} more");
        }
        _fullNeeds = 0;
        if (entries.Count > 0)
        {
            log.AppendBatch(_buffer.WrittenMemory, entries, log.NextSequence + (ulong)entries.Count - 1, _handoff is null ? null : _addresses);
            if (_handoff is not null) HandOff(batch, entries, failed);
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
        switch (_options.Fsync)
        {
            case FsyncPolicy.EveryBatch:
                try
                {
                    await log.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FasterException)
                {
                    // Nothing of the batch is acknowledged; the runtime keeps it, holds the sources upstream back and
                    // offers it again once the wal reopened (from its last good commit).
                    var reason = CommitFailed(e);
                    ReportBroken(reason);
                    return SinkReply.Failed(reason);
                }
                return SinkReply.Settle(_host, batch, failed);
            case FsyncPolicy.Never:
                return SinkReply.Settle(_host, batch, failed);
            default:
                if (entries.Count == 0) return SinkReply.Settle(_host, batch, failed);
                if (failed is not null) _host.Fail(failed.Select(f => f.Item1).ToList(), failed[0].Item2);
                // The ids the commit will ack, in a list reused once acked (see CommitAndAckAsync).
                var accepted = TakeIdList(entries.Count);
                foreach (var e in batch.Events)
                {
                    if (failed is null || !WasFailed(failed, e.Id)) accepted.Add(e.Id);
                }
                lock (_awaitingLock) _awaiting.Add((log.TailAddress, accepted));
                return SinkReply.Pending;
        }
    }

    /// <summary>
    /// Keeps the values of the entries just appended for the source side. Only while the addresses add up to the log's
    /// tail: anything else would hand off the wrong entry, so that batch is read from the log.
    /// </summary>
    private void HandOff(SinkBatch batch, List<(int Start, int Length)> entries, List<(EventId Id, string Reason)>? failed)
    {
        var handoff = _handoff!;
        var last = _addresses.Count - 1;
        if (last < 0 || _addresses[last] + WalLog.Footprint(entries[last].Length) != _log!.TailAddress) return;
        var entry = 0;
        foreach (var e in batch.Events)
        {
            // Events too large for an entry were failed above and never appended (no lambda: a closure over the
            // loop's event would be allocated for every event).
            if (failed is not null && WasFailed(failed, e.Id)) continue;
            var address = _addresses[entry];
            var length = entries[entry].Length;
            entry++;
            if (!handoff.TryAdd(new Handoff.Entry(address, address + WalLog.Footprint(length), e.Event.Data, e.Event.Meta, e.IngestNs, length))) return;
        }
    }

    private static bool WasFailed(List<(EventId Id, string Reason)> failed, EventId id)
    {
        foreach (var f in failed)
        {
            if (f.Id == id) return true;
        }
        return false;
    }

    public async ValueTask OnEndAsync(CancellationToken cancellationToken)
    {
        // What waits for the next group commit is committed now, so the drain ends with everything acknowledged.
        if (_log is { } log && (log.HasUncommitted || HasAwaiting)) await CommitAndAckAsync(log, cancellationToken).ConfigureAwait(false);
    }

    private bool HasAwaiting
    {
        get { lock (_awaitingLock) return _awaiting.Count > 0; }
    }

    private async Task CommitLoopAsync(WalLog log, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.CommitInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (!log.HasUncommitted && !HasAwaiting && Volatile.Read(ref _truncateUntil) <= log.BeginAddress) continue;
                try
                {
                    await CommitAndAckAsync(log, stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    List<(long, List<EventId> Ids)> lost;
                    lock (_awaitingLock)
                    {
                        lost = [.. _awaiting];
                        _awaiting.Clear();
                    }
                    var reason = CommitFailed(e);
                    var count = lost.Sum(l => l.Ids.Count);
                    if (count > 0) _host.Log(PluginLogLevel.Error, $"{count} event(s) waiting for that commit failed back upstream (a transactional source sends them again)");
                    foreach (var (_, ids) in lost) _host.Fail(ids, reason);
                    ReportBroken(reason);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The log is broken: the runtime hears of it once per outage, though the batch's commit and the commit loop (which
    /// also truncates in every-batch mode) can both fail on the same broken file.
    /// </summary>
    private void ReportBroken(string reason)
    {
        // Reported under the lock: the side that finds it already reported (and fails its batch) must not answer before
        // the runtime was told (the host only posts it).
        lock (_awaitingLock)
        {
            if (_brokenLog) return;
            _brokenLog = true;
            _host.ConnectionLost(reason);
        }
    }

    /// <summary>What is free on the file system of <paramref name="directory"/>, for an error (FASTER reports a failed write by a code only).</summary>
    private static string FreeSpace(string directory)
    {
        try
        {
            var free = new DriveInfo(directory).AvailableFreeSpace;
            return $" ({free} bytes free on its file system)";
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Logs a failed commit (a full disk, a folder that cannot be written) once, naming the folder.</summary>
    private string CommitFailed(Exception e)
    {
        var reason = $"the wal could not write to {_directory}: {e.Message}{FreeSpace(_directory)}";
        _host.Log(PluginLogLevel.Error, $"{reason}; nothing more is acknowledged until it can (check that the folder is writable and the disk has space); reopening from the last commit");
        return reason;
    }

    /// <summary>What the log holds that downstream has not acknowledged (truncation applied or not yet).</summary>
    private long Size(WalLog log) => log.TailAddress - Math.Max(log.BeginAddress, Volatile.Read(ref _truncateUntil));

    private async Task CommitAndAckAsync(WalLog log, CancellationToken cancellationToken)
    {
        log.TruncateUntil(Volatile.Read(ref _truncateUntil));
        await log.CommitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        var until = log.CommittedUntil;
        List<List<EventId>>? durable = null;
        lock (_awaitingLock)
        {
            var covered = 0;
            while (covered < _awaiting.Count && _awaiting[covered].Until <= until) covered++;
            for (var i = 0; i < covered; i++) (durable ??= new List<List<EventId>>(covered)).Add(_awaiting[i].Ids);
            _awaiting.RemoveRange(0, covered);
        }
        if (durable is null) return;
        // One ack per sink batch, not one list of the whole commit: a commit covers thousands of events, and one list
        // of their ids (32 bytes each) lands in the large object heap, whose churn forced a full GC every ~130 ms.
        foreach (var ids in durable)
        {
            _host.Ack(ids);
            ReturnIdList(ids);
        }
    }

    /// <summary>A list for a batch's event ids, reused: the host copies what it is given to ack.</summary>
    private List<EventId> TakeIdList(int capacity)
    {
        lock (_idLists)
        {
            if (_idLists.TryPop(out var list)) return list;
        }
        return new List<EventId>(capacity);
    }

    private void ReturnIdList(List<EventId> list)
    {
        list.Clear();
        lock (_idLists)
        {
            if (_idLists.Count < MaxIdLists) _idLists.Push(list);
        }
    }

    // ---- source ----

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_reader is null || _log is not { } log) return PullStatus.Empty;
        _pull.Start(batch);
        while (!batch.IsFull)
        {
            // Taken before looking, so an append or commit between the look and the wait still wakes the wait.
            var changed = Volatile.Read(ref _changed).Task;
            // A failed entry is read again from the log (memory or disk), once committed (FasterLog reads no further):
            // the values handed off are gone once emitted. Not cut short by the runtime, so a retry is never lost half way.
            while (_retry.Count > 0 && !batch.IsFull && _retry.Min < log.CommittedUntil)
            {
                var address = _retry.Min;
                var entry = await log.ReadAsync(address, CancellationToken.None).ConfigureAwait(false);
                _retry.Remove(address);
                _emitted.Again(Emit(batch, entry), address);
            }
            if (batch.IsFull) break;
            if (_handoff is not null && _handoff.TryTake(_readNext, out var kept))
            {
                _emitted.First(batch.AddStructured(kept.Data, 0, kept.IngestNs, kept.Meta), kept.Address);
                _readNext = kept.Next;
                continue;
            }
            if (_readerAt != _readNext)
            {
                // The handoff emitted what the iterator stands before: it starts again where the log is read next.
                _reader.Dispose();
                _reader = log.Read(_readNext);
                _readerAt = _readNext;
            }
            // The entry is copied from FASTER's page straight into this pull's buffer: no array per entry.
            if (_reader.TryConsumeNext(_pull)) continue;
            if (batch.Count > 0) break;
            // Nothing appended beyond what was emitted: wait for the next append (or the commit a retry waits for).
            // The runtime cuts the wait short whenever the instance has other work (every sink batch, every batch of
            // acks): that is the common case, so it is not an exception (a throw and catch per batch cost more than
            // the rest of the pull).
            await changed.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested) return PullStatus.Empty;
        }
        return PullStatus.Data;
    }

    /// <summary>Adds an entry to the batch: an encoded one's payload for the codec, a structured one's value. Returns its pull id.</summary>
    private static ulong Emit(SourceBatch batch, ReadOnlyMemory<byte> entry)
    {
        if (EntryCodec.IsEncoded(entry.Span))
        {
            var (_, ingestNs, payload, meta) = EntryCodec.ReadEncoded(entry);
            return batch.Add(payload, 0, ingestNs, meta);
        }
        // Written by a wal before entries kept the codec's bytes: the value itself.
        var (_, ingest, data, structuredMeta) = EntryCodec.Read(entry);
        return batch.AddStructured(data, 0, ingest, structuredMeta);
    }

    /// <summary>
    /// Takes committed entries from FASTER's iterator into one buffer per pull: a chunk's bytes must stay valid only
    /// until the next pull (the runtime decodes before it pulls again), so the buffer is reused by the next pull, and
    /// an acknowledgement or a retry needs only the entry's address.
    /// </summary>
    private sealed class PullReader(WalConnector wal) : ILogEntryConsumer
    {
        private byte[] _buffer = new byte[256 * 1024];
        private int _used;
        private SourceBatch? _batch;

        public void Start(SourceBatch batch)
        {
            _batch = batch;
            _used = 0;
        }

        public void Consume(ReadOnlySpan<byte> entry, long currentAddress, long nextAddress)
        {
            if (_buffer.Length - _used < entry.Length)
            {
                // Chunks already added keep the old array; it stays valid until the runtime is done with them.
                _buffer = new byte[Math.Max(_buffer.Length * 2, entry.Length)];
                _used = 0;
            }
            entry.CopyTo(_buffer.AsSpan(_used));
            var copy = _buffer.AsMemory(_used, entry.Length);
            _used += entry.Length;
            wal._emitted.First(Emit(_batch!, copy), currentAddress);
            wal._readNext = wal._readerAt = nextAddress;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (!_emitted.Ack(pullId)) return;
        Volatile.Write(ref _truncateUntil, _emitted.TruncateBefore(_readNext));
        if (_log is not { } log) return;
        if (_fullNeeds > 0 && Size(log) + _fullNeeds <= _options.MaxBytes)
        {
            _fullNeeds = 0;
            _host.SinkHasRoom();
        }
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (_emitted.Fail(pullId) is { } address) _retry.Add(address);
    }

    // ---- lifecycle ----

    private async ValueTask CloseAsync()
    {
        if (_stopCommitter is { } stop)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (_committer is { } committer) await committer.ConfigureAwait(false);
            stop.Dispose();
            _stopCommitter = null;
            _committer = null;
        }
        _reader?.Dispose();
        _reader = null;
        _handoff?.Clear();
        if (_log is { } log)
        {
            try
            {
                // A graceful stop keeps what was accepted and the truncation point; what waits for a commit is acked.
                if (!_brokenLog && (log.HasUncommitted || HasAwaiting || Volatile.Read(ref _truncateUntil) > log.BeginAddress)) await CommitAndAckAsync(log, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or FasterException)
            {
                _host.Log(PluginLogLevel.Error, $"the last commit to {_directory} failed: {e.Message}");
            }
            log.Dispose();
            _log = null;
            _brokenLog = false;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
