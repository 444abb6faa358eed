namespace Tremor.Codecs;

/// <summary>
/// One keys array per record shape (the same keys in the same order), shared by every record of that shape:
/// records of a stream mostly repeat one or a few shapes, so this saves a keys array per record, and encoders that
/// cache what they derive from a shared keys array (pre-encoded keys) hit that cache. Direct-mapped and bounded; keys
/// from <see cref="StringCache"/> are the same instances each time, so matching compares references. One per decoder
/// thread (the json and msgpack decoders each keep theirs in their per-thread scratch).
/// </summary>
internal sealed class ShapeCache
{
    private const int Slots = 64;
    private const int PairwiseLimit = 32;
    private readonly string[]?[] _shapes = new string[]?[Slots];

    /// <summary>Mixes one key's hash into a shape hash (start from 0).</summary>
    public static uint Mix(uint shape, int keyHash) => (shape ^ (uint)keyHash) * 0x9E3779B1;

    /// <summary>The cached keys array equal to <paramref name="keys"/> (same instances, same order), if any.</summary>
    public bool TryGet(ReadOnlySpan<string> keys, uint shape, out string[] cached)
    {
        cached = _shapes[Slot(keys, shape)]!;
        if (cached is null || cached.Length != keys.Length) return false;
        for (var i = 0; i < keys.Length; i++)
        {
            if (!ReferenceEquals(cached[i], keys[i])) return false;
        }
        return true;
    }

    /// <summary>Caches a copy of <paramref name="keys"/> (which must hold no key twice) in place of its slot's shape.</summary>
    public string[] Add(ReadOnlySpan<string> keys, uint shape)
    {
        var fresh = keys.ToArray();
        _shapes[Slot(keys, shape)] = fresh;
        return fresh;
    }

    /// <summary>
    /// Whether a record really has a key twice, once its 64-bit filter said it might: the filter is wrong for most
    /// records of a dozen keys or more, and the pairwise check on full hashes is much cheaper than setting every field
    /// by lookup.
    /// </summary>
    public static bool HasDuplicate(ReadOnlySpan<string> keys, ReadOnlySpan<int> hashes)
    {
        if (keys.Length > PairwiseLimit)
        {
            // Pairwise is quadratic: a record with very many keys (hostile input) would stall the decoder.
            var seen = new HashSet<string>(keys.Length, StringComparer.Ordinal);
            foreach (var key in keys)
            {
                if (!seen.Add(key)) return true;
            }
            return false;
        }
        for (var i = 1; i < hashes.Length; i++)
        {
            var h = hashes[i];
            for (var j = 0; j < i; j++)
            {
                if (hashes[j] == h && string.Equals(keys[i], keys[j], StringComparison.Ordinal)) return true;
            }
        }
        return false;
    }

    private static int Slot(ReadOnlySpan<string> keys, uint shape) => (int)((shape ^ (uint)keys.Length) & (Slots - 1));
}
