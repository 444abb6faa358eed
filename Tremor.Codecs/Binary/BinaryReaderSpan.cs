using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>A bounds-checked big-endian cursor for the binary decoders: every read says false instead of throwing.</summary>
internal ref struct BigEndianCursor(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly int Remaining => _data.Length - Position;

    public bool TryU8(out byte value)
    {
        value = 0;
        if (Remaining < 1) return false;
        value = _data[Position++];
        return true;
    }

    public bool TryU16(out ushort value)
    {
        value = 0;
        if (Remaining < 2) return false;
        value = BinaryPrimitives.ReadUInt16BigEndian(_data[Position..]);
        Position += 2;
        return true;
    }

    public bool TryU64(out ulong value)
    {
        value = 0;
        if (Remaining < 8) return false;
        value = BinaryPrimitives.ReadUInt64BigEndian(_data[Position..]);
        Position += 8;
        return true;
    }

    public bool TryBytes(ulong length, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (length > (ulong)Remaining) return false;
        bytes = _data.Slice(Position, (int)length);
        Position += (int)length;
        return true;
    }

    /// <summary>A UTF-8 string of <paramref name="length"/> bytes; false with the reason on truncation or bad UTF-8.</summary>
    public bool TryString(string codec, ulong length, string what, out string text, out Value value, out string? error)
    {
        text = string.Empty;
        var start = Position;
        if (!TryBytes(length, out var bytes)) return TextParse.Fail(codec, start, $"truncated: {what} of {length} bytes, {Remaining} left", out value, out error);
        if (!Utf8Text.TryDecode(bytes, out text, out var bad)) return TextParse.Fail(codec, start + bad, $"invalid UTF-8 in {what} ({Utf8Text.DescribeByte(bytes, bad)})", out value, out error);
        value = default;
        error = null;
        return true;
    }
}
