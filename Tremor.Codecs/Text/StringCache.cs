using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tremor.Codecs;

/// <summary>
/// A small, bounded, per-thread cache from the UTF-8 bytes of a short string to the string, so decoders do not
/// allocate the same record keys and short values ("info", "tag1", host names) for every event. Direct-mapped over
/// fixed arrays: a miss overwrites the slot in place (copying the bytes into the slot's own region), so the cache never
/// grows and a stream of distinct strings costs a hash, a compare and a copy per string, not an allocation. Strings are
/// immutable, so events sharing them is safe.
/// </summary>
internal sealed class StringCache
{
    /// <summary>Keys longer than this are not cached (they are rarely repeated field names).</summary>
    public const int MaxKeyLength = 64;

    /// <summary>String values longer than this are not cached (long texts are rarely repeated).</summary>
    public const int MaxValueLength = 32;

    /// <summary>Slots per cache; also the most strings one cache ever holds.</summary>
    public const int Slots = 1 << SlotBits;

    private const int SlotBits = 10;

    [ThreadStatic]
    private static StringCache? t_keys;

    [ThreadStatic]
    private static StringCache? t_values;

    private readonly int _maxLength;
    private readonly byte[] _bytes;
    private readonly int[] _lengths = new int[Slots];
    private readonly int[] _hashes = new int[Slots];
    private readonly string?[] _strings = new string?[Slots];

    private StringCache(int maxLength)
    {
        _maxLength = maxLength;
        _bytes = new byte[Slots * maxLength];
    }

    /// <summary>The calling thread's cache of record keys.</summary>
    public static StringCache Keys => t_keys ??= new StringCache(MaxKeyLength);

    /// <summary>The calling thread's cache of short string values.</summary>
    public static StringCache Values => t_values ??= new StringCache(MaxValueLength);

    /// <summary>How many strings the cache holds (at most <see cref="Slots"/>).</summary>
    public int Count
    {
        get
        {
            var n = 0;
            foreach (var s in _strings) n += s is null ? 0 : 1;
            return n;
        }
    }

    /// <summary>
    /// The string for <paramref name="utf8"/> and its <see cref="string.GetHashCode()"/>; false when the bytes are not
    /// valid UTF-8 (<paramref name="invalidOffset"/> says where).
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string text, out int textHash, out int invalidOffset)
    {
        if (utf8.Length > _maxLength)
        {
            invalidOffset = -1;
            if (!Utf8Text.TryDecode(utf8, out text, out invalidOffset))
            {
                textHash = 0;
                return false;
            }
            textHash = text.GetHashCode();
            return true;
        }
        var slot = Lookup(utf8);
        if (slot < 0)
        {
            slot = ~slot;
            if (!Insert(slot, utf8, out invalidOffset))
            {
                text = string.Empty;
                textHash = 0;
                return false;
            }
            _hashes[slot] = _strings[slot]!.GetHashCode();
        }
        invalidOffset = -1;
        text = _strings[slot]!;
        textHash = _hashes[slot];
        return true;
    }

    /// <summary>The string for <paramref name="utf8"/>; false when the bytes are not valid UTF-8 (<paramref name="invalidOffset"/> says where).</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string text, out int invalidOffset)
    {
        if (utf8.Length > _maxLength) return Utf8Text.TryDecode(utf8, out text, out invalidOffset);
        var slot = Lookup(utf8);
        if (slot < 0)
        {
            slot = ~slot;
            if (!Insert(slot, utf8, out invalidOffset))
            {
                text = string.Empty;
                return false;
            }
        }
        invalidOffset = -1;
        text = _strings[slot]!;
        return true;
    }

    /// <summary>The slot holding <paramref name="utf8"/>, or the complement of the slot it belongs in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Lookup(ReadOnlySpan<byte> utf8)
    {
        var slot = (int)(Hash(utf8) >> (64 - SlotBits));
        return _strings[slot] is not null && _lengths[slot] == utf8.Length && utf8.SequenceEqual(_bytes.AsSpan(slot * _maxLength, utf8.Length))
            ? slot
            : ~slot;
    }

    private bool Insert(int slot, ReadOnlySpan<byte> utf8, out int invalidOffset)
    {
        // Only valid UTF-8 is cached, so a hit needs no validation.
        if (!Utf8Text.TryDecode(utf8, out var text, out invalidOffset)) return false;
        utf8.CopyTo(_bytes.AsSpan(slot * _maxLength));
        _lengths[slot] = utf8.Length;
        _strings[slot] = text;
        return true;
    }

    /// <summary>
    /// A cheap hash of a short string: its length and its first and last 8 (or 4) bytes. Strings that differ only in
    /// the middle share a slot and evict each other, which costs a miss, never a wrong answer (hits compare all bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        const ulong Prime = 0x9E3779B97F4A7C15;
        ulong head, tail;
        if (bytes.Length >= 8)
        {
            head = MemoryMarshal.Read<ulong>(bytes);
            tail = MemoryMarshal.Read<ulong>(bytes[^8..]);
        }
        else if (bytes.Length >= 4)
        {
            head = MemoryMarshal.Read<uint>(bytes);
            tail = MemoryMarshal.Read<uint>(bytes[^4..]);
        }
        else
        {
            head = bytes.IsEmpty ? 0 : bytes[0] | (ulong)bytes[bytes.Length / 2] << 8 | (ulong)bytes[^1] << 16;
            tail = 0;
        }
        // Two independent multiplies (not a chain of dependent ones: this sits on every key and short value); the
        // slot is taken from the well-mixed high bits.
        return ((head + (ulong)bytes.Length) * Prime) ^ (tail * 0xC2B2AE3D27D4EB4F);
    }
}
