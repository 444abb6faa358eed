using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tremor.Benchmarks.Baseline;

/// <summary>
/// A small, bounded, per-thread cache from the UTF-8 bytes of a record key to its string, so decoders do not allocate the
/// same few key strings for every event. Direct-mapped: a miss replaces the slot, so a stream with many distinct keys
/// costs one hash and compare more per key and never grows memory. Strings are immutable, so sharing them is safe.
/// </summary>
internal sealed class KeyCache
{
    /// <summary>Keys longer than this are not cached (they are rarely repeated field names).</summary>
    public const int MaxKeyLength = 64;

    private const int Slots = 1024;

    [ThreadStatic]
    private static KeyCache? t_current;

    private readonly Entry?[] _entries = new Entry?[Slots];

    /// <summary>The calling thread's cache.</summary>
    public static KeyCache Current => t_current ??= new KeyCache();

    /// <summary>
    /// The string for <paramref name="utf8"/> and its <see cref="string.GetHashCode()"/>; false when the bytes are not
    /// valid UTF-8 (<paramref name="invalidOffset"/> says where).
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string key, out int keyHash, out int invalidOffset)
    {
        invalidOffset = -1;
        if (utf8.Length > MaxKeyLength)
        {
            if (!Utf8Text.TryDecode(utf8, out key, out invalidOffset))
            {
                keyHash = 0;
                return false;
            }
            keyHash = key.GetHashCode();
            return true;
        }
        var slot = (int)(Hash(utf8) & (Slots - 1));
        var entry = _entries[slot];
        if (entry is not null && utf8.SequenceEqual(entry.Utf8))
        {
            key = entry.Text;
            keyHash = entry.TextHash;
            return true;
        }
        if (!Utf8Text.TryDecode(utf8, out key, out invalidOffset))
        {
            keyHash = 0;
            return false;
        }
        keyHash = key.GetHashCode();
        _entries[slot] = new Entry(utf8.ToArray(), key, keyHash);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        const ulong Prime = 0x9E3779B97F4A7C15;
        var h = (ulong)bytes.Length * Prime;
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            h = (h ^ MemoryMarshal.Read<ulong>(bytes[i..])) * Prime;
            h ^= h >> 29;
        }
        ulong tail = 0;
        for (var shift = 0; i < bytes.Length; i++, shift += 8)
        {
            tail |= (ulong)bytes[i] << shift;
        }
        h = (h ^ tail) * Prime;
        return h ^ (h >> 32);
    }

    private sealed record Entry(byte[] Utf8, string Text, int TextHash);
}
