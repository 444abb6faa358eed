using System.Buffers;

namespace Tremor.Codecs;

/// <summary>How one codec writes a record's key before its value (see <see cref="EncodedKeys{TFormat}"/>).</summary>
internal interface IKeyFormat
{
    /// <summary>Writes what precedes the value of key number <paramref name="index"/> of a record.</summary>
    static abstract void WriteKey(ArrayBufferWriter<byte> buffer, string key, int index);
}

/// <summary>
/// The encoded keys of a shared keys array (records of one shape, see <c>ValueRecord.SharedKeys</c>) back to back, in
/// the format <typeparamref name="TFormat"/> writes, so an encoder writes a record of a known shape's keys as copies
/// instead of transcoding each string. Built the second time an array is seen in a row of lookups, so a stream of ever
/// new shapes costs a reference compare per record and no allocation; a few per thread and format, replaced round
/// robin. <typeparamref name="TFormat"/> is a struct so each format gets its own specialised code and its own
/// per-thread cache.
/// </summary>
internal sealed class EncodedKeys<TFormat>
    where TFormat : struct, IKeyFormat
{
    private const int Entries = 4;

    [ThreadStatic]
    private static Cache? t_cache;

    private EncodedKeys(string[] keys, byte[] bytes, int[] ends)
    {
        Keys = keys;
        Bytes = bytes;
        Ends = ends;
    }

    /// <summary>The shared keys array these bytes encode.</summary>
    public string[] Keys { get; }

    /// <summary>Every key's encoding, back to back.</summary>
    public byte[] Bytes { get; }

    /// <summary>Where each key's encoding ends in <see cref="Bytes"/> (the next one starts there).</summary>
    public int[] Ends { get; }

    /// <summary>The encoded keys of <paramref name="keys"/>, or null while it is not worth building them yet.</summary>
    public static EncodedKeys<TFormat>? For(string[] keys)
    {
        var cache = t_cache ??= new Cache();
        foreach (var entry in cache.Entries)
        {
            if (entry is not null && ReferenceEquals(entry.Keys, keys)) return entry;
        }
        if (!ReferenceEquals(cache.Candidate, keys))
        {
            cache.Candidate = keys;
            return null;
        }
        var built = Build(keys);
        cache.Entries[cache.Next] = built;
        cache.Next = (cache.Next + 1) % Entries;
        cache.Candidate = null;
        return built;
    }

    private static EncodedKeys<TFormat> Build(string[] keys)
    {
        var buffer = new ArrayBufferWriter<byte>(keys.Length * 16);
        var ends = new int[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            TFormat.WriteKey(buffer, keys[i], i);
            ends[i] = buffer.WrittenCount;
        }
        return new EncodedKeys<TFormat>(keys, buffer.WrittenSpan.ToArray(), ends);
    }

    private sealed class Cache
    {
        public readonly EncodedKeys<TFormat>?[] Entries = new EncodedKeys<TFormat>?[EncodedKeys<TFormat>.Entries];
        public string[]? Candidate;
        public int Next;
    }
}
