using System.Buffers.Binary;

namespace Tremor.Script.Runtime;

/// <summary>What a part of a binary literal or bit pattern holds.</summary>
internal enum BitsKind
{
    Unsigned,
    Signed,
    Binary,
}

/// <summary>The type of one part: <c>/little-signed-integer</c> and the like.</summary>
internal readonly record struct BitsType(BitsKind Kind, bool Little)
{
    /// <summary>
    /// Tremor's type words, in Tremor's order, joined by <c>-</c> or <c>_</c>: binary; (big-)(unsigned-)integer, big,
    /// unsigned, little(-unsigned)(-integer) for unsigned; (big-)signed-integer, little-signed-integer for signed.
    /// </summary>
    public static BitsType? Parse(string type) => string.Join('-', type.Split(['-', '_'], StringSplitOptions.RemoveEmptyEntries)) switch
    {
        "binary" => new BitsType(BitsKind.Binary, false),
        "" or "integer" or "big" or "unsigned" or "unsigned-integer" or "big-integer" or "big-unsigned-integer" => new BitsType(BitsKind.Unsigned, false),
        "signed-integer" or "big-signed-integer" => new BitsType(BitsKind.Signed, false),
        "little" or "little-integer" or "little-unsigned-integer" => new BitsType(BitsKind.Unsigned, true),
        "little-signed-integer" => new BitsType(BitsKind.Signed, true),
        _ => null,
    };

    public const string Valid = "binary, integer, big, unsigned, unsigned-integer, big-integer, big-unsigned-integer, signed-integer, big-signed-integer, little, little-integer, little-unsigned-integer, little-signed-integer";
}

/// <summary>
/// Tremor's bit layout for binaries: parts are written most significant bit first, one after the other with no
/// padding; a last byte that is not full keeps its bits in its low end (<c>&lt;&lt;1:4&gt;&gt;</c> is <c>[1]</c>,
/// <c>&lt;&lt;1:4, 1:4&gt;&gt;</c> is <c>[17]</c>). A little-endian part has its bytes swapped as Tremor swaps them
/// before it is written.
/// </summary>
internal sealed class BitWriter
{
    private readonly List<byte> _bytes = [];
    private ulong _buffer;
    private int _pending;

    public void Write(ulong value, int bits, bool little)
    {
        if (little) value = ToTremorLittle(value, bits);
        if (bits < 64) value &= (1UL << bits) - 1;
        for (var i = bits - 1; i >= 0; i--)
        {
            _buffer = (_buffer << 1) | ((value >> i) & 1);
            if (++_pending == 8)
            {
                _bytes.Add((byte)_buffer);
                _buffer = 0;
                _pending = 0;
            }
        }
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        if (_pending == 0)
        {
            _bytes.AddRange(bytes);
            return;
        }
        foreach (var b in bytes) Write(b, 8, false);
    }

    public byte[] ToArray()
    {
        if (_pending > 0) _bytes.Add((byte)_buffer);
        _pending = 0;
        _buffer = 0;
        return [.. _bytes];
    }

    /// <summary>The value Tremor writes for a little-endian part of <paramref name="bits"/> bits (its bytes swapped).</summary>
    public static ulong ToTremorLittle(ulong v, int bits) => bits switch
    {
        <= 8 => v,
        <= 16 => BinaryPrimitives.ReverseEndianness((ushort)v),
        <= 24 => BinaryPrimitives.ReverseEndianness((uint)v) >> 8,
        <= 32 => BinaryPrimitives.ReverseEndianness((uint)v),
        <= 40 => BinaryPrimitives.ReverseEndianness(v) >> 24,
        <= 48 => BinaryPrimitives.ReverseEndianness(v) >> 16,
        <= 56 => BinaryPrimitives.ReverseEndianness(v) >> 8,
        _ => BinaryPrimitives.ReverseEndianness(v),
    };
}

/// <summary>Reads a binary back in the layout <see cref="BitWriter"/> writes, for bit patterns.</summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _bytes;
    private readonly long _totalBits;
    private long _position;

    /// <summary>A reader over the first <paramref name="totalBits"/> bits (the last byte, when not full, holds them low).</summary>
    public BitReader(ReadOnlySpan<byte> bytes, long totalBits)
    {
        _bytes = bytes;
        _totalBits = totalBits;
        _position = 0;
    }

    public long Position => _position;

    public ulong Read(int bits, bool little)
    {
        ulong value = 0;
        for (var i = 0; i < bits; i++) value = (value << 1) | Bit(_position++);
        // Whole-byte little-endian parts swap back; a swap of a shorter part is its own inverse only at byte sizes.
        return little ? FromTremorLittle(value, bits) : value;
    }

    private readonly ulong Bit(long index)
    {
        var byteIndex = (int)(index / 8);
        var fullBytes = _totalBits / 8;
        var b = _bytes[byteIndex];
        if (byteIndex < fullBytes) return (ulong)(b >> (7 - (int)(index % 8))) & 1;
        // The trailing partial byte keeps its bits low.
        var width = (int)(_totalBits % 8);
        return (ulong)(b >> (width - 1 - (int)(index % 8))) & 1;
    }

    private static ulong FromTremorLittle(ulong v, int bits) => bits switch
    {
        <= 8 => v,
        16 => BinaryPrimitives.ReverseEndianness((ushort)v),
        24 => BinaryPrimitives.ReverseEndianness((uint)v << 8),
        32 => BinaryPrimitives.ReverseEndianness((uint)v),
        40 => BinaryPrimitives.ReverseEndianness(v << 24),
        48 => BinaryPrimitives.ReverseEndianness(v << 16),
        56 => BinaryPrimitives.ReverseEndianness(v << 8),
        _ => BinaryPrimitives.ReverseEndianness(v),
    };
}
