using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>msgpack</c> codec: one MessagePack value per event, read straight from the input span and written straight
/// into the output (each value in its smallest form, as MessagePack's own writer chooses it). bin ↔ bytes; str must be UTF-8; a map key that
/// is not a string becomes the key's JSON text; extension types are refused with their type code and offset.
/// Maps of one shape share one keys array (see <see cref="ShapeCache"/>) and strings over 64 bytes stay UTF-8, as in
/// the json codec. Safe to share between threads (its scratch space is per thread).
/// </summary>
public sealed class MsgpackCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "msgpack";

    /// <summary>Deepest nesting of arrays and maps accepted.</summary>
    public const int MaxDepth = 1024;

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error) =>
        TryDecode(data, false, out value, out error);

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, bool immutable, out Value value, out string? error)
    {
        var scratch = t_scratch ??= new Scratch();
        // Long strings keep slices of input that never changes; the scratch forgets it after the call.
        scratch.Kept = immutable ? data : default;
        try
        {
            return TryDecode(data.Span, scratch, out value, out error);
        }
        finally
        {
            scratch.Kept = default;
        }
    }

    private static bool TryDecode(ReadOnlySpan<byte> span, Scratch scratch, out Value value, out string? error)
    {
        if (span.IsEmpty)
        {
            value = default;
            error = "invalid msgpack at byte 0: the input is empty (expected a value)";
            return false;
        }
        var position = 0;
        // The per-thread scratch (and the string caches it holds) is looked up once per value, not per map or string:
        // a thread-static read is a call into the runtime.
        if (!TryRead(span, ref position, 0, scratch, out value, out error))
        {
            scratch.Reset();
            value = default;
            return false;
        }
        if (position != span.Length)
        {
            value = default;
            error = $"invalid msgpack at byte {position}: {span.Length - position} trailing bytes after the value";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Reads one value at <paramref name="position"/> straight from the span (MessagePack's own reader works on a
    /// sequence: a call or two per byte read, the largest share of a decode). Every length is checked against the bytes
    /// left before it is used, so a header that claims more than the input holds is an error, never an allocation.
    /// </summary>
    private static bool TryRead(ReadOnlySpan<byte> data, ref int position, int depth, Scratch scratch, out Value value, out string? error)
    {
        var offset = position;
        if (offset >= data.Length) return Truncated(data, offset, out value, out error);
        var code = data[position++];
        error = null;
        switch (code)
        {
            case <= 0x7f:
                value = Value.From((long)code);
                return true;
            case >= 0xe0:
                value = Value.From((long)(sbyte)code);
                return true;
            case >= 0xa0 and <= 0xbf:
                return TryReadString(data, ref position, offset, code & 0x1f, scratch, out value, out error);
            case >= 0x90 and <= 0x9f:
                return TryReadArray(data, ref position, offset, code & 0x0f, depth, scratch, out value, out error);
            case >= 0x80 and <= 0x8f:
                return TryReadMap(data, ref position, offset, code & 0x0f, depth, scratch, out value, out error);
            case 0xc0:
                value = Value.Null;
                return true;
            case 0xc2:
                value = Value.False;
                return true;
            case 0xc3:
                value = Value.True;
                return true;
            case 0xc4 or 0xc5 or 0xc6:
                {
                    if (!TryReadLength(data, ref position, 1 << (code - 0xc4), out var length) || length > data.Length - position)
                    {
                        return Truncated(data, offset, out value, out error);
                    }
                    value = Value.From(data.Slice(position, length).ToArray());
                    position += length;
                    return true;
                }
            case 0xca or 0xcb or (>= 0xcc and <= 0xcf) or (>= 0xd0 and <= 0xd3):
                {
                    var size = code switch
                    {
                        0xca => 4,
                        0xcb => 8,
                        >= 0xcc and <= 0xcf => 1 << (code - 0xcc),
                        _ => 1 << (code - 0xd0),
                    };
                    if (size > data.Length - position) return Truncated(data, offset, out value, out error);
                    var bytes = data.Slice(position, size);
                    position += size;
                    value = code switch
                    {
                        0xca => Value.From((double)BinaryPrimitives.ReadSingleBigEndian(bytes)),
                        0xcb => Value.From(BinaryPrimitives.ReadDoubleBigEndian(bytes)),
                        0xcc => Value.From((long)bytes[0]),
                        0xcd => Value.From((long)BinaryPrimitives.ReadUInt16BigEndian(bytes)),
                        0xce => Value.From((long)BinaryPrimitives.ReadUInt32BigEndian(bytes)),
                        0xcf => Value.From(BinaryPrimitives.ReadUInt64BigEndian(bytes)),
                        0xd0 => Value.From((long)(sbyte)bytes[0]),
                        0xd1 => Value.From((long)BinaryPrimitives.ReadInt16BigEndian(bytes)),
                        0xd2 => Value.From((long)BinaryPrimitives.ReadInt32BigEndian(bytes)),
                        _ => Value.From(BinaryPrimitives.ReadInt64BigEndian(bytes)),
                    };
                    return true;
                }
            case 0xd9 or 0xda or 0xdb:
                {
                    if (!TryReadLength(data, ref position, 1 << (code - 0xd9), out var length)) return Truncated(data, offset, out value, out error);
                    return TryReadString(data, ref position, offset, length, scratch, out value, out error);
                }
            case 0xdc or 0xdd:
                {
                    if (!TryReadLength(data, ref position, code == 0xdc ? 2 : 4, out var count)) return Truncated(data, offset, out value, out error);
                    return TryReadArray(data, ref position, offset, count, depth, scratch, out value, out error);
                }
            case 0xde or 0xdf:
                {
                    if (!TryReadLength(data, ref position, code == 0xde ? 2 : 4, out var count)) return Truncated(data, offset, out value, out error);
                    return TryReadMap(data, ref position, offset, count, depth, scratch, out value, out error);
                }
            case (>= 0xc7 and <= 0xc9) or (>= 0xd4 and <= 0xd8):
                {
                    // ext 8/16/32 carry a length, fixext 1/2/4/8/16 imply one; the type code follows either way.
                    int length;
                    if (code >= 0xd4)
                    {
                        length = 1 << (code - 0xd4);
                    }
                    else if (!TryReadLength(data, ref position, 1 << (code - 0xc7), out length))
                    {
                        return Truncated(data, offset, out value, out error);
                    }
                    if (position >= data.Length) return Truncated(data, offset, out value, out error);
                    value = default;
                    error = $"invalid msgpack at byte {offset}: extension type {(sbyte)data[position]} ({length} bytes) is not supported";
                    return false;
                }
            default:
                value = default;
                error = $"invalid msgpack at byte {offset}: 0x{code:x2} is not a valid type code";
                return false;
        }
    }

    /// <summary>A big-endian length of <paramref name="size"/> bytes (1, 2 or 4); false when the input ends first.</summary>
    private static bool TryReadLength(ReadOnlySpan<byte> data, ref int position, int size, out int length)
    {
        if (size > data.Length - position)
        {
            length = 0;
            return false;
        }
        var bytes = data.Slice(position, size);
        var raw = size switch
        {
            1 => bytes[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            _ => BinaryPrimitives.ReadUInt32BigEndian(bytes),
        };
        position += size;
        // A 32-bit length past int.MaxValue cannot fit in any input this reads: it is treated as truncated input.
        length = raw > int.MaxValue ? int.MaxValue : (int)raw;
        return true;
    }

    private static bool TryReadArray(ReadOnlySpan<byte> data, ref int position, int offset, int count, int depth, Scratch scratch, out Value value, out string? error)
    {
        if (depth >= MaxDepth) return TooDeep(offset, out value, out error);
        // Every element takes at least one byte.
        if (count > data.Length - position) return TooMany(data, position, offset, "an array", count, out value, out error);
        var list = new List<Value>(count);
        CollectionsMarshal.SetCount(list, count);
        var items = CollectionsMarshal.AsSpan(list);
        for (var i = 0; i < count; i++)
        {
            if (!TryRead(data, ref position, depth + 1, scratch, out items[i], out error))
            {
                value = default;
                return false;
            }
        }
        value = Value.From(list);
        error = null;
        return true;
    }

    private static bool TryReadMap(ReadOnlySpan<byte> data, ref int position, int offset, int count, int depth, Scratch scratch, out Value value, out string? error)
    {
        if (depth >= MaxDepth) return TooDeep(offset, out value, out error);
        error = null;
        if (count == 0)
        {
            value = Value.From(new ValueRecord());
            return true;
        }
        // Every field takes at least two bytes (a key and a value).
        if (count > (data.Length - position) / 2) return TooMany(data, position, offset, "a map", count, out value, out error);
        // The keys go on the per-thread scratch stack (a nested map pushes its keys above them) and the values straight
        // into the record's own array: a record of a shape seen before then shares that shape's keys array, which saves
        // an array per record and lets the encoder reuse its encoded keys.
        var start = scratch.Push(count);
        var values = new Value[count];
        var keys = scratch.KeyCache;
        ulong keyFilter = 0;
        var maybeDuplicate = false;
        uint shape = 0;
        for (var i = 0; i < count; i++)
        {
            string key;
            int keyHash;
            var keyOffset = position;
            if (keyOffset >= data.Length) return Truncated(data, keyOffset, out value, out error);
            var keyCode = data[position];
            if (keyCode is >= 0xa0 and <= 0xbf)
            {
                position++;
                if (!TryReadKey(data, ref position, keyOffset, keyCode & 0x1f, keys, out key, out keyHash, out error))
                {
                    value = default;
                    return false;
                }
            }
            else if (keyCode is >= 0xd9 and <= 0xdb)
            {
                position++;
                if (!TryReadLength(data, ref position, 1 << (keyCode - 0xd9), out var length))
                {
                    return Truncated(data, keyOffset, out value, out error);
                }
                if (!TryReadKey(data, ref position, keyOffset, length, keys, out key, out keyHash, out error))
                {
                    value = default;
                    return false;
                }
            }
            else
            {
                if (!TryRead(data, ref position, depth + 1, scratch, out var keyValue, out error))
                {
                    value = default;
                    return false;
                }
                key = JsonEncoder.ToJsonString(keyValue);
                keyHash = key.GetHashCode();
            }
            scratch.Keys[start + i] = key;
            scratch.Hashes[start + i] = keyHash;
            var bit = 1UL << (keyHash & 63);
            maybeDuplicate |= (keyFilter & bit) != 0;
            keyFilter |= bit;
            shape = ShapeCache.Mix(shape, keyHash);
            if (!TryRead(data, ref position, depth + 1, scratch, out values[i], out error))
            {
                value = default;
                return false;
            }
        }
        var fieldKeys = scratch.Keys.AsSpan(start, count);
        ValueRecord record;
        if (scratch.Shapes.TryGet(fieldKeys, shape, out var knownShape))
        {
            // A cached shape was checked for duplicates when it was added.
            record = new ValueRecord(knownShape, values, sharedKeys: true);
        }
        else if (maybeDuplicate && ShapeCache.HasDuplicate(fieldKeys, scratch.Hashes.AsSpan(start, count)))
        {
            record = new ValueRecord(count);
            for (var i = 0; i < count; i++) record.Set(fieldKeys[i], values[i]);
        }
        else
        {
            record = new ValueRecord(scratch.Shapes.Add(fieldKeys, shape), values, sharedKeys: true);
        }
        scratch.Pop(start, count);
        value = Value.From(record);
        return true;
    }

    private static bool TryReadKey(ReadOnlySpan<byte> data, ref int position, int offset, int length, StringCache keys, out string key, out int keyHash, out string? error)
    {
        if (length > data.Length - position)
        {
            key = "";
            keyHash = 0;
            error = $"invalid msgpack at byte {offset} of {data.Length}: the input is truncated";
            return false;
        }
        var utf8 = data.Slice(position, length);
        if (!keys.TryGet(utf8, out key, out keyHash, out var bad))
        {
            error = $"invalid UTF-8 in a msgpack string at byte {position + bad} ({Utf8Text.DescribeByte(utf8, bad)})";
            return false;
        }
        position += length;
        error = null;
        return true;
    }

    private static bool TryReadString(ReadOnlySpan<byte> data, ref int position, int offset, int length, Scratch scratch, out Value value, out string? error)
    {
        if (length > data.Length - position) return Truncated(data, offset, out value, out error);
        var utf8 = data.Slice(position, length);
        int bad;
        var kept = scratch.Kept;
        if (length > (kept.IsEmpty ? JsonDecoder.KeepUtf8Above : JsonDecoder.KeepInPlaceAbove))
        {
            // As the json decoder does: long texts stay UTF-8 (half the memory of a string for ASCII, and encoding
            // them again is a copy, not a transcode), where they lie when the input never changes.
            if (Value.TryFromUtf8(kept.IsEmpty ? utf8.ToArray() : kept.Slice(position, length), out value))
            {
                position += length;
                error = null;
                return true;
            }
            bad = Utf8Text.FindInvalid(utf8);
        }
        else if (scratch.ValueCache.TryGet(utf8, out var text, out bad))
        {
            value = Value.From(text);
            position += length;
            error = null;
            return true;
        }
        value = default;
        error = $"invalid UTF-8 in a msgpack string at byte {position + bad} ({Utf8Text.DescribeByte(utf8, bad)})";
        return false;
    }

    private static bool Truncated(ReadOnlySpan<byte> data, int offset, out Value value, out string? error)
    {
        value = default;
        error = $"invalid msgpack at byte {offset} of {data.Length}: the input is truncated";
        return false;
    }

    private static bool TooMany(ReadOnlySpan<byte> data, int position, int offset, string what, int count, out Value value, out string? error)
    {
        value = default;
        error = $"invalid msgpack at byte {offset} of {data.Length}: {what} of {count} entries cannot fit in the {data.Length - position} bytes left (truncated or corrupt input)";
        return false;
    }

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>The keys of the maps being read (outer maps below inner ones), this thread's record shapes and string caches.</summary>
    private sealed class Scratch
    {
        public readonly StringCache KeyCache = StringCache.Keys;
        public readonly StringCache ValueCache = StringCache.Values;

        /// <summary>During a decode of input that never changes: that input (the span decoded is its <c>Span</c>), else empty.</summary>
        public ReadOnlyMemory<byte> Kept;

        public string[] Keys = new string[64];
        public int[] Hashes = new int[64];
        public readonly ShapeCache Shapes = new();
        private int _used;

        /// <summary>Claims <paramref name="count"/> slots above the ones in use; returns the first.</summary>
        public int Push(int count)
        {
            var start = _used;
            _used += count;
            if (_used > Keys.Length)
            {
                var size = Math.Max(Keys.Length * 2, _used);
                Array.Resize(ref Keys, size);
                Array.Resize(ref Hashes, size);
            }
            return start;
        }

        public void Pop(int start, int count)
        {
            Keys.AsSpan(start, count).Clear();
            _used = start;
        }

        /// <summary>After a failed decode: nothing is in use, and no key of the bad input is kept alive.</summary>
        public void Reset()
        {
            Keys.AsSpan(0, Math.Min(_used, Keys.Length)).Clear();
            _used = 0;
        }
    }

    private static bool TooDeep(int offset, out Value value, out string? error)
    {
        value = default;
        error = $"invalid msgpack at byte {offset}: nesting deeper than {MaxDepth} arrays/maps";
        return false;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        // Our own cursor over the output rather than MessagePack's writer: that one asks its buffer for a span on
        // every token and transcodes every string with a byte count first, the largest share of an encode.
        var writer = new Utf8Output(output);
        Write(ref writer, value);
        writer.Flush();
    }

    private static void Write(ref Utf8Output writer, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                writer.WriteByte(0xc0);
                break;
            case ValueKind.Bool:
                writer.WriteByte(value.AsBool() ? (byte)0xc3 : (byte)0xc2);
                break;
            case ValueKind.I64:
                WriteInteger(ref writer, value.RawI64);
                break;
            case ValueKind.U64:
                WriteUnsigned(ref writer, unchecked((ulong)value.RawI64));
                break;
            case ValueKind.F64:
                {
                    var span = writer.Reserve(9);
                    span[0] = 0xcb;
                    BinaryPrimitives.WriteDoubleBigEndian(span[1..], value.RawF64);
                    writer.Advance(9);
                    break;
                }
            case ValueKind.String:
                if (value.TryGetUtf8(out var utf8))
                {
                    WriteHeader(ref writer, utf8.Length, 0xa0, 31, 0xd9);
                    writer.Write(utf8);
                }
                else
                {
                    WriteString(ref writer, value.AsString()!);
                }
                break;
            case ValueKind.Bytes:
                {
                    var bytes = value.AsBytes()!;
                    // bin has no fix form: bin 8, 16 or 32.
                    WriteHeader(ref writer, bytes.Length, 0, -1, 0xc4);
                    writer.Write(bytes);
                    break;
                }
            case ValueKind.Array:
                {
                    var items = CollectionsMarshal.AsSpan(value.AsArray());
                    WriteHeader(ref writer, items.Length, 0x90, 15, 0xdc);
                    for (var i = 0; i < items.Length; i++) Write(ref writer, items[i]);
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    var values = record.ValueSpan;
                    WriteHeader(ref writer, values.Length, 0x80, 15, 0xde);
                    if (record.SharedKeys is { } shared && EncodedKeys<MsgpackKeys>.For(shared) is { } encoded)
                    {
                        var bytes = encoded.Bytes;
                        var ends = encoded.Ends;
                        var start = 0;
                        for (var i = 0; i < values.Length; i++)
                        {
                            writer.Write(bytes.AsSpan(start, ends[i] - start));
                            start = ends[i];
                            Write(ref writer, values[i]);
                        }
                        break;
                    }
                    var keys = record.KeySpan;
                    for (var i = 0; i < keys.Length; i++)
                    {
                        WriteString(ref writer, keys[i]);
                        Write(ref writer, values[i]);
                    }
                    break;
                }
        }
    }

    /// <summary>
    /// A length or count header: the fix form (<paramref name="fixCode"/> | n, up to <paramref name="fixMax"/>), else
    /// the 8-bit form (<paramref name="code"/>; only for str and bin), 16-bit and 32-bit forms that follow it. Arrays and
    /// maps have no 8-bit form: their <paramref name="code"/> is the 16-bit one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHeader(ref Utf8Output writer, int length, byte fixCode, int fixMax, byte code)
    {
        if (length <= fixMax)
        {
            writer.WriteByte((byte)(fixCode | length));
            return;
        }
        WriteLongHeader(ref writer, length, code, hasEightBit: code is 0xd9 or 0xc4);
    }

    private static void WriteLongHeader(ref Utf8Output writer, int length, byte code, bool hasEightBit)
    {
        var span = writer.Reserve(5);
        if (hasEightBit)
        {
            if (length <= byte.MaxValue)
            {
                span[0] = code;
                span[1] = (byte)length;
                writer.Advance(2);
                return;
            }
            code++;
        }
        if (length <= ushort.MaxValue)
        {
            span[0] = code;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            writer.Advance(3);
            return;
        }
        span[0] = (byte)(code + 1);
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        writer.Advance(5);
    }

    /// <summary>A string as UTF-8 (lone surrogates as U+FFFD, as <see cref="Encoding.UTF8"/> writes them).</summary>
    private static void WriteString(ref Utf8Output writer, string text)
    {
        var chars = text.AsSpan();
        if (chars.Length <= 31)
        {
            // Short ASCII (most keys and short values): one narrowing copy after a fixstr header.
            var span = writer.Reserve(1 + chars.Length);
            if (Ascii.FromUtf16(chars, span[1..], out var written) == OperationStatus.Done)
            {
                span[0] = (byte)(0xa0 | written);
                writer.Advance(1 + written);
                return;
            }
        }
        var length = Encoding.UTF8.GetByteCount(chars);
        WriteHeader(ref writer, length, 0xa0, 31, 0xd9);
        writer.Advance(Encoding.UTF8.GetBytes(chars, writer.Reserve(length)));
    }

    /// <summary>The smallest form of a signed integer, as MessagePack's writer chooses it (non-negative ones unsigned).</summary>
    private static void WriteInteger(ref Utf8Output writer, long n)
    {
        if (n >= 0)
        {
            WriteUnsigned(ref writer, (ulong)n);
            return;
        }
        if (n >= -32)
        {
            writer.WriteByte(unchecked((byte)(sbyte)n));
            return;
        }
        var span = writer.Reserve(9);
        if (n >= sbyte.MinValue)
        {
            span[0] = 0xd0;
            span[1] = unchecked((byte)(sbyte)n);
            writer.Advance(2);
        }
        else if (n >= short.MinValue)
        {
            span[0] = 0xd1;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)n);
            writer.Advance(3);
        }
        else if (n >= int.MinValue)
        {
            span[0] = 0xd2;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)n);
            writer.Advance(5);
        }
        else
        {
            span[0] = 0xd3;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], n);
            writer.Advance(9);
        }
    }

    private static void WriteUnsigned(ref Utf8Output writer, ulong n)
    {
        if (n <= 0x7f)
        {
            writer.WriteByte((byte)n);
            return;
        }
        var span = writer.Reserve(9);
        if (n <= byte.MaxValue)
        {
            span[0] = 0xcc;
            span[1] = (byte)n;
            writer.Advance(2);
        }
        else if (n <= ushort.MaxValue)
        {
            span[0] = 0xcd;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)n);
            writer.Advance(3);
        }
        else if (n <= uint.MaxValue)
        {
            span[0] = 0xce;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)n);
            writer.Advance(5);
        }
        else
        {
            span[0] = 0xcf;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], n);
            writer.Advance(9);
        }
    }

    /// <summary>A map's keys as MessagePack strings.</summary>
    private readonly struct MsgpackKeys : IKeyFormat
    {
        public static void WriteKey(ArrayBufferWriter<byte> buffer, string key, int index)
        {
            var writer = new Utf8Output(buffer);
            WriteString(ref writer, key);
            writer.Flush();
        }
    }
}
