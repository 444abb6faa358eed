using Tremor.Pdk;

namespace Tremor.Script.Runtime;

/// <summary>
/// One field read of a compiled path (<c>event.application</c>) with an inline cache of where the field sits in the
/// records it meets. Decoders give records of one shape one shared keys array, so after the first record of a shape
/// a read is a reference comparison and an index: no key comparisons, and no hash index built per record (a record
/// of more than a dozen fields builds one on its first lookup by key). A few shapes are remembered (each decoding
/// thread has its own keys array for a shape). The cache is replaced, never changed in place, so instances of one
/// compiled query on several threads may share it.
/// </summary>
internal sealed class FieldLookup(string name)
{
    private const int Ways = 4;
    private Entry[] _entries = [];

    public string Name { get; } = name;

    /// <summary>The field's value when <paramref name="v"/> is a record that has it.</summary>
    public bool TryGet(Value v, out Value result)
    {
        if (v.AsRecord() is { } r) return TryGet(r, out result);
        result = default;
        return false;
    }

    public bool TryGet(ValueRecord r, out Value result)
    {
        if (r.SharedKeys is not { } keys) return r.TryGetValue(Name, out result);
        var entries = _entries;
        foreach (var e in entries)
        {
            if (!ReferenceEquals(e.Keys, keys)) continue;
            result = e.Index >= 0 ? r.ValueSpan[e.Index] : default;
            return e.Index >= 0;
        }
        var index = Find(keys);
        if (!ContainsShape(entries, keys)) _entries = [new Entry(keys, index), .. entries.AsSpan(0, Math.Min(entries.Length, Ways - 1))];
        result = index >= 0 ? r.ValueSpan[index] : default;
        return index >= 0;
    }

    private int Find(string[] keys)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            if (string.Equals(keys[i], Name, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    private static bool ContainsShape(Entry[] entries, string[] keys)
    {
        foreach (var e in entries)
        {
            if (ReferenceEquals(e.Keys, keys)) return true;
        }
        return false;
    }

    // Index -1: that shape has no such field.
    private sealed record Entry(string[] Keys, int Index);
}
