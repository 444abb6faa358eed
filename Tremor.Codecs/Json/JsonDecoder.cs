using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// Decodes one UTF-8 JSON document into a <see cref="Value"/> from a token stream over the input span (the lean
/// <see cref="ScannedJsonTokens"/>; <see cref="Utf8JsonReader"/> again for any document the scanner gives up on, so
/// errors are found and worded by the reader) with an explicit stack (no recursion, so nesting depth costs heap, not
/// thread stack). Integers become I64 (U64 above <see cref="long.MaxValue"/>, F64 beyond <see cref="ulong.MaxValue"/>),
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
        var scanned = new ScannedJsonTokens(data);
        var outcome = Parse(ref scanned, data, kept, scratch, out value, out error);
        return outcome == Outcome.Decoded || (outcome == Outcome.Retry && TryDecodeWithReader(data, kept, out value, out error));
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
        var reader = new ReaderJsonTokens(data, s_options);
        try
        {
            return Parse(ref reader, data, kept, scratch, out value, out error) == Outcome.Decoded;
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

    /// <summary>True when the scanner decodes <paramref name="data"/> by itself (false: it gives up and the reader decides).</summary>
    internal static bool ScannerTakes(ReadOnlySpan<byte> data)
    {
        var scanned = new ScannedJsonTokens(data);
        var outcome = Parse(ref scanned, data, default, t_scratch ??= new Scratch(), out _, out _);
        return outcome != Outcome.Retry;
    }

    private enum Outcome
    {
        Decoded,
        Invalid,

        /// <summary>The scanner gave up: read the document again with the reference reader.</summary>
        Retry,
    }

    /// <summary>Where <paramref name="part"/>, a slice of <paramref name="data"/>, starts in it.</summary>
    private static int OffsetIn(ReadOnlySpan<byte> data, ReadOnlySpan<byte> part) =>
        (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(data), ref MemoryMarshal.GetReference(part));

    /// <summary>
    /// The token loop, apart from the exception handlers of
    /// <see cref="TryDecodeWithReader(ReadOnlySpan{byte}, ReadOnlyMemory{byte}, out Value, out string?)"/>: in a method
    /// without them the JIT keeps the stack pointer and depth in registers.
    /// </summary>
    /// <remarks>
    /// <paramref name="kept"/>: empty, or <paramref name="data"/> as memory that never changes, whose slices long
    /// strings keep instead of copies.
    /// </remarks>
    private static Outcome Parse<TTokens>(ref TTokens reader, ReadOnlySpan<byte> data, ReadOnlyMemory<byte> kept, Scratch scratch, out Value value, out string? error)
        where TTokens : struct, IJsonTokens, allows ref struct
    {
        var keys = StringCache.Keys;
        var strings = StringCache.Values;
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
                    if (depth == scratch.Frames.Length) Array.Resize(ref scratch.Frames, depth * 2);
                    scratch.Frames[depth++] = new Frame(++sp);
                    continue;
                case JsonTokenType.None:
                    return Invalid(Outcome.Retry, null, sp, out value, out error);
                case JsonTokenType.PropertyName:
                    {
                        string key;
                        int keyHash;
                        if (!reader.ValueIsEscaped)
                        {
                            if (!keys.TryGet(reader.ValueSpan, out key, out keyHash, out var bad))
                            {
                                return InvalidUtf8<TTokens>(data, (int)reader.TokenStartIndex + 1 + bad, "key", sp, out value, out error);
                            }
                        }
                        else
                        {
                            key = reader.GetString()!;
                            keyHash = key.GetHashCode();
                        }
                        ref var frame = ref scratch.Frames[depth - 1];
                        scratch.Keys[sp] = key;
                        scratch.Hashes[sp] = keyHash;
                        var bit = 1UL << (keyHash & 63);
                        if ((frame.KeyFilter & bit) != 0) frame.MaybeDuplicate = true;
                        frame.KeyFilter |= bit;
                        frame.Shape = ShapeCache.Mix(frame.Shape, keyHash);
                        continue;
                    }
                case JsonTokenType.EndObject:
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
                        sp = frame.Start - 1;
                        scratch.Values[sp] = Value.From(record);
                        break;
                    }
                case JsonTokenType.EndArray:
                    {
                        var frame = scratch.Frames[--depth];
                        var count = sp - frame.Start;
                        var list = new List<Value>(count);
                        CollectionsMarshal.SetCount(list, count);
                        var items = scratch.Values.AsSpan(frame.Start, count);
                        items.CopyTo(CollectionsMarshal.AsSpan(list));
                        items.Clear();
                        sp = frame.Start - 1;
                        scratch.Values[sp] = Value.From(list);
                        break;
                    }
                case JsonTokenType.String:
                    if (!reader.ValueIsEscaped)
                    {
                        // Utf8JsonReader does not validate UTF-8 inside strings: the cache does, and Value.TryFromUtf8
                        // for long ones.
                        var utf8 = reader.ValueSpan;
                        if (utf8.Length > (kept.IsEmpty ? KeepUtf8Above : KeepInPlaceAbove))
                        {
                            // Where it lies when the input never changes, else a copy; TryFromUtf8 validates it.
                            var bytes = kept.IsEmpty ? utf8.ToArray() : kept.Slice(OffsetIn(data, utf8), utf8.Length);
                            if (!Value.TryFromUtf8(bytes, out scratch.Values[sp]))
                            {
                                return InvalidUtf8<TTokens>(data, (int)reader.TokenStartIndex + 1 + Utf8Text.FindInvalid(utf8), "string", sp, out value, out error);
                            }
                        }
                        else
                        {
                            if (!strings.TryGet(utf8, out var text, out var bad))
                            {
                                return InvalidUtf8<TTokens>(data, (int)reader.TokenStartIndex + 1 + bad, "string", sp, out value, out error);
                            }
                            scratch.Values[sp] = Value.From(text);
                        }
                    }
                    else
                    {
                        scratch.Values[sp] = Value.From(reader.GetString());
                    }
                    break;
                case JsonTokenType.Number:
                    if (!TryReadNumber(ref reader, out scratch.Values[sp]))
                    {
                        return TTokens.GivesUp
                            ? Invalid(Outcome.Retry, null, sp, out value, out error)
                            : Invalid(Outcome.Invalid, $"invalid JSON at byte {reader.TokenStartIndex}: the number '{Encoding.UTF8.GetString(reader.ValueSpan)}' is out of range for a 64-bit float", sp, out value, out error);
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
        return Outcome.Decoded;
    }

    private static bool TryReadNumber<TTokens>(ref TTokens reader, out Value value)
        where TTokens : struct, IJsonTokens, allows ref struct
    {
        // The reader has checked the syntax: a short run of digits (with an optional '-') is an integer that fits a
        // long, so it is parsed here in one plain loop instead of through the general number parser.
        var digits = reader.ValueSpan;
        if (digits.Length <= 18)
        {
            var negative = !digits.IsEmpty && digits[0] == (byte)'-';
            long n = 0;
            var i = negative ? 1 : 0;
            for (; i < digits.Length; i++)
            {
                var digit = (uint)(digits[i] - '0');
                if (digit > 9) break;
                n = n * 10 + digit;
            }
            if (i == digits.Length && digits.Length > (negative ? 1 : 0))
            {
                value = Value.From(negative ? -n : n);
                return true;
            }
        }
        if (reader.TryGetInt64(out var l))
        {
            value = Value.From(l);
            return true;
        }
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && reader.TryGetUInt64(out var u))
        {
            value = Value.From(u);
            return true;
        }
        if (reader.TryGetDouble(out var d) && double.IsFinite(d))
        {
            value = Value.From(d);
            return true;
        }
        value = default;
        return false;
    }

    private static Outcome InvalidUtf8<TTokens>(ReadOnlySpan<byte> data, int offset, string what, int used, out Value value, out string? error)
        where TTokens : struct, IJsonTokens, allows ref struct =>
        TTokens.GivesUp
            ? Invalid(Outcome.Retry, null, used, out value, out error)
            : Invalid(Outcome.Invalid, $"invalid UTF-8 in a JSON {what} at byte {offset} ({Utf8Text.DescribeByte(data, offset)})", used, out value, out error);

    /// <summary>Ends a decode that failed (or is to be retried), leaving no references to its values on the scratch stack.</summary>
    private static Outcome Invalid(Outcome outcome, string? message, int used, out Value value, out string? error)
    {
        // used + 1: the slot being filled may hold its field's key already.
        t_scratch?.Clear(used + 1);
        value = default;
        error = message;
        return outcome;
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
