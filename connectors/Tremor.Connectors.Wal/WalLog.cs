using System.Buffers.Binary;
using System.Globalization;
using FASTER.core;
using MessagePack;

namespace Tremor.Connectors.Wal;

/// <summary>What opening a log found: how many entries it holds, and what it had to cut or set aside.</summary>
/// <param name="Entries">Good entries kept (not yet truncated).</param>
/// <param name="CutEntries">Entries dropped after the last good one (at least 1 when <paramref name="CutReason"/> is set).</param>
/// <param name="CutBytes">Bytes of log dropped after the last good entry.</param>
/// <param name="CutReason">Why the log was cut (a checksum that does not match, a torn entry), or null.</param>
/// <param name="SetAside">Where an unreadable log was moved (it could not be recovered at all), or null.</param>
internal sealed record WalRecovery(long Entries, long CutEntries, long CutBytes, string? CutReason, string? SetAside);

/// <summary>
/// One durable log of entries on FASTER's <see cref="FasterLog"/>, with a checksum per entry. Opening it recovers
/// the last commit, reads every entry once to check it, and cuts a corrupt or torn tail at the last good entry
/// (FasterLog cannot truncate its tail, so the good entries are copied into a fresh log that replaces the old one).
/// The commit cookie holds the sequence of the last committed entry, so a cut knows how many entries it dropped.
/// Safe for one appender and one reader at a time, and a committer beside them.
/// </summary>
internal sealed class WalLog : IDisposable
{
    private const string LogFolder = "log";
    private const string CutFolder = "log.cut";
    private const int PageBits = 22; // 4 MiB pages: the largest entry is a page less its header
    private const int EntryHeader = 12; // length and an 8-byte checksum

    private readonly FasterLogSettings _settings;
    private readonly FasterLog _log;
    private long _committedBegin;
    private ulong _lastSequence;
    private ulong _committedSequence;

    private WalLog(FasterLogSettings settings, FasterLog log, ulong lastSequence)
    {
        _settings = settings;
        _log = log;
        _lastSequence = lastSequence;
        _committedSequence = lastSequence;
        _committedBegin = log.BeginAddress;
    }

    /// <summary>The largest entry one append takes.</summary>
    public static int MaxEntryBytes => (1 << PageBits) - EntryHeader - 64;

    /// <summary>
    /// How long a commit may take before it counts as failed: FASTER does not always report a commit record it could
    /// not write (a commit folder that became unwritable leaves the commit pending for ever).
    /// </summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What opening found.</summary>
    public WalRecovery Recovery { get; private set; } = new(0, 0, 0, null, null);

    /// <summary>Bytes the log holds between its first kept entry and its tail (headers and alignment included).</summary>
    public long Size => _log.TailAddress - _log.BeginAddress;

    /// <summary>The first address not truncated.</summary>
    public long BeginAddress => _log.BeginAddress;

    /// <summary>Everything below it is on disk.</summary>
    public long CommittedUntil => _log.CommittedUntilAddress;

    public long TailAddress => _log.TailAddress;

    /// <summary>The sequence the next appended entry gets.</summary>
    public ulong NextSequence => _lastSequence + 1;

    /// <summary>What an entry of <paramref name="length"/> bytes takes in the log.</summary>
    public static long Footprint(int length) => EntryHeader + ((length + 3) & ~3);

    /// <summary>
    /// Opens (or creates) the log under <paramref name="directory"/>. A log that cannot be recovered at all is moved
    /// aside (kept for a human, named in <see cref="Recovery"/>) and an empty one started; a corrupt tail is cut.
    /// Throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when the directory cannot be used.
    /// <paramref name="earlierFormat"/> writes the files as builds before the wal's own storage did (FASTER's device,
    /// through the page cache, and a commit file per commit), for tests of a wal from such a build.
    /// </summary>
    public static WalLog Open(string directory, long segmentBytes, bool earlierFormat = false)
    {
        Directory.CreateDirectory(directory);
        var logDir = Path.Combine(directory, LogFolder);
        var cutDir = Path.Combine(directory, CutFolder);
        // A cut replaces the log by renaming; a crash between the two renames leaves only the cut copy.
        if (!Directory.Exists(logDir) && Directory.Exists(cutDir)) Directory.Move(cutDir, logDir);
        if (Directory.Exists(cutDir)) Directory.Delete(cutDir, recursive: true);
        if (!Directory.Exists(logDir) || Directory.GetFileSystemEntries(logDir).Length == 0)
        {
            return OpenFolder(logDir, segmentBytes, earlierFormat, recover: false);
        }

        WalLog wal;
        Check check;
        try
        {
            wal = OpenFolder(logDir, segmentBytes, earlierFormat, recover: true);
        }
        catch (Exception e) when (!RefusedByTheSystem(e))
        {
            return SetAside(directory, logDir, cutDir, segmentBytes, earlierFormat, e);
        }
        try
        {
            // Every committed entry is read once from disk by a read-only instance: FasterLog checks the checksums
            // only of what it reads from disk, and the writable instance keeps the recovered tail page in memory.
            check = Verify(logDir, segmentBytes, earlierFormat, cutDir, wal.BeginAddress, wal.CommittedUntil, wal._committedSequence);
        }
        catch (Exception e) when (!RefusedByTheSystem(e))
        {
            wal.Dispose();
            return SetAside(directory, logDir, cutDir, segmentBytes, earlierFormat, e);
        }
        if (check.CutReason is not null)
        {
            // The good entries were copied into a fresh log: it takes the old one's place.
            wal.Dispose();
            Directory.Delete(logDir, recursive: true);
            Directory.Move(cutDir, logDir);
            wal = OpenFolder(logDir, segmentBytes, earlierFormat, recover: true);
        }
        wal._lastSequence = wal._committedSequence = Math.Max(wal._committedSequence, check.LastSequence);
        wal.Recovery = new WalRecovery(check.Entries, check.CutEntries, check.CutBytes, check.CutReason, null);
        return wal;
    }

    /// <summary>
    /// The operating system refused the access (no permission, not a directory, no space, an I/O error): the log may
    /// be fine, so it is not set aside; the open fails and is tried again. A plain <see cref="IOException"/> is what
    /// .NET makes of an errno; what a bad log throws is FASTER's or ours.
    /// </summary>
    private static bool RefusedByTheSystem(Exception e) =>
        e is UnauthorizedAccessException or DirectoryNotFoundException or PathTooLongException || e.GetType() == typeof(IOException);

    /// <summary>A log that cannot be recovered at all is kept for a human under another name; an empty one starts.</summary>
    private static WalLog SetAside(string directory, string logDir, string cutDir, long segmentBytes, bool earlierFormat, Exception e)
    {
        var aside = Path.Combine(directory, $"log.unreadable-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}");
        if (Directory.Exists(cutDir)) Directory.Delete(cutDir, recursive: true);
        Directory.Move(logDir, aside);
        var fresh = OpenFolder(logDir, segmentBytes, earlierFormat, recover: false);
        fresh.Recovery = new WalRecovery(0, 0, 0, $"the log could not be recovered ({e.Message})", aside);
        return fresh;
    }

    private static FasterLogSettings Settings(string logDir, long segmentBytes, bool earlierFormat, bool readOnly)
    {
        var settings = new FasterLogSettings(logDir)
        {
            LogChecksum = LogChecksumType.PerEntry,
            TryRecoverLatest = false,
            RemoveOutdatedCommits = !readOnly,
            ReadOnlyMode = readOnly,
            // The source side emits entries once appended (acks upstream still wait for the commit): its iterator scans
            // up to the safe tail, which this moves with every append.
            AutoRefreshSafeTailAddress = !readOnly,
            PageSizeBits = PageBits,
            MemorySizeBits = PageBits + 2,
            SegmentSizeBits = Math.Clamp(63 - (int)ulong.LeadingZeroCount((ulong)Math.Max(segmentBytes, 1)), PageBits + 1, 30),
        };
        if (earlierFormat || !OperatingSystem.IsLinux()) return settings;
        // Segments written past the page cache where the platform allows (same file names as FASTER's device), and the
        // commit records in two slots of one file instead of a file per commit.
        if (DirectDevice.TryCreate(settings.LogDevice.FileName) is { } direct)
        {
            settings.LogDevice.Dispose();
            settings.LogDevice = direct;
        }
        settings.LogCommitManager = new SlotCommitManager(logDir, readOnly);
        return settings;
    }

    /// <summary>Disposes what <see cref="Settings"/> made: FasterLog disposes only a commit manager it made itself.</summary>
    private static void Release(FasterLogSettings settings)
    {
        (settings.LogCommitManager as SlotCommitManager)?.Dispose();
        settings.Dispose();
    }

    private static WalLog OpenFolder(string logDir, long segmentBytes, bool earlierFormat, bool recover)
    {
        var settings = Settings(logDir, segmentBytes, earlierFormat, readOnly: false);
        try
        {
            var log = new FasterLog(settings);
            if (recover)
            {
                log.Recover();
                // Every commit of a wal carries a cookie: without one, what is there is not a wal this plugin wrote.
                if (log.RecoveredCookie is not { Length: 8 }) throw new InvalidDataException("no commit of a wal found in its files");
            }
            return new WalLog(settings, log, CookieSequence(log.RecoveredCookie));
        }
        catch
        {
            Release(settings);
            throw;
        }
    }

    private static ulong CookieSequence(byte[]? cookie) => cookie is { Length: 8 } ? BinaryPrimitives.ReadUInt64LittleEndian(cookie) : 0;

    private sealed record Check(long Entries, ulong LastSequence, long CutEntries, long CutBytes, string? CutReason);

    /// <summary>
    /// Reads every committed entry once from disk: checksums (FasterLog's) and the entry format (ours). On the first
    /// bad entry, copies the good ones into a fresh log in <paramref name="cutDir"/>. Throws when the log cannot be
    /// recovered at all (no readable commit).
    /// </summary>
    private static Check Verify(string logDir, long segmentBytes, bool earlierFormat, string cutDir, long from, long end, ulong committed)
    {
        var settings = Settings(logDir, segmentBytes, earlierFormat, readOnly: true);
        try
        {
            return Verify(settings, segmentBytes, earlierFormat, cutDir, from, end, committed);
        }
        finally
        {
            Release(settings);
        }
    }

    private static Check Verify(FasterLogSettings settings, long segmentBytes, bool earlierFormat, string cutDir, long from, long end, ulong committed)
    {
        using var log = new FasterLog(settings);
        log.RecoverReadOnly();
        long entries = 0;
        ulong lastGood = 0;
        var goodUntil = from;
        string? reason = null;
        using (var iterator = log.Scan(from, end))
        {
            while (true)
            {
                try
                {
                    if (!iterator.GetNext(out var entry, out var length, out _, out var next)) break;
                    lastGood = EntryCodec.ReadSequence(entry.AsMemory(0, length));
                    entries++;
                    goodUntil = next;
                }
                catch (Exception e) when (e is FasterException or MessagePackSerializationException or InvalidDataException or EndOfStreamException)
                {
                    reason = $"{e.Message} at address {goodUntil}";
                    break;
                }
            }
        }
        if (reason is null && goodUntil < end) reason = $"the log ends at address {goodUntil}, before its last commit at {end}";
        if (reason is null) return new Check(entries, Math.Max(lastGood, committed), 0, 0, null);

        using (var cut = OpenFolder(cutDir, segmentBytes, earlierFormat, recover: false))
        {
            using (var good = log.Scan(from, goodUntil))
            {
                while (good.GetNext(out var entry, out var length, out _)) cut._log.Enqueue(entry.AsSpan(0, length));
            }
            cut._lastSequence = Math.Max(lastGood, committed);
            cut.CommitAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        var dropped = committed > lastGood ? (long)(committed - lastGood) : 1;
        return new Check(entries, Math.Max(lastGood, committed), dropped, end - goodUntil, reason);
    }

    /// <summary>Appends one entry (in memory until the next commit) and returns its address.</summary>
    public long Append(ReadOnlySpan<byte> entry, ulong sequence)
    {
        var address = _log.Enqueue(entry);
        _lastSequence = sequence;
        return address;
    }

    /// <summary>
    /// Appends the entries of one sink batch (slices of <paramref name="buffer"/>), the last numbered
    /// <paramref name="lastSequence"/>: up to a quarter page at a time in one FasterLog call, so the log's epoch is
    /// entered once per group rather than once per entry. <paramref name="addresses"/>, when given, gets each entry's
    /// address: FasterLog places a group's entries back to back from the address it returns. The entries are visible
    /// to an iterator of <see cref="Read"/> at once, before they are committed.
    /// </summary>
    public void AppendBatch(ReadOnlyMemory<byte> buffer, List<(int Start, int Length)> entries, ulong lastSequence, List<long>? addresses = null)
    {
        addresses?.Clear();
        const long groupBytes = 1L << (PageBits - 2);
        var first = 0;
        while (first < entries.Count)
        {
            var end = first;
            long bytes = 0;
            while (end < entries.Count && (end == first || bytes + Footprint(entries[end].Length) <= groupBytes))
            {
                bytes += Footprint(entries[end].Length);
                end++;
            }
            var address = end - first == 1
                ? _log.Enqueue(buffer.Span.Slice(entries[first].Start, entries[first].Length))
                : _log.Enqueue(new EntryGroup(buffer, entries, first, end - first));
            if (addresses is not null)
            {
                for (var i = first; i < end; i++)
                {
                    addresses.Add(address);
                    address += Footprint(entries[i].Length);
                }
            }
            first = end;
        }
        _lastSequence = lastSequence;
    }

    private sealed class EntryGroup(ReadOnlyMemory<byte> buffer, List<(int Start, int Length)> entries, int first, int count) : IReadOnlySpanBatch
    {
        public int TotalEntries() => count;

        public ReadOnlySpan<byte> Get(int index)
        {
            var (start, length) = entries[first + index];
            return buffer.Span.Slice(start, length);
        }
    }

    /// <summary>True when appends or a truncation wait for a commit.</summary>
    public bool HasUncommitted => _log.TailAddress > _log.CommittedUntilAddress || _log.BeginAddress != _committedBegin;

    /// <summary>Makes everything appended so far (and the truncation point) durable; completes when it is on disk.</summary>
    public async ValueTask<long> CommitAsync(CancellationToken cancellationToken)
    {
        var sequence = _lastSequence;
        var begin = _log.BeginAddress;
        var cookie = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(cookie, sequence);
        bool ok;
        long tail;
        try
        {
            (ok, tail, _) = await _log.CommitStronglyAsync(cookie, -1, cancellationToken).AsTask().WaitAsync(CommitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new IOException($"a commit did not complete within {CommitTimeout.TotalSeconds:0.###}s (the disk does not answer, or the commit record could not be written)");
        }
        if (!ok) throw new IOException("the commit did not complete");
        _committedSequence = sequence;
        _committedBegin = begin;
        return tail;
    }

    /// <summary>Drops the entries before <paramref name="address"/> (an entry's start); persisted by the next commit.</summary>
    public void TruncateUntil(long address)
    {
        if (address > _log.BeginAddress) _log.TruncateUntil(address);
    }

    /// <summary>The entry at <paramref name="address"/> (an entry emitted before, to emit again); FasterLog reads committed entries only.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(long address, CancellationToken cancellationToken)
    {
        var (entry, length) = await _log.ReadAsync(address, 0, cancellationToken).ConfigureAwait(false);
        return entry.AsMemory(0, length);
    }

    /// <summary>
    /// An iterator over the entries from <paramref name="address"/> on, following the tail: committed or not (an entry
    /// is emitted once appended; what a crash takes before its commit was never acknowledged upstream).
    /// </summary>
    public FasterLogScanIterator Read(long address) => _log.Scan(Math.Max(address, _log.BeginAddress), long.MaxValue, scanUncommitted: true);

    public void Dispose()
    {
        _log.Dispose();
        Release(_settings);
    }
}
