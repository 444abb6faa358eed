using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>
/// The values of entries the sink side appended, kept for the source side so it emits them without reading and
/// decoding the bytes again (a sink may keep the values of its events: see <see cref="ISink.OnBatchAsync"/>). Entries
/// are kept in log order and taken by address: the source takes the head when it is the entry it emits next. Bounded
/// by the bytes of the entries held: beyond it the sink keeps nothing, and the source reads that stretch from the log
/// as it reads everything after a restart. Used by the runtime's calls only, one at a time.
/// </summary>
internal sealed class Handoff(long maxBytes)
{
    /// <summary>Entry bytes held at most: a few batches of the default size, so a slow downstream costs little memory.</summary>
    public const long DefaultMaxBytes = 4L << 20;

    private readonly Queue<Entry> _entries = new();
    private long _bytes;

    /// <summary>One appended entry: where it starts and where the next one starts, its values and ingest time.</summary>
    public readonly record struct Entry(long Address, long Next, Value Data, Value Meta, ulong IngestNs, int Bytes);

    /// <summary>Entries held.</summary>
    public int Count => _entries.Count;

    /// <summary>Keeps an entry; false (and nothing kept) when the bound is reached.</summary>
    public bool TryAdd(in Entry entry)
    {
        if (_bytes + entry.Bytes > maxBytes && _entries.Count > 0) return false;
        _entries.Enqueue(entry);
        _bytes += entry.Bytes;
        return true;
    }

    /// <summary>
    /// Takes the entry at <paramref name="address"/> when it is the oldest held; entries before it (already read from
    /// the log) are dropped. False when the next entry held starts later (or none is held): read the log.
    /// </summary>
    public bool TryTake(long address, out Entry entry)
    {
        while (_entries.TryPeek(out entry))
        {
            if (entry.Address > address) return false;
            _entries.Dequeue();
            _bytes -= entry.Bytes;
            if (entry.Address == address) return true;
        }
        entry = default;
        return false;
    }

    /// <summary>Forgets everything (the log was opened again; its entries are read from it).</summary>
    public void Clear()
    {
        _entries.Clear();
        _bytes = 0;
    }
}
