namespace Tremor.Connectors.Wal;

/// <summary>
/// The wal source's entries out downstream, for its acks and fails: which pull id names which entry, and where the log
/// may be truncated (before the oldest entry not acknowledged). Entries are first emitted in address order, so they
/// are kept in that order in a ring of plain structs, found by address with a binary search: no object and no byte
/// kept per entry (the bytes stay in the log; a failed entry is read again from there). Used by the runtime's source
/// calls only, one at a time.
/// </summary>
internal sealed class EmittedEntries
{
    private readonly Dictionary<ulong, long> _pullToAddress = [];
    private Record[] _ring = new Record[1024];
    private int _head;
    private int _count;

    private struct Record
    {
        public long Address;
        public bool Acked;
    }

    /// <summary>Entries emitted and not acknowledged yet (failed ones included until emitted again and acknowledged).</summary>
    public int Outstanding => _count;

    /// <summary>Entry <paramref name="address"/> went out for the first time under <paramref name="pullId"/>; addresses only grow.</summary>
    public void First(ulong pullId, long address)
    {
        if (_count == _ring.Length) Grow();
        _ring[(_head + _count) % _ring.Length] = new Record { Address = address };
        _count++;
        _pullToAddress[pullId] = address;
    }

    /// <summary>A failed entry went out again under <paramref name="pullId"/>.</summary>
    public void Again(ulong pullId, long address) => _pullToAddress[pullId] = address;

    /// <summary>
    /// Downstream acknowledged the entry emitted under <paramref name="pullId"/>; true when that moved the oldest entry
    /// not acknowledged (so the log may be truncated further).
    /// </summary>
    public bool Ack(ulong pullId)
    {
        if (!_pullToAddress.Remove(pullId, out var address)) return false;
        var index = Find(address);
        if (index < 0) return false;
        _ring[(_head + index) % _ring.Length].Acked = true;
        if (index != 0) return false;
        // Acks come in any order: what is truncated ends at the first entry still waiting for one.
        while (_count > 0 && _ring[_head].Acked)
        {
            _head = (_head + 1) % _ring.Length;
            _count--;
        }
        return true;
    }

    /// <summary>The entry emitted under <paramref name="pullId"/> failed downstream: its address, to emit it again (null when unknown).</summary>
    public long? Fail(ulong pullId) => _pullToAddress.Remove(pullId, out var address) ? address : null;

    /// <summary>Where the log may be truncated: the oldest entry not acknowledged, or <paramref name="readNext"/> when every emitted one was.</summary>
    public long TruncateBefore(long readNext) => _count > 0 ? _ring[_head].Address : readNext;

    /// <summary>Forgets everything (the log was opened again: everything not truncated is emitted again).</summary>
    public void Clear()
    {
        _pullToAddress.Clear();
        _head = 0;
        _count = 0;
    }

    /// <summary>The position of <paramref name="address"/> from the oldest entry, or -1.</summary>
    private int Find(long address)
    {
        int low = 0, high = _count - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var at = _ring[(_head + middle) % _ring.Length].Address;
            if (at == address) return middle;
            if (at < address) low = middle + 1;
            else high = middle - 1;
        }
        return -1;
    }

    private void Grow()
    {
        var bigger = new Record[_ring.Length * 2];
        for (var i = 0; i < _count; i++) bigger[i] = _ring[(_head + i) % _ring.Length];
        _ring = bigger;
        _head = 0;
    }
}
