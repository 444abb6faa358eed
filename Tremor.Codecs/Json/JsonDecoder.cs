using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// Decodes one UTF-8 JSON document into a <see cref="Value"/>: a fast path reads well-formed documents byte by byte
/// (<see cref="Scan"/>), and any document it gives up on is read again from the start by <see cref="Utf8JsonReader"/>,
/// so errors are found and worded by the reader. Both build values on an explicit stack (no recursion, so nesting depth
/// costs heap, not thread stack). Integers become I64 (U64 above <see cref="long.MaxValue"/>, F64 beyond <see cref="ulong.MaxValue"/>),
/// other numbers F64. Fields are gathered on a per-thread scratch stack so a record or array is allocated once at its
/// final size; duplicate keys are detected with a 64-bit filter of key hashes, so only records that may hold one pay for
/// lookups (and then the last value wins).
/// </summary>
internal static class JsonDecoder
{
    /// <summary>Deepest nesting of arrays and records accepted.</summary>
    public const int MaxDepth = 1024;

    /// <summary>
    /// Unescaped strings longer than this (in UTF-8 bytes) are kept as their UTF-8 bytes (<see cref="Value.FromUtf8"/>):
    /// half the memory of the UTF-16 string for ASCII text, and re-encoding them is a copy. Shorter ones are cheaper
    /// as strings (and most come from the string cache).
    /// </summary>
    public const int KeepUtf8Above = 64;

    /// <summary>
    /// In input that never changes, strings longer than this (the longest the string cache holds) are kept as slices
    /// of it: only a small wrapper is allocated, where a copy would cost as much as the UTF-16 string (a 36-byte guid).
    /// </summary>
    public const int KeepInPlaceAbove = StringCache.MaxValueLength;

    private static readonly JsonReaderOptions s_options = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>Decodes <paramref name="data"/>; long strings are copied out of it.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out Value value, out string? error) =>
        TryDecode(data, default, out value, out error);

    /// <summary>
    /// Decodes <paramref name="data"/>, which never changes again: long strings are kept as slices of it
    /// (<see cref="Value.TryFromUtf8"/>) instead of copies.
    /// </summary>
    public static bool TryDecodeImmutable(ReadOnlyMemory<byte> data, out Value value, out string? error) =>
        TryDecode(data.Span, data, out value, out error);

    /// <summary>
    /// Decodes <paramref name="data"/>; <paramref name="kept"/> is either empty (copy long strings) or the same bytes
    /// as memory that never changes (keep slices of it).
    /// </summary>
    private static bool TryDecode(ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, out Value value, out string? error)
    {
        if (IsBlank(data, out value, out error)) return false;
        var scratch = t_scratch ??= new Scratch();
        return Scan(data, kept, scratch, out value) || TryDecodeWithReader(data, kept, out value, out error);
    }

    /// <summary>
    /// Decodes with <see cref="Utf8JsonReader"/> alone: what <see cref="TryDecode(ReadOnlySpan{byte}, out Value, out string?)"/>
    /// falls back to when the scanner gives up, and the reference it is held to.
    /// </summary>
    internal static bool TryDecodeWithReader(ReadOnlySpan<byte> data, out Value value, out string? error) =>
        TryDecodeWithReader(data, default, out value, out error);

    private static bool TryDecodeWithReader(ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, out Value value, out string? error)
    {
        if (IsBlank(data, out value, out error)) return false;
        var scratch = t_scratch ??= new Scratch();
        var reader = new Utf8JsonReader(data, isFinalBlock: true, new JsonReaderState(s_options));
        try
        {
            return Parse(ref reader, data, kept, scratch, out value, out error);
        }
        catch (JsonException e)
        {
            // Leave no references to this event's values behind on the shared scratch stack.
            scratch.Clear(scratch.Values.Length);
            value = default;
            error = Describe(data, e);
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString on a string token that is not valid UTF-8 (or holds an escaped lone surrogate).
            scratch.Clear(scratch.Values.Length);
            var start = (int)reader.TokenStartIndex;
            var bad = Utf8Text.FindInvalid(data[start..]);
            value = default;
            error = bad >= 0
                ? $"invalid UTF-8 in a JSON string at byte {start + bad} ({Utf8Text.DescribeByte(data, start + bad)})"
                : $"invalid JSON string at byte {start}: an escaped surrogate (\\uD800-\\uDFFF) is not part of a valid pair";
            return false;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> data, out Value value, out string? error)
    {
        value = default;
        error = data.IsEmpty || data.IndexOfAnyExcept(" \t\r\n"u8) < 0
            ? "invalid JSON at byte 0: the input is empty (expected a JSON value)"
            : null;
        return error is not null;
    }

    /// <summary>True when the fast path decodes <paramref name="data"/> by itself (false: it gives up and the reader decides).</summary>
    internal static bool ScannerTakes(ReadOnlySpan<byte> data) => Scan(data, default, t_scratch ??= new Scratch(), out _);

    /// <summary>Where <paramref name="part"/>, a slice of <paramref name="data"/>, starts in it.</summary>
    private static int OffsetIn(ReadOnlySpan<byte> data, ReadOnlySpan<byte> part) =>
        (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(data), ref MemoryMarshal.GetReference(part));

    /// <summary>
    /// The fast path: reads a well-formed document byte by byte (<see cref="JsonScan"/>'s grammar) straight into the
    /// scratch stack, with no token stream between, and gives up on anything unusual —
    /// a syntax error, invalid UTF-8, a bad escape, a number out of range, nesting deeper than
    /// <see cref="JsonScan.MaxDepth"/>, a byte-order mark — for the reader to decide and word: false, with nothing of
    /// the document left on the scratch stack.
    /// </summary>
    /// <remarks>
    /// Values are built as <see cref="Parse"/> builds them from the reader's tokens: the two share opening, keys,
    /// closing records and arrays, unescaped strings and numbers; escaped strings are unescaped here by
    /// <see cref="JsonScan.Unescape"/>, there by the reader. A test decodes thousands of damaged records both ways. The labels are the grammar's
    /// states: a value is expected, a value is complete, a key is expected, a record or array is complete.
    /// </remarks>
    private static bool Scan(ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, Scratch scratch, out Value value)
    {
        var depth = 0;
        var sp = 0;
        // One bit per open level, the innermost lowest: 1 for a record, 0 for an array.
        ulong records = 0;
        var i = JsonScan.SkipWhitespace(data, 0);
        byte c;

    ReadValue:
        if (i >= data.Length) goto GiveUp;
        if (sp == scratch.Values.Length) scratch.Grow();
        c = data[i];
        switch (c)
        {
            case (byte)'"':
                {
                    var body = data[(i + 1)..];
                    var end = JsonScan.StringEnd(body, out var escaped);
                    if (end < 0) goto GiveUp;
                    var raw = body[..end];
                    if (escaped)
                    {
                        var text = JsonScan.Unescape(raw);
                        if (text is null) goto GiveUp;
                        scratch.Values[sp] = Value.From(text);
                    }
                    else if (!TryStringValue(raw, data, kept, scratch, ref scratch.Values[sp], out _))
                    {
                        goto GiveUp;
                    }
                    i += end + 2;
                    break;
                }
            case (byte)'{':
            case (byte)'[':
                if (depth == JsonScan.MaxDepth) goto GiveUp;
                Open(scratch, ref depth, ref sp);
                i = JsonScan.SkipWhitespace(data, i + 1);
                if (c == (byte)'{')
                {
                    records = (records << 1) | 1;
                    if (i < data.Length && data[i] == (byte)'}') goto CloseAt;
                    goto ReadKey;
                }
                records <<= 1;
                if (i < data.Length && data[i] == (byte)']') goto CloseAt;
                goto ReadValue;
            case (byte)'t':
                if (!data[i..].StartsWith("true"u8)) goto GiveUp;
                scratch.Values[sp] = Value.True;
                i += 4;
                break;
            case (byte)'f':
                if (!data[i..].StartsWith("false"u8)) goto GiveUp;
                scratch.Values[sp] = Value.False;
                i += 5;
                break;
            case (byte)'n':
                if (!data[i..].StartsWith("null"u8)) goto GiveUp;
                scratch.Values[sp] = Value.Null;
                i += 4;
                break;
            default:
                {
                    var end = JsonScan.NumberEnd(data, i);
                    if (end < 0 || !JsonScan.TryNumber(data[i..end], out scratch.Values[sp])) goto GiveUp;
                    i = end;
                    break;
                }
        }

    Complete:
        // scratch.Values[sp] holds a complete value.
        if (depth == 0)
        {
            // After the one top-level value only whitespace may follow.
            if (JsonScan.SkipWhitespace(data, i) != data.Length) goto GiveUp;
            value = scratch.Values[sp];
            scratch.Values[sp] = default;
            return true;
        }
        sp++;
        i = JsonScan.SkipWhitespace(data, i);
        if (i >= data.Length) goto GiveUp;
        c = data[i];
        if (c == (byte)',')
        {
            i = JsonScan.SkipWhitespace(data, i + 1);
            if ((records & 1) != 0) goto ReadKey;
            goto ReadValue;
        }
        if (c != ((records & 1) != 0 ? (byte)'}' : (byte)']')) goto GiveUp;

    CloseAt:
        // data[i] closes the innermost record or array.
        i++;
        sp = (records & 1) != 0 ? CloseRecord(scratch, ref depth, sp) : CloseArray(scratch, ref depth, sp);
        records >>= 1;
        goto Complete;

    ReadKey:
        {
            if (i >= data.Length || data[i] != (byte)'"') goto GiveUp;
            if (sp == scratch.Values.Length) scratch.Grow();
            var body = data[(i + 1)..];
            var end = JsonScan.StringEnd(body, out var escaped);
            if (end < 0) goto GiveUp;
            string key;
            int keyHash;
            if (!escaped)
            {
                if (!scratch.KeyCache.TryGet(body[..end], out key, out keyHash, out _)) goto GiveUp;
            }
            else
            {
                var text = JsonScan.Unescape(body[..end]);
                if (text is null) goto GiveUp;
                key = text;
                keyHash = key.GetHashCode();
            }
            AddKey(scratch, depth, sp, key, keyHash);
            i = JsonScan.SkipWhitespace(data, i + end + 2);
            if (i >= data.Length || data[i] != (byte)':') goto GiveUp;
            i = JsonScan.SkipWhitespace(data, i + 1);
            goto ReadValue;
        }

    GiveUp:
        // sp + 1: the slot being filled may hold its field's key already.
        scratch.Clear(sp + 1);
        value = default;
        return false;
    }

    /// <summary>
    /// The decoding loop over <see cref="Utf8JsonReader"/>'s tokens, apart from the exception handlers of
    /// <see cref="TryDecodeWithReader(ReadOnlySpan{byte}, ReadOnlyMemory{byte}, out Value, out string?)"/>, which
    /// word what the reader throws.
    /// </summary>
    /// <remarks>
    /// <paramref name="kept"/>: empty, or <paramref name="data"/> as memory that never changes, whose slices long
    /// strings keep instead of copies.
    /// </remarks>
    private static bool Parse(ref Utf8JsonReader reader, ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, Scratch scratch, out Value value, out string? error)
    {
        var depth = 0;
        var sp = 0;
        Value result = default;
        while (reader.Read())
        {
            // Each value is written straight into its slot on the scratch stack (not through a local, which cost a
            // struct copy with a write barrier per value); the slot is scratch.Values[sp] once sp is final. A field's
            // key goes into scratch.Keys[sp] as soon as it is read; a record or array keeps its own slot (and key)
            // while its items take the slots above it.
            if (sp == scratch.Values.Length) scratch.Grow();
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    Open(scratch, ref depth, ref sp);
                    continue;
                case JsonTokenType.PropertyName:
                    {
                        string key;
                        int keyHash;
                        if (!reader.ValueIsEscaped)
                        {
                            if (!scratch.KeyCache.TryGet(reader.ValueSpan, out key, out keyHash, out var bad))
                            {
                                return InvalidUtf8(data, (int)reader.TokenStartIndex + 1 + bad, "key", sp, out value, out error);
                            }
                        }
                        else
                        {
                            key = reader.GetString()!;
                            keyHash = key.GetHashCode();
                        }
                        AddKey(scratch, depth, sp, key, keyHash);
                        continue;
                    }
                case JsonTokenType.EndObject:
                    sp = CloseRecord(scratch, ref depth, sp);
                    break;
                case JsonTokenType.EndArray:
                    sp = CloseArray(scratch, ref depth, sp);
                    break;
                case JsonTokenType.String:
                    if (!reader.ValueIsEscaped)
                    {
                        // Utf8JsonReader does not validate UTF-8 inside strings: the cache does, and Value.TryFromUtf8
                        // for long ones.
                        if (!TryStringValue(reader.ValueSpan, data, kept, scratch, ref scratch.Values[sp], out var bad))
                        {
                            return InvalidUtf8(data, (int)reader.TokenStartIndex + 1 + bad, "string", sp, out value, out error);
                        }
                    }
                    else
                    {
                        scratch.Values[sp] = Value.From(reader.GetString());
                    }
                    break;
                case JsonTokenType.Number:
                    if (!JsonScan.TryNumber(reader.ValueSpan, out scratch.Values[sp]))
                    {
                        return Invalid($"invalid JSON at byte {reader.TokenStartIndex}: the number '{Encoding.UTF8.GetString(reader.ValueSpan)}' is out of range for a 64-bit float", sp, out value, out error);
                    }
                    break;
                case JsonTokenType.True:
                    scratch.Values[sp] = Value.True;
                    break;
                case JsonTokenType.False:
                    scratch.Values[sp] = Value.False;
                    break;
                default:
                    scratch.Values[sp] = Value.Null;
                    break;
            }
            if (depth == 0)
            {
                result = scratch.Values[sp];
                scratch.Values[sp] = default;
                continue;
            }
            sp++;
        }
        value = result;
        error = null;
        return true;
    }

    /// <summary>Opens a record or array in the slot <paramref name="sp"/>: its items take the slots above it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Open(Scratch scratch, ref int depth, ref int sp)
    {
        if (depth == scratch.Frames.Length) Array.Resize(ref scratch.Frames, depth * 2);
        scratch.Frames[depth++] = new Frame(++sp);
    }

    /// <summary>Notes a field's key in slot <paramref name="sp"/> of the record open at <paramref name="depth"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddKey(Scratch scratch, int depth, int sp, string key, int keyHash)
    {
        ref var frame = ref scratch.Frames[depth - 1];
        scratch.Keys[sp] = key;
        scratch.Hashes[sp] = keyHash;
        var bit = 1UL << (keyHash & 63);
        if ((frame.KeyFilter & bit) != 0) frame.MaybeDuplicate = true;
        frame.KeyFilter |= bit;
        frame.Shape = ShapeCache.Mix(frame.Shape, keyHash);
    }

    /// <summary>
    /// Builds the innermost open record from its fields on the scratch stack into its own slot, and returns that slot.
    /// </summary>
    private static int CloseRecord(Scratch scratch, ref int depth, int sp)
    {
        var frame = scratch.Frames[--depth];
        var count = sp - frame.Start;
        var fieldKeys = scratch.Keys.AsSpan(frame.Start, count);
        var fieldValues = scratch.Values.AsSpan(frame.Start, count);
        ValueRecord record;
        if (count == 0)
        {
            record = new ValueRecord();
        }
        else if (scratch.Shapes.TryGet(fieldKeys, frame.Shape, out var knownShape))
        {
            // A cached shape was checked for duplicates when it was added.
            record = new ValueRecord(knownShape, fieldValues.ToArray(), sharedKeys: true);
        }
        else if (frame.MaybeDuplicate && ShapeCache.HasDuplicate(fieldKeys, scratch.Hashes.AsSpan(frame.Start, count)))
        {
            record = new ValueRecord(count);
            for (var i = 0; i < count; i++) record.Set(fieldKeys[i], fieldValues[i]);
        }
        else
        {
            record = new ValueRecord(scratch.Shapes.Add(fieldKeys, frame.Shape), fieldValues.ToArray(), sharedKeys: true);
        }
        fieldKeys.Clear();
        fieldValues.Clear();
        var slot = frame.Start - 1;
        scratch.Values[slot] = Value.From(record);
        return slot;
    }

    /// <summary>
    /// Builds the innermost open array from its items on the scratch stack into its own slot, and returns that slot.
    /// </summary>
    private static int CloseArray(Scratch scratch, ref int depth, int sp)
    {
        var frame = scratch.Frames[--depth];
        var count = sp - frame.Start;
        var list = new List<Value>(count);
        CollectionsMarshal.SetCount(list, count);
        var items = scratch.Values.AsSpan(frame.Start, count);
        items.CopyTo(CollectionsMarshal.AsSpan(list));
        items.Clear();
        var slot = frame.Start - 1;
        scratch.Values[slot] = Value.From(list);
        return slot;
    }

    /// <summary>
    /// Sets <paramref name="slot"/> to the string whose unescaped UTF-8 is <paramref name="utf8"/>, a slice of
    /// <paramref name="data"/>: a long one where it lies when the input never changes (<paramref name="kept"/>), else a
    /// copy of its bytes; a short one from the string cache. False when <paramref name="utf8"/> is not valid UTF-8,
    /// with the offset of its first invalid byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryStringValue(ReadOnlySpan<byte> utf8, ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, Scratch scratch, ref Value slot, out int invalidOffset)
    {
        if (utf8.Length > (kept.IsEmpty ? KeepUtf8Above : KeepInPlaceAbove))
        {
            // Value.TryFromUtf8 validates it.
            var bytes = kept.IsEmpty ? utf8.ToArray() : kept.Slice(OffsetIn(data, utf8), utf8.Length);
            if (Value.TryFromUtf8(bytes, out slot))
            {
                invalidOffset = -1;
                return true;
            }
            invalidOffset = Utf8Text.FindInvalid(utf8);
            return false;
        }
        if (!scratch.ValueCache.TryGet(utf8, out var text, out invalidOffset)) return false;
        slot = Value.From(text);
        return true;
    }

    private static bool InvalidUtf8(ReadOnlySpan<byte> data, int offset, string what, int used, out Value value, out string? error) =>
        Invalid($"invalid UTF-8 in a JSON {what} at byte {offset} ({Utf8Text.DescribeByte(data, offset)})", used, out value, out error);

    /// <summary>Ends a decode that failed, leaving no references to its values on the scratch stack.</summary>
    private static bool Invalid(string message, int used, out Value value, out string? error)
    {
        // used + 1: the slot being filled may hold its field's key already.
        t_scratch?.Clear(used + 1);
        value = default;
        error = message;
        return false;
    }

    /// <summary>"invalid JSON at byte N (line L, column C): reason", from the reader's line-relative position.</summary>
    private static string Describe(ReadOnlySpan<byte> data, JsonException e)
    {
        var line = e.LineNumber ?? 0;
        var column = e.BytePositionInLine ?? 0;
        long lineStart = 0;
        for (long l = 0; l < line; l++)
        {
            var next = data[(int)lineStart..].IndexOf((byte)'\n');
            if (next < 0) break;
            lineStart += next + 1;
        }
        var reason = e.Message;
        var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0) reason = reason[..cut];
        var where = line == 0 ? $"byte {column}" : $"byte {lineStart + column} (line {line + 1}, column {column + 1})";
        return $"invalid JSON at {where} of {data.Length}: {reason.TrimEnd()}";
    }

    private struct Frame(int start)
    {
        public readonly int Start = start;
        public ulong KeyFilter;
        public bool MaybeDuplicate;
        public uint Shape;
    }

    private sealed class Scratch
    {
        public Frame[] Frames = new Frame[16];
        public Value[] Values = new Value[256];
        public string[] Keys = new string[256];
        public int[] Hashes = new int[256];
        public readonly ShapeCache Shapes = new();

        /// <summary>This thread's string caches, here so a decode reads one thread-static instead of three.</summary>
        public readonly StringCache KeyCache = StringCache.Keys;

        public readonly StringCache ValueCache = StringCache.Values;

        public void Grow()
        {
            Array.Resize(ref Values, Values.Length * 2);
            Array.Resize(ref Keys, Keys.Length * 2);
            Array.Resize(ref Hashes, Hashes.Length * 2);
        }

        /// <summary>Drops the references in the first <paramref name="used"/> slots (frames hold none).</summary>
        public void Clear(int used)
        {
            Values.AsSpan(0, Math.Min(used, Values.Length)).Clear();
            Keys.AsSpan(0, Math.Min(used, Keys.Length)).Clear();
        }
    }
}
