using System.Buffers.Binary;
using System.Runtime.InteropServices;
using FASTER.core;

namespace Tremor.Connectors.Wal;

/// <summary>
/// FasterLog's commit records in one file of two slots, written in place (<c>O_DSYNC</c>), the older slot each time:
/// FASTER's own manager makes a file per commit and deletes the one before, which at a commit every 5 ms cost the wal
/// flow ~3.5 % of its CPU in file creation, deletion and journal work (BENCHMARKS.md, issue 15). A slot holds a magic,
/// the commit's number, the metadata's length and a checksum over all of it, so a write torn by a crash is seen and the
/// other slot, the commit before, is used. A log whose commits are FASTER's own files (written before this manager)
/// is read through FASTER's manager until its first commit here, which then deletes them.
/// </summary>
internal sealed class SlotCommitManager : ILogCommitManager
{
    /// <summary>Bytes of a slot: the header and the metadata (FasterLog's is a few hundred bytes).</summary>
    public const int SlotSize = 64 * 1024;

    /// <summary>The file's name in the log's folder.</summary>
    public const string FileName = "commits";

    private const uint Magic = 0x31435754; // "TWC1"
    private const int Header = 24; // magic, length, commit number, checksum
    private const string LegacyFolder = "log-commits"; // FASTER's commit files, in the log's folder

    private readonly string _path;
    private readonly string _logDir;
    private readonly bool _readOnly;
    private readonly Lock _lock = new();
    private DeviceLogCommitCheckpointManager? _legacy;
    private bool _legacyDropped;
    private int _fd = -1;
    // The slot holding the newest whole commit (-1: none): the next commit goes to the other one.
    private int _newest;

    /// <param name="logDir">The log's folder.</param>
    /// <param name="readOnly">Reads commits only (the wal's verifying pass): the file is never created or written.</param>
    public SlotCommitManager(string logDir, bool readOnly)
    {
        _path = Path.Combine(logDir, FileName);
        _logDir = logDir;
        _readOnly = readOnly;
        _newest = NewestSlot();
        // Commits FASTER's own manager wrote (an older wal): read through it until a commit here replaces them.
        if (_newest < 0 && Directory.Exists(Path.Combine(logDir, LegacyFolder)))
        {
            _legacy = new DeviceLogCommitCheckpointManager(new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(logDir), removeOutdated: !readOnly);
        }
    }

    /// <inheritdoc />
    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        if (_readOnly) throw new InvalidOperationException("a read-only wal log does not commit");
        if (Header + commitMetadata.Length > SlotSize)
        {
            throw new IOException($"a commit record of {commitMetadata.Length} bytes does not fit a slot of {SlotSize} bytes in {_path}");
        }
        var record = new byte[Header + commitMetadata.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), commitMetadata.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), commitNum);
        commitMetadata.CopyTo(record, Header);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(16), Checksum(record));
        lock (_lock)
        {
            // Never over the newest commit: a crash in this write leaves that one whole.
            var slot = _newest == 0 ? 1 : 0;
            WriteAt(record, (long)slot * SlotSize);
            _newest = slot;
            DropLegacy();
        }
    }

    /// <summary>After the first commit here, FASTER's commit files of an older wal are not needed any more.</summary>
    private void DropLegacy()
    {
        if (_legacyDropped) return;
        _legacyDropped = true;
        if (_legacy is { } legacy)
        {
            legacy.RemoveAllCommits();
            legacy.Dispose();
            _legacy = null;
        }
        try
        {
            var dir = Path.Combine(_logDir, LegacyFolder);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind, unread: this file's commits come first from now on.
        }
    }

    /// <inheritdoc />
    public byte[]? GetCommitMetadata(long commitNum)
    {
        if (_legacy is { } legacy) return legacy.GetCommitMetadata(commitNum);
        foreach (var (_, num, metadata) in ReadSlots())
        {
            if (num == commitNum) return metadata;
        }
        return null;
    }

    /// <inheritdoc />
    public IEnumerable<long> ListCommits() =>
        _legacy is { } legacy ? legacy.ListCommits() : ReadSlots().Select(s => s.Num).OrderDescending().ToList();

    /// <inheritdoc />
    public void RemoveCommit(long commitNum)
    {
        lock (_lock)
        {
            if (_legacy is { } legacy)
            {
                legacy.RemoveCommit(commitNum);
                return;
            }
            foreach (var (slot, num, _) in ReadSlots())
            {
                if (num == commitNum) Clear(slot);
            }
        }
    }

    /// <inheritdoc />
    public void RemoveAllCommits()
    {
        lock (_lock)
        {
            _legacy?.RemoveAllCommits();
            if (_readOnly || !File.Exists(_path)) return;
            Clear(0);
            Clear(1);
        }
    }

    /// <inheritdoc />
    public void OnRecovery(long commitNum)
    {
        lock (_lock)
        {
            if (_legacy is { } legacy)
            {
                legacy.OnRecovery(commitNum);
                return;
            }
            // The next commit goes to the other slot, whatever the newer one held (a commit after this one that a
            // recovery passed over is written over first).
            foreach (var (slot, num, _) in ReadSlots())
            {
                if (num == commitNum) _newest = slot;
            }
        }
    }

    /// <summary>
    /// Empties a slot; the newest is then the other one if it is whole, so a commit never goes over the only one left.
    /// Under the lock, as everything that moves <see cref="_newest"/> or writes the file: a removal beside a commit must
    /// not leave the next commit aimed at the newest slot.
    /// </summary>
    private void Clear(int slot)
    {
        WriteAt(new byte[Header], (long)slot * SlotSize);
        _newest = NewestSlot();
    }

    private int NewestSlot()
    {
        var (newest, number) = (-1, long.MinValue);
        foreach (var (slot, num, _) in ReadSlots())
        {
            if (num > number) (newest, number) = (slot, num);
        }
        return newest;
    }

    /// <summary>The slots whose record is whole (magic, length and checksum agree).</summary>
    private List<(int Slot, long Num, byte[] Metadata)> ReadSlots()
    {
        var found = new List<(int, long, byte[])>(2);
        if (!File.Exists(_path)) return found;
        var bytes = File.ReadAllBytes(_path);
        for (var slot = 0; slot < 2; slot++)
        {
            var start = slot * SlotSize;
            if (bytes.Length < start + Header) break;
            var span = bytes.AsSpan(start);
            if (BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic) continue;
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
            if (length < 0 || Header + length > SlotSize || span.Length < Header + length) continue;
            var record = span[..(Header + length)].ToArray();
            var stored = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(16));
            if (stored != Checksum(record)) continue;
            found.Add((slot, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(8)), record[Header..]));
        }
        return found;
    }

    /// <summary>FNV-1a over the record with its checksum field taken as zero: enough to tell a torn write from a whole one.</summary>
    private static ulong Checksum(ReadOnlySpan<byte> record)
    {
        var hash = 14695981039346656037UL;
        for (var i = 0; i < record.Length; i++)
        {
            var b = i is >= 16 and < 24 ? (byte)0 : record[i];
            hash = (hash ^ b) * 1099511628211UL;
        }
        return hash;
    }

    private void WriteAt(byte[] bytes, long offset)
    {
        if (_fd < 0)
        {
            _fd = Libc.Open(_path, Libc.ORdWr | Libc.OCreat | Libc.ODsync | Libc.OCloexec, 420);
            if (_fd < 0) throw Libc.Error("open", _path);
        }
        var done = 0;
        while (done < bytes.Length)
        {
            var n = Libc.PWrite(_fd, bytes.AsSpan(done), (nuint)(bytes.Length - done), offset + done);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
                throw Libc.Error("write", _path);
            }
            done += (int)n;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            _legacy?.Dispose();
            _legacy = null;
            if (_fd >= 0) _ = Libc.Close(_fd);
            _fd = -1;
        }
    }
}
