using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>Orders keys as their bytes, so a scan's range is a byte range (as Tremor's kv on sled).</summary>
internal sealed class KeyOrder : IComparer<byte[]>
{
    public static readonly KeyOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

/// <summary>
/// A durable key-value map on a <see cref="WalLog"/>: every change (put, delete) is an entry of the log, the map is
/// rebuilt from the log when it opens and kept in memory, sorted by key, for gets and range scans. When the log
/// holds far more than the live data it is compacted: the live entries are written again and what precedes them is
/// truncated, in one commit each, so a crash at any point leaves a log that replays to the same map.
/// </summary>
internal sealed class KvStore : IDisposable
{
    private const string OpPut = "put";
    private const string OpDelete = "delete";
    private const long CompactFloor = 16L << 20;

    private readonly WalLog _log;
    private readonly SortedDictionary<byte[], Value> _map = new(KeyOrder.Instance);
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private long _liveBytes;

    private KvStore(WalLog log)
    {
        _log = log;
    }

    public WalRecovery Recovery => _log.Recovery;

    public int Count => _map.Count;

    public static KvStore Open(string directory)
    {
        var log = WalLog.Open(directory, 64L << 20);
        var store = new KvStore(log);
        try
        {
            using var iterator = log.Read(log.BeginAddress);
            while (iterator.GetNext(out var entry, out var length, out _))
            {
                var (_, _, data, meta) = EntryCodec.Read(entry.AsMemory(0, length));
                var key = meta["key"].AsBytes() ?? [];
                if (meta["op"].AsString() == OpDelete) store.Remove(key);
                else store.Set(key, data, length);
            }
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    public bool TryGet(byte[] key, out Value value) => _map.TryGetValue(key, out value);

    /// <summary>Sets a key; returns the value it had, or null when it had none. Durable after <see cref="CommitAsync"/>.</summary>
    public Value? Put(byte[] key, Value value)
    {
        Value? old = _map.TryGetValue(key, out var previous) ? previous : null;
        var length = Append(OpPut, key, value);
        Set(key, value, length);
        return old;
    }

    /// <summary>Removes a key; returns the value it had, or null.</summary>
    public Value? Delete(byte[] key)
    {
        if (!_map.TryGetValue(key, out var previous)) return null;
        Append(OpDelete, key, Value.Null);
        Remove(key);
        return previous;
    }

    /// <summary>Keys from <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive, or the last key).</summary>
    public IEnumerable<KeyValuePair<byte[], Value>> Scan(byte[] start, byte[]? end) =>
        _map.Where(kv => KeyOrder.Instance.Compare(kv.Key, start) >= 0 && (end is null || KeyOrder.Instance.Compare(kv.Key, end) < 0));

    public bool HasUncommitted => _log.HasUncommitted;

    public async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (_log.Size > Math.Max(CompactFloor, 4 * _liveBytes)) await CompactAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask CompactAsync(CancellationToken cancellationToken)
    {
        long first = -1;
        _liveBytes = 0;
        foreach (var (key, value) in _map)
        {
            var address = AppendAt(OpPut, key, value, out var length);
            _liveBytes += WalLog.Footprint(length);
            if (first < 0) first = address;
        }
        await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
        // Only once the live entries are on disk may what they supersede go.
        _log.TruncateUntil(first < 0 ? _log.TailAddress : first);
        await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private int Append(string op, byte[] key, Value value)
    {
        AppendAt(op, key, value, out var length);
        return length;
    }

    private long AppendAt(string op, byte[] key, Value value, out int length)
    {
        var meta = new ValueRecord(2);
        meta.Append("op", op);
        meta.Append("key", Value.From(key));
        _buffer.ResetWrittenCount();
        var sequence = _log.NextSequence;
        EntryCodec.Write(_buffer, sequence, 0, value, Value.From(meta));
        length = _buffer.WrittenCount;
        if (length > WalLog.MaxEntryBytes) throw new KvException($"the value takes {length} bytes, more than the {WalLog.MaxEntryBytes} one entry can hold");
        return _log.Append(_buffer.WrittenSpan, sequence);
    }

    private void Set(byte[] key, Value value, int length)
    {
        if (!_map.ContainsKey(key)) _liveBytes += WalLog.Footprint(length);
        _map[key] = value;
    }

    private void Remove(byte[] key) => _map.Remove(key);

    public static string KeyText(byte[] key) => Encoding.UTF8.GetString(key);

    public void Dispose() => _log.Dispose();
}

/// <summary>A command that cannot be carried out; the message goes to the reply on <c>err</c>.</summary>
internal sealed class KvException(string message) : Exception(message);
