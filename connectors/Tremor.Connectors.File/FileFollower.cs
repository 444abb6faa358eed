using System.Diagnostics;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>
/// <c>mode = follow</c>: tails every file its paths (or globs) name, like <c>tail -F</c>. Each complete line (or
/// multiline group) is one chunk, so each event's acknowledgement names the offset right after it; the checkpoint
/// holds, per file, the offset after the last line that every sink acknowledged and all lines before it, and a restart
/// resumes there. Files are known by device and inode: a file renamed by a rotation is read to its end under its new
/// name while the new file at the path is read from its start; a file shorter than what was read (copy-truncate) is read
/// again from its start. Changes wake a waiting pull through inotify (FileSystemWatcher); a poll every
/// <c>poll-interval</c> catches what inotify misses (network file systems, a watcher that overflowed).
/// </summary>
internal sealed class FileFollower : ConnectorBase, ISource
{
    private const int HeadBytes = 64;

    /// <summary>A glob as in a shell: <c>*</c> and <c>?</c> only (no DOS quirks), hidden files included, no recursion.</summary>
    private static readonly EnumerationOptions Globbing = new() { MatchType = MatchType.Simple, AttributesToSkip = 0, IgnoreInaccessible = true };
    private const int ReadChunk = 256 * 1024;
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(10);

    private readonly IPluginHost _host;
    private readonly FollowOptions _options;
    private readonly List<Tail> _tails = [];
    private readonly Dictionary<ulong, Line> _lines = [];
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal); // logged once until they open
    private byte[] _arena = new byte[1024 * 1024];
    private int _arenaUsed;
    private FileCheckpoint? _checkpoint;
    private Dictionary<FileIdentity, FileCheckpoint.Entry>? _resume;
    private bool _firstRun;
    private bool _scanned;
    private volatile bool _rescan = true;
    private long _lastScan;
    private bool _dirty;
    private long _lastSave;
    private ulong _nextStream = 1;
    private long _failedLines;
    private long _failedLogged;
    private long _lastFailureLog;

    public FileFollower(IPluginHost host, FollowOptions options)
    {
        _host = host;
        _options = options;
    }

    public override ISink? Sink => null;

    public bool IsTransactional => true;

    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_checkpoint is null)
        {
            var checkpoint = new FileCheckpoint(_host.StateDirectory);
            var entries = checkpoint.Load();
            _firstRun = entries is null;
            _resume = (entries ?? []).GroupBy(e => new FileIdentity(e.Device, e.Inode)).ToDictionary(g => g.Key, g => g.Last());
            _checkpoint = checkpoint;
        }
        if (_watchers.Count == 0) Watch();
        return ValueTask.FromResult(true);
    }

    /// <summary>Inotify where the directory exists; the poll covers the rest (and a directory created later).</summary>
    private void Watch()
    {
        foreach (var pattern in _options.Patterns)
        {
            var directory = Path.GetDirectoryName(pattern)!;
            if (!Directory.Exists(directory)) continue;
            try
            {
                var watcher = new FileSystemWatcher(directory, Path.GetFileName(pattern))
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.LastWrite,
                };
                watcher.Changed += (_, _) => Wake(rescan: false);
                watcher.Created += (_, _) => Wake(rescan: true);
                watcher.Deleted += (_, _) => Wake(rescan: true);
                watcher.Renamed += (_, _) => Wake(rescan: true);
                watcher.Error += (_, _) => Wake(rescan: true);
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
            {
                // Out of inotify watches, or a file system without them: the poll interval still finds every change.
                _host.Log(PluginLogLevel.Debug, $"file: no change notifications for '{directory}' ({e.Message}); polling every {_options.PollInterval.TotalMilliseconds:0}ms");
            }
        }
    }

    private void Wake(bool rescan)
    {
        if (rescan) _rescan = true;
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // Another notification woke it first, or the source is gone.
        }
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        _arenaUsed = 0;
        SaveIfDue();
        for (var attempt = 0; ; attempt++)
        {
            var now = Stopwatch.GetTimestamp();
            if (_rescan || Stopwatch.GetElapsedTime(_lastScan, now) >= _options.PollInterval)
            {
                _rescan = false;
                _lastScan = now;
                Scan();
            }
            foreach (var tail in _tails.ToArray())
            {
                if (!Pump(tail, batch)) break;
            }
            FlushDue(batch);
            RetireFinished(batch);
            if (batch.Count > 0) return PullStatus.Data;
            if (attempt > 0) return PullStatus.Empty;
            try
            {
                await _wake.WaitAsync(NextWait(), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return PullStatus.Empty;
            }
        }
    }

    /// <summary>How long a pull that found nothing waits: until a change is signalled, the poll, or a flush is due.</summary>
    private TimeSpan NextWait()
    {
        var wait = _options.PollInterval;
        var now = Stopwatch.GetTimestamp();
        foreach (var tail in _tails)
        {
            if (_options.PartialLineTimeout is { } partial && tail.HasPartial) wait = Min(wait, partial - Stopwatch.GetElapsedTime(tail.PartialSince, now));
            if (_options.Multiline is { } multiline && tail.Group is not null) wait = Min(wait, multiline.FlushTimeout - Stopwatch.GetElapsedTime(tail.GroupSince, now));
        }
        return wait;

        static TimeSpan Min(TimeSpan a, TimeSpan b) => b < a ? (b < TimeSpan.Zero ? TimeSpan.Zero : b) : a;
    }

    /// <summary>Finds the files the paths name now: new ones are opened, renamed ones keep their state.</summary>
    private void Scan()
    {
        foreach (var tail in _tails) tail.Matched = false;
        foreach (var pattern in _options.Patterns)
        {
            var directory = Path.GetDirectoryName(pattern)!;
            if (!Directory.Exists(directory)) continue;
            IEnumerable<string> paths;
            try
            {
                paths = Directory.EnumerateFiles(directory, Path.GetFileName(pattern), Globbing).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _host.Log(PluginLogLevel.Warning, $"file: cannot list '{directory}': {e.Message}");
                continue;
            }
            foreach (var path in paths)
            {
                if (FileIdentity.Of(path) is not { } found) continue;
                var tail = _tails.Find(t => t.Identity == found.Identity && !t.Closed);
                if (tail is not null)
                {
                    tail.Matched = true;
                    if (tail.Path != path) tail.Rename(path);
                    CheckRewritten(tail);
                    continue;
                }
                Open(path, found.Identity, found.Size, matched: true);
            }
        }
        if (!_scanned)
        {
            // Files the checkpoint names that no path names any more (rotated away before a crash): their unacknowledged
            // rest is read from where they are now, then they are let go.
            foreach (var entry in _resume!.Values.ToList())
            {
                if (Locate(entry) is not { } found) continue;
                if (found.Size > entry.Offset) Open(found.Path, found.Identity, found.Size, matched: false);
            }
            _resume.Clear();
            _scanned = true;
            _dirty = true;
        }
        foreach (var tail in _tails)
        {
            if (!tail.Matched && !tail.Closed && FileIdentity.CurrentPath(tail.Handle) is { } moved && moved != tail.Path) tail.Rename(moved);
        }
    }

    /// <summary>
    /// Where a file of the checkpoint is now: under the name it was saved with, or, when a rotation renamed it while the
    /// runtime was down, under another name in the same directory (where rotations put it).
    /// </summary>
    private static (string Path, FileIdentity Identity, long Size)? Locate(FileCheckpoint.Entry entry)
    {
        var identity = new FileIdentity(entry.Device, entry.Inode);
        if (FileIdentity.Of(entry.FilePath) is { } there && there.Identity == identity) return (entry.FilePath, identity, there.Size);
        var directory = Path.GetDirectoryName(entry.FilePath);
        if (directory is null || !Directory.Exists(directory)) return null;
        try
        {
            foreach (var path in Directory.EnumerateFiles(directory, "*", Globbing))
            {
                if (FileIdentity.Of(path) is { } found && found.Identity == identity) return (path, identity, found.Size);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return null;
    }

    private void Open(string path, FileIdentity identity, long size, bool matched)
    {
        SafeFileHandle handle;
        try
        {
            handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tried again at every scan; said once, not every poll.
            if (_unreadable.Add(path)) _host.Log(PluginLogLevel.Warning, $"file: cannot open '{path}' to follow it: {e.Message}; trying again every {_options.PollInterval.TotalMilliseconds:0}ms");
            return;
        }
        _unreadable.Remove(path);
        var head = ReadHead(handle, size);
        long start = 0;
        if (_resume!.Remove(identity, out var entry))
        {
            // Inodes are reused: the same inode is the same file only if it starts with the same bytes.
            var saved = Convert.FromBase64String(entry.Head);
            if (head.AsSpan().StartsWith(saved) && entry.Offset <= size) start = entry.Offset;
            else _host.Log(PluginLogLevel.Info, $"file: '{path}' is not the file the checkpoint knew under its inode (or it shrank); reading it from its start");
        }
        else if (_firstRun && !_scanned && _options.ReadFromEnd)
        {
            start = size;
        }
        var tail = new Tail(path, identity, handle, _nextStream++, head, start) { Matched = matched };
        _tails.Add(tail);
        _dirty = true;
        _host.Log(PluginLogLevel.Info, $"file: following '{path}' from offset {start}");
    }

    private static byte[] ReadHead(SafeFileHandle handle, long size)
    {
        var head = new byte[(int)Math.Min(HeadBytes, size)];
        var read = RandomAccess.Read(handle, head, 0);
        return read == head.Length ? head : head[..read];
    }

    /// <summary>The file at the same inode was truncated and written again since its head was read: copy-truncate.</summary>
    private void CheckRewritten(Tail tail)
    {
        var (_, size) = FileIdentity.Of(tail.Handle, tail.Path);
        var head = ReadHead(tail.Handle, size);
        if (size < tail.ReadOffset || !head.AsSpan().StartsWith(tail.Head))
        {
            Truncated(tail);
            return;
        }
        if (head.Length > tail.Head.Length) tail.Head = head;
    }

    /// <summary>Reads what was appended to <paramref name="tail"/> and emits its complete lines; false when the batch is full.</summary>
    private bool Pump(Tail tail, SourceBatch batch)
    {
        if (tail.Closed) return true;
        var (_, size) = FileIdentity.Of(tail.Handle, tail.Path);
        if (size < tail.ReadOffset) Truncated(tail);
        while (true)
        {
            if (!EmitLines(tail, batch)) return false;
            if (tail.ReadOffset >= size) return true;
            if (!tail.ReadMore(_options.MaxLineBytes)) return true;
            tail.PartialSince = Stopwatch.GetTimestamp();
            if (tail.Head.Length < HeadBytes && tail.ReadOffset > tail.Head.Length) tail.Head = ReadHead(tail.Handle, tail.ReadOffset);
        }
    }

    private void Truncated(Tail tail)
    {
        var dropped = tail.Unparsed;
        _host.Log(PluginLogLevel.Info, $"file: '{tail.Path}' was truncated (copy-truncate rotation?); reading it from its start{(dropped > 0 ? $" ({dropped} byte(s) of an unfinished line before the truncation are dropped)" : "")}");
        // What was emitted before the truncation no longer moves this file's checkpoint: its offsets name old content.
        tail.Restart();
        _dirty = true;
    }

    /// <summary>Emits the complete lines in the tail's buffer; false when the batch or its memory is full.</summary>
    private bool EmitLines(Tail tail, SourceBatch batch)
    {
        while (true)
        {
            if (batch.IsFull) return false;
            var pending = tail.Pending;
            var newline = pending.IndexOf((byte)'\n');
            int length, consumed;
            if (newline >= 0)
            {
                length = newline > 0 && pending[newline - 1] == (byte)'\r' ? newline - 1 : newline;
                consumed = newline + 1;
            }
            else if (pending.Length >= _options.MaxLineBytes)
            {
                if (!tail.WarnedLongLine)
                {
                    tail.WarnedLongLine = true;
                    _host.Log(PluginLogLevel.Warning, $"file: '{tail.Path}' has a line longer than max-line-bytes ({_options.MaxLineBytes}); it is emitted in pieces of that size");
                }
                length = consumed = _options.MaxLineBytes;
            }
            else
            {
                return true;
            }
            if (!Accept(tail, pending[..length], tail.PendingOffset + consumed, batch)) return false;
            tail.Consume(consumed);
        }
    }

    /// <summary>A complete line: emitted, or joined to the multiline group; false when there is no room to emit.</summary>
    private bool Accept(Tail tail, ReadOnlySpan<byte> line, long end, SourceBatch batch)
    {
        if (_options.Multiline is not { } multiline) return Emit(tail, line, end, batch);
        var group = tail.Group;
        if (group is not null && group.Length + 1 + line.Length <= multiline.MaxBytes && multiline.Joins(Encoding.UTF8.GetString(line)))
        {
            group.WriteByte((byte)'\n');
            group.Write(line);
            tail.GroupEnd = end;
            tail.GroupSince = Stopwatch.GetTimestamp();
            return true;
        }
        if (group is not null)
        {
            if (!Emit(tail, group.GetBuffer().AsSpan(0, (int)group.Length), tail.GroupEnd, batch)) return false;
            group.SetLength(0);
        }
        tail.Group ??= new MemoryStream();
        tail.Group.Write(line);
        tail.GroupEnd = end;
        tail.GroupSince = Stopwatch.GetTimestamp();
        return true;
    }

    /// <summary>Hands one event's bytes to the runtime (copied: the batch keeps them until the next pull).</summary>
    private bool Emit(Tail tail, ReadOnlySpan<byte> bytes, long end, SourceBatch batch)
    {
        if (batch.IsFull) return false;
        if (_arenaUsed + bytes.Length > _arena.Length)
        {
            if (_arenaUsed > 0) return false;
            _arena = new byte[bytes.Length];
        }
        bytes.CopyTo(_arena.AsSpan(_arenaUsed));
        var id = batch.Add(_arena.AsMemory(_arenaUsed, bytes.Length), tail.StreamId, _host.NowNs(), tail.Meta);
        _arenaUsed += bytes.Length;
        var line = new Line(tail, tail.Generation, end);
        _lines[id] = line;
        tail.Outstanding.Enqueue(line);
        return true;
    }

    /// <summary>A partial line past <c>partial-line-timeout</c>, a multiline group past its flush timeout: emitted now.</summary>
    private void FlushDue(SourceBatch batch)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var tail in _tails)
        {
            if (tail.Closed) continue;
            if (_options.PartialLineTimeout is { } partial && tail.HasPartial && Stopwatch.GetElapsedTime(tail.PartialSince, now) >= partial)
            {
                var length = tail.Unparsed;
                if (!Accept(tail, tail.Pending, tail.PendingOffset + length, batch)) return;
                tail.Consume(length);
            }
            if (_options.Multiline is { } multiline && tail.Group is { Length: > 0 } group && Stopwatch.GetElapsedTime(tail.GroupSince, now) >= multiline.FlushTimeout)
            {
                if (!Emit(tail, group.GetBuffer().AsSpan(0, (int)group.Length), tail.GroupEnd, batch)) return;
                tail.Group = null;
            }
        }
    }

    /// <summary>
    /// A file no path names any more (rotated away, deleted) is read to its end; once it did not grow for a whole poll,
    /// its last bytes are its last line, it is closed, and it leaves the checkpoint once that line was acknowledged.
    /// </summary>
    private void RetireFinished(SourceBatch batch)
    {
        var now = Stopwatch.GetTimestamp();
        for (var i = _tails.Count - 1; i >= 0; i--)
        {
            var tail = _tails[i];
            if (!tail.Matched && !tail.Closed)
            {
                var (_, size) = FileIdentity.Of(tail.Handle, tail.Path);
                if (size != tail.ReadOffset)
                {
                    tail.IdleSince = 0;
                    continue;
                }
                if (tail.IdleSince == 0) tail.IdleSince = now;
                if (Stopwatch.GetElapsedTime(tail.IdleSince, now) < _options.PollInterval) continue;
                // Nothing more will come: an unfinished last line is the file's last line, not a broken one.
                if (tail.HasPartial)
                {
                    if (!Accept(tail, tail.Pending, tail.PendingOffset + tail.Unparsed, batch)) continue;
                    tail.Consume(tail.Unparsed);
                }
                if (tail.Group is { Length: > 0 } group)
                {
                    if (!Emit(tail, group.GetBuffer().AsSpan(0, (int)group.Length), tail.GroupEnd, batch)) continue;
                }
                tail.Group = null;
                tail.Close();
                _host.Log(PluginLogLevel.Info, $"file: '{tail.Path}' is no longer named by any path and was read to its end; closed");
            }
            if (tail.Closed && tail.Group is null && tail.Outstanding.Count == 0)
            {
                _tails.RemoveAt(i);
                _dirty = true;
            }
        }
    }

    public void Ack(ulong streamId, ulong pullId) => Settle(pullId, failed: false);

    /// <summary>
    /// A sink failed the line: it was refused, not lost in flight (a sink that lost its peer keeps the batch and delivers
    /// it after reconnecting). The checkpoint moves past it as past a delivered one, and the failures are counted in the
    /// log: a line read again would fail again.
    /// </summary>
    public void Fail(ulong streamId, ulong pullId) => Settle(pullId, failed: true);

    private void Settle(ulong pullId, bool failed)
    {
        if (!_lines.Remove(pullId, out var line)) return;
        line.Done = true;
        var tail = line.Tail;
        while (tail.Outstanding.TryPeek(out var first) && first.Done)
        {
            tail.Outstanding.Dequeue();
            if (first.Generation == tail.Generation) tail.Committed = first.End;
            _dirty = true;
        }
        if (failed)
        {
            _failedLines++;
            var now = Stopwatch.GetTimestamp();
            if (_lastFailureLog == 0 || Stopwatch.GetElapsedTime(_lastFailureLog, now) >= FailureLogInterval)
            {
                _host.Log(PluginLogLevel.Warning, $"file: {_failedLines - _failedLogged} line(s) of '{tail.Path}' and others failed downstream ({_failedLines} in all); the checkpoint moves past them");
                _failedLogged = _failedLines;
                _lastFailureLog = now;
            }
        }
        SaveIfDue();
    }

    private void SaveIfDue()
    {
        if (!_dirty || _checkpoint is null || !_scanned) return;
        if (_lastSave != 0 && Stopwatch.GetElapsedTime(_lastSave) < CheckpointInterval) return;
        Save();
    }

    private void Save()
    {
        if (_checkpoint is null || !_scanned) return;
        var entries = _tails.Select(t => new FileCheckpoint.Entry(t.Path, t.Identity.Device, t.Identity.Inode, Convert.ToBase64String(t.Head), t.Committed)).ToList();
        try
        {
            _checkpoint.Save(entries);
            _dirty = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not fatal: the data is delivered; a restart now would only read more of it again.
            _host.Log(PluginLogLevel.Warning, $"file: cannot write the follow checkpoint '{_checkpoint.Path}': {e.Message}; a restart reads again from the last checkpoint written");
        }
        _lastSave = Stopwatch.GetTimestamp();
    }

    public override ValueTask OnDrainAsync(CancellationToken cancellationToken)
    {
        if (_dirty) Save();
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        if (_dirty) Save();
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dirty) Save();
        foreach (var watcher in _watchers) watcher.Dispose();
        _watchers.Clear();
        foreach (var tail in _tails) tail.Close();
        _wake.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>An emitted line (or multiline group) waiting for its acknowledgement.</summary>
    private sealed class Line(Tail tail, int generation, long end)
    {
        public Tail Tail { get; } = tail;

        /// <summary>Which content of the file it came from (a truncation starts a new one).</summary>
        public int Generation { get; } = generation;

        /// <summary>The offset right after it: where a restart resumes once it and every line before it settled.</summary>
        public long End { get; } = end;

        public bool Done { get; set; }
    }

    /// <summary>One followed file: its handle, what was read and not yet emitted, and what waits for acks.</summary>
    private sealed class Tail
    {
        private byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public Tail(string path, FileIdentity identity, SafeFileHandle handle, ulong streamId, byte[] head, long offset)
        {
            Identity = identity;
            Handle = handle;
            StreamId = streamId;
            Head = head;
            ReadOffset = offset;
            Committed = offset;
            Path = path;
            Rename(path);
        }

        public string Path { get; set; }

        public FileIdentity Identity { get; }

        public SafeFileHandle Handle { get; }

        public ulong StreamId { get; }

        public Value Meta { get; private set; }

        public byte[] Head { get; set; }

        /// <summary>The file offset of the next byte to read.</summary>
        public long ReadOffset { get; private set; }

        /// <summary>Where a restart resumes: right after the last line settled with every line before it.</summary>
        public long Committed { get; set; }

        public int Generation { get; private set; }

        public Queue<Line> Outstanding { get; } = new();

        public bool Matched { get; set; }

        public bool Closed { get; private set; }

        public bool WarnedLongLine { get; set; }

        public long PartialSince { get; set; }

        public long IdleSince { get; set; }

        public MemoryStream? Group { get; set; }

        public long GroupEnd { get; set; }

        public long GroupSince { get; set; }

        /// <summary>Read bytes not emitted yet: the start of a line whose newline has not come.</summary>
        public ReadOnlySpan<byte> Pending => _buffer.AsSpan(_start, _end - _start);

        public int Unparsed => _end - _start;

        public bool HasPartial => _end > _start;

        /// <summary>The file offset of <see cref="Pending"/>'s first byte.</summary>
        public long PendingOffset => ReadOffset - (_end - _start);

        public void Rename(string path)
        {
            Path = path;
            var file = Value.NewRecord(1);
            file.AsRecord()!.Append("path", path);
            var meta = Value.NewRecord(1);
            meta.AsRecord()!.Append("file", file);
            Meta = meta;
        }

        public void Consume(int count) => _start += count;

        /// <summary>Reads what follows; false at the end of the file.</summary>
        public bool ReadMore(int maxLineBytes)
        {
            if (_start == _end) _start = _end = 0;
            if (_end == _buffer.Length)
            {
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                else
                {
                    Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, maxLineBytes + 1));
                }
            }
            var room = Math.Min(_buffer.Length - _end, ReadChunk);
            var read = RandomAccess.Read(Handle, _buffer.AsSpan(_end, room), ReadOffset);
            if (read <= 0) return false;
            _end += read;
            ReadOffset += read;
            return true;
        }

        /// <summary>The file was truncated: read from its start, forget the unfinished line, and start a new generation.</summary>
        public void Restart()
        {
            _start = _end = 0;
            ReadOffset = 0;
            Committed = 0;
            Generation++;
            Outstanding.Clear();
            Group = null;
            Head = [];
        }

        public void Close()
        {
            Closed = true;
            Handle.Dispose();
        }
    }
}
