using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// Writes a <see cref="Value"/> as compact JSON straight into an <see cref="IBufferWriter{T}"/>: no intermediate strings,
/// bytes as base64 strings, floats in their shortest round-trip form (always with a '.' or exponent so they decode as
/// floats again), NaN and infinities as <c>null</c> (JSON has no spelling for them).
/// </summary>
internal static class JsonEncoder
{
    private const int StringSegment = 4096;

    /// <summary>Strings up to this many chars (most keys and short values) are tried with a plain loop first.</summary>
    private const int ShortString = 32;

    private static readonly SearchValues<char> s_needsEscape = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    private static readonly SearchValues<byte> s_needsEscapeUtf8 = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f"u8 +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"u8);

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    public static void Encode(in Value value, IBufferWriter<byte> output)
    {
        var writer = new Utf8Output(output);
        Write(ref writer, value);
        writer.Flush();
    }

    /// <summary>As <see cref="Encode"/> with every record's keys in ordinal order (Tremor's <c>sorted</c> mode).</summary>
    public static void EncodeSorted(in Value value, IBufferWriter<byte> output)
    {
        var writer = new Utf8Output(output);
        WriteSorted(ref writer, value);
        writer.Flush();
    }

    private static void WriteSorted(ref Utf8Output writer, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Array:
                {
                    var items = CollectionsMarshal.AsSpan(value.AsArray());
                    writer.WriteByte((byte)'[');
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (i > 0) writer.WriteByte((byte)',');
                        WriteSorted(ref writer, items[i]);
                    }
                    writer.WriteByte((byte)']');
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    var order = new int[record.Count];
                    for (var i = 0; i < order.Length; i++) order[i] = i;
                    var keys = record.KeySpan.ToArray();
                    Array.Sort(keys, order, StringComparer.Ordinal);
                    var values = record.ValueSpan;
                    writer.WriteByte((byte)'{');
                    for (var i = 0; i < keys.Length; i++)
                    {
                        if (i > 0) writer.WriteByte((byte)',');
                        WriteString(ref writer, keys[i]);
                        writer.WriteByte((byte)':');
                        WriteSorted(ref writer, values[order[i]]);
                    }
                    writer.WriteByte((byte)'}');
                    break;
                }
            default:
                Write(ref writer, value);
                break;
        }
    }

    /// <summary>The JSON text of <paramref name="value"/> (for messages and non-string msgpack keys, not the hot path).</summary>
    public static string ToJsonString(in Value value)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Encode(value, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(ref Utf8Output writer, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                "null"u8.CopyTo(writer.Reserve(4));
                writer.Advance(4);
                break;
            case ValueKind.Bool:
                if (value.AsBool())
                {
                    "true"u8.CopyTo(writer.Reserve(4));
                    writer.Advance(4);
                }
                else
                {
                    "false"u8.CopyTo(writer.Reserve(5));
                    writer.Advance(5);
                }
                break;
            case ValueKind.I64:
                {
                    if ((ulong)value.RawI64 < 10)
                    {
                        writer.WriteByte((byte)('0' + value.RawI64));
                        break;
                    }
                    Utf8Formatter.TryFormat(value.RawI64, writer.Reserve(20), out var written);
                    writer.Advance(written);
                    break;
                }
            case ValueKind.U64:
                {
                    Utf8Formatter.TryFormat(unchecked((ulong)value.RawI64), writer.Reserve(20), out var written);
                    writer.Advance(written);
                    break;
                }
            case ValueKind.F64:
                WriteFloat(ref writer, value.RawF64);
                break;
            case ValueKind.String:
                if (value.TryGetUtf8(out var utf8)) WriteUtf8String(ref writer, utf8);
                else WriteString(ref writer, value.AsString()!);
                break;
            case ValueKind.Bytes:
                WriteBase64(ref writer, value.AsBytes()!);
                break;
            case ValueKind.Array:
                {
                    var items = CollectionsMarshal.AsSpan(value.AsArray());
                    writer.WriteByte((byte)'[');
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (i > 0) writer.WriteByte((byte)',');
                        Write(ref writer, items[i]);
                    }
                    writer.WriteByte((byte)']');
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    var keys = record.KeySpan;
                    var values = record.ValueSpan;
                    if (record.SharedKeys is { } shared && EncodedKeys<JsonKeys>.For(shared) is { } encoded)
                    {
                        WriteFields(ref writer, encoded, values);
                        break;
                    }
                    writer.WriteByte((byte)'{');
                    for (var i = 0; i < keys.Length; i++)
                    {
                        if (i > 0) writer.WriteByte((byte)',');
                        WriteString(ref writer, keys[i]);
                        writer.WriteByte((byte)':');
                        Write(ref writer, values[i]);
                    }
                    writer.WriteByte((byte)'}');
                    break;
                }
        }
    }

    /// <summary>A record whose keys are pre-encoded: <c>{"k0":</c>, then <c>,"k1":</c> ... from one array.</summary>
    private static void WriteFields(ref Utf8Output writer, EncodedKeys<JsonKeys> encoded, ReadOnlySpan<Value> values)
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
        writer.WriteByte((byte)'}');
    }

    /// <summary>A record's keys as JSON: <c>{"a":</c>, <c>,"b":</c>, ... (the object's opening brace with its first key).</summary>
    private readonly struct JsonKeys : IKeyFormat
    {
        public static void WriteKey(ArrayBufferWriter<byte> buffer, string key, int index)
        {
            var writer = new Utf8Output(buffer);
            writer.WriteByte(index == 0 ? (byte)'{' : (byte)',');
            WriteString(ref writer, key);
            writer.WriteByte((byte)':');
            writer.Flush();
        }
    }

    private static void WriteFloat(ref Utf8Output writer, double d)
    {
        if (!double.IsFinite(d))
        {
            "null"u8.CopyTo(writer.Reserve(4));
            writer.Advance(4);
            return;
        }
        // "R" is the shortest text that parses back to the same double (-0.0 gives "-0").
        var span = writer.Reserve(34);
        d.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        if (span[..written].IndexOfAny((byte)'.', (byte)'E', (byte)'e') < 0)
        {
            span[written++] = (byte)'.';
            span[written++] = (byte)'0';
        }
        writer.Advance(written);
    }

    private static void WriteBase64(ref Utf8Output writer, byte[] bytes)
    {
        writer.WriteByte((byte)'"');
        const int Chunk = 3 * 1024;
        for (var offset = 0; offset < bytes.Length; offset += Chunk)
        {
            var part = bytes.AsSpan(offset, Math.Min(Chunk, bytes.Length - offset));
            Base64.EncodeToUtf8(part, writer.Reserve(Base64.GetMaxEncodedToUtf8Length(part.Length)), out _, out var written);
            writer.Advance(written);
        }
        writer.WriteByte((byte)'"');
    }

    /// <summary>Writes a quoted, escaped JSON string. Lone surrogates become U+FFFD (they have no UTF-8 form).</summary>
    public static void WriteString(ref Utf8Output writer, string s)
    {
        if (s.Length <= ShortString && TryWriteShortAscii(ref writer, s)) return;
        var chars = s.AsSpan();
        writer.WriteByte((byte)'"');
        while (!chars.IsEmpty)
        {
            var plain = chars.IndexOfAny(s_needsEscape);
            var run = plain < 0 ? chars.Length : plain;
            while (run > 0)
            {
                var take = Math.Min(run, StringSegment);
                // Never split a surrogate pair across two transcoding calls.
                if (take < run && char.IsHighSurrogate(chars[take - 1])) take--;
                Utf8.FromUtf16(chars[..take], writer.Reserve(take * 3), out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
                writer.Advance(written);
                chars = chars[take..];
                run -= take;
            }
            if (plain < 0) break;
            WriteEscape(ref writer, chars[0]);
            chars = chars[1..];
        }
        writer.WriteByte((byte)'"');
    }

    /// <summary>
    /// Writes a short string that is printable ASCII without '"' or '\\' (nothing to escape or transcode) in one pass;
    /// false, having written nothing, for any other string. For a handful of chars this beats the vectorised search
    /// and transcoding calls of the general path.
    /// </summary>
    private static bool TryWriteShortAscii(ref Utf8Output writer, string s)
    {
        var span = writer.Reserve(s.Length + 2);
        span[0] = (byte)'"';
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c - 0x20u > 0x7E - 0x20 || c == '"' || c == '\\') return false;
            span[i + 1] = (byte)c;
        }
        span[s.Length + 1] = (byte)'"';
        writer.Advance(s.Length + 2);
        return true;
    }

    /// <summary>Writes a quoted, escaped JSON string from valid UTF-8 (bytes of multi-byte sequences never need escaping).</summary>
    private static void WriteUtf8String(ref Utf8Output writer, ReadOnlySpan<byte> utf8)
    {
        writer.WriteByte((byte)'"');
        while (!utf8.IsEmpty)
        {
            var plain = utf8.IndexOfAny(s_needsEscapeUtf8);
            if (plain < 0)
            {
                writer.Write(utf8);
                break;
            }
            writer.Write(utf8[..plain]);
            WriteEscape(ref writer, (char)utf8[plain]);
            utf8 = utf8[(plain + 1)..];
        }
        writer.WriteByte((byte)'"');
    }

    private static void WriteEscape(ref Utf8Output writer, char c)
    {
        var span = writer.Reserve(6);
        span[0] = (byte)'\\';
        switch (c)
        {
            case '"': span[1] = (byte)'"'; writer.Advance(2); return;
            case '\\': span[1] = (byte)'\\'; writer.Advance(2); return;
            case '\n': span[1] = (byte)'n'; writer.Advance(2); return;
            case '\r': span[1] = (byte)'r'; writer.Advance(2); return;
            case '\t': span[1] = (byte)'t'; writer.Advance(2); return;
            case '\b': span[1] = (byte)'b'; writer.Advance(2); return;
            case '\f': span[1] = (byte)'f'; writer.Advance(2); return;
            default:
                span[1] = (byte)'u';
                span[2] = (byte)'0';
                span[3] = (byte)'0';
                span[4] = HexDigits[c >> 4];
                span[5] = HexDigits[c & 0xf];
                writer.Advance(6);
                return;
        }
    }
}
