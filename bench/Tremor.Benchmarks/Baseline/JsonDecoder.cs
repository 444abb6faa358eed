using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Tremor.Pdk;

namespace Tremor.Benchmarks.Baseline;

/// <summary>
/// Decodes one UTF-8 JSON document into a <see cref="Value"/> with <see cref="Utf8JsonReader"/> over the input span and
/// an explicit stack (no recursion, so nesting depth costs heap, not thread stack). Integers become I64 (U64 above
/// <see cref="long.MaxValue"/>, F64 beyond <see cref="ulong.MaxValue"/>), other numbers F64. Fields are gathered on a
/// per-thread scratch stack so a record or array is allocated once at its final size; duplicate keys are detected with a
/// 64-bit filter of key hashes, so only records that may hold one pay for lookups (and then the last value wins).
/// </summary>
internal static class JsonDecoder
{
    /// <summary>Deepest nesting of arrays and records accepted.</summary>
    public const int MaxDepth = 1024;

    private static readonly JsonReaderOptions s_options = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    [ThreadStatic]
    private static Scratch? t_scratch;

    public static bool TryDecode(ReadOnlySpan<byte> data, out Value value, out string? error)
    {
        if (data.IsEmpty || data.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            value = default;
            error = "invalid JSON at byte 0: the input is empty (expected a JSON value)";
            return false;
        }
        var scratch = t_scratch ??= new Scratch();
        var keys = KeyCache.Current;
        var reader = new Utf8JsonReader(data, isFinalBlock: true, new JsonReaderState(s_options));
        var depth = 0;
        var sp = 0;
        Value result = default;
        try
        {
            while (reader.Read())
            {
                Value item;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (depth == scratch.Frames.Length) Array.Resize(ref scratch.Frames, depth * 2);
                        scratch.Frames[depth++] = new Frame(sp);
                        continue;
                    case JsonTokenType.PropertyName:
                        {
                            string key;
                            int keyHash;
                            if (!reader.ValueIsEscaped)
                            {
                                if (!keys.TryGet(reader.ValueSpan, out key, out keyHash, out var bad))
                                {
                                    return InvalidUtf8(data, (int)reader.TokenStartIndex + 1 + bad, out value, out error);
                                }
                            }
                            else
                            {
                                key = reader.GetString()!;
                                keyHash = key.GetHashCode();
                            }
                            ref var frame = ref scratch.Frames[depth - 1];
                            frame.PendingKey = key;
                            var bit = 1UL << (keyHash & 63);
                            if ((frame.KeyFilter & bit) != 0) frame.MaybeDuplicate = true;
                            frame.KeyFilter |= bit;
                            continue;
                        }
                    case JsonTokenType.EndObject:
                        {
                            var frame = scratch.Frames[--depth];
                            var count = sp - frame.Start;
                            var record = new ValueRecord(count);
                            var fieldKeys = scratch.Keys.AsSpan(frame.Start, count);
                            var fieldValues = scratch.Values.AsSpan(frame.Start, count);
                            if (frame.MaybeDuplicate)
                            {
                                for (var i = 0; i < count; i++) record.Set(fieldKeys[i], fieldValues[i]);
                            }
                            else
                            {
                                for (var i = 0; i < count; i++) record.Append(fieldKeys[i], fieldValues[i]);
                            }
                            fieldKeys.Clear();
                            fieldValues.Clear();
                            sp = frame.Start;
                            item = Value.From(record);
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
                            sp = frame.Start;
                            item = Value.From(list);
                            break;
                        }
                    case JsonTokenType.String:
                        item = Value.From(reader.GetString());
                        break;
                    case JsonTokenType.Number:
                        if (!TryReadNumber(ref reader, out item))
                        {
                            value = default;
                            error = $"invalid JSON at byte {reader.TokenStartIndex}: the number '{Encoding.UTF8.GetString(reader.ValueSpan)}' is out of range for a 64-bit float";
                            return false;
                        }
                        break;
                    case JsonTokenType.True:
                        item = Value.True;
                        break;
                    case JsonTokenType.False:
                        item = Value.False;
                        break;
                    default:
                        item = Value.Null;
                        break;
                }
                if (depth == 0)
                {
                    result = item;
                    continue;
                }
                if (sp == scratch.Values.Length) scratch.Grow();
                // The key of a field is kept in its record's frame until its value is complete (a nested record reuses the slots).
                ref var parent = ref scratch.Frames[depth - 1];
                scratch.Keys[sp] = parent.PendingKey!;
                parent.PendingKey = null;
                scratch.Values[sp++] = item;
            }
        }
        catch (JsonException e)
        {
            // Leave no references to this event's values behind on the shared scratch stack.
            scratch.Clear(sp, depth);
            value = default;
            error = Describe(data, e);
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString on a string token that is not valid UTF-8 (or holds an escaped lone surrogate).
            scratch.Clear(sp, depth);
            var start = (int)reader.TokenStartIndex;
            var bad = Utf8Text.FindInvalid(data[start..]);
            value = default;
            error = bad >= 0
                ? $"invalid UTF-8 in a JSON string at byte {start + bad} ({Utf8Text.DescribeByte(data, start + bad)})"
                : $"invalid JSON string at byte {start}: an escaped surrogate (\\uD800-\\uDFFF) is not part of a valid pair";
            return false;
        }
        value = result;
        error = null;
        return true;
    }

    private static bool TryReadNumber(ref Utf8JsonReader reader, out Value value)
    {
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

    private static bool InvalidUtf8(ReadOnlySpan<byte> data, int offset, out Value value, out string? error)
    {
        t_scratch?.Clear(t_scratch.Values.Length, t_scratch.Frames.Length);
        value = default;
        error = $"invalid UTF-8 in a JSON key at byte {offset} ({Utf8Text.DescribeByte(data, offset)})";
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
        public string? PendingKey;
    }

    private sealed class Scratch
    {
        public Frame[] Frames = new Frame[16];
        public Value[] Values = new Value[256];
        public string[] Keys = new string[256];

        public void Grow()
        {
            Array.Resize(ref Values, Values.Length * 2);
            Array.Resize(ref Keys, Keys.Length * 2);
        }

        public void Clear(int used, int depth)
        {
            Frames.AsSpan(0, Math.Min(depth, Frames.Length)).Clear();
            Values.AsSpan(0, Math.Min(used, Values.Length)).Clear();
            Keys.AsSpan(0, Math.Min(used, Keys.Length)).Clear();
        }
    }
}
