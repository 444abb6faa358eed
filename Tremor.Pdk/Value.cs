using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Tremor.Pdk;

/// <summary>The kind of a <see cref="Value"/>.</summary>
public enum ValueKind : byte
{
    /// <summary>No value.</summary>
    Null,
    /// <summary>true or false.</summary>
    Bool,
    /// <summary>A signed 64-bit integer.</summary>
    I64,
    /// <summary>An unsigned 64-bit integer (only for values above <see cref="long.MaxValue"/> by convention).</summary>
    U64,
    /// <summary>A 64-bit float.</summary>
    F64,
    /// <summary>A UTF-16 string.</summary>
    String,
    /// <summary>Raw bytes.</summary>
    Bytes,
    /// <summary>An ordered list of values.</summary>
    Array,
    /// <summary>An insertion-ordered map from string keys to values.</summary>
    Record,
}

/// <summary>
/// A structured event value: null, bool, integer, float, string, bytes, array or record.
/// A small struct (scalars are stored inline, no boxing) because it sits on every hot path: two words, 16 bytes. A
/// scalar keeps its 64 bits in <c>_bits</c> and one shared tag object per kind in <c>_ref</c>; a string, bytes, array or
/// record keeps its object in <c>_ref</c> and its kind in <c>_bits</c>; null is both zero (so <c>default</c> is null).
/// The arrays of a decoded event's records and arrays are most of what decoding allocates, so the struct's size is
/// the allocation's size.
/// </summary>
public readonly struct Value : IEquatable<Value>
{
    private readonly object? _ref;
    private readonly long _bits;

    /// <summary>The tag a scalar value carries in place of an object: its kind.</summary>
    private sealed class ScalarTag(ValueKind kind)
    {
        public readonly ValueKind Kind = kind;
    }

    private static readonly ScalarTag BoolTag = new(ValueKind.Bool);
    private static readonly ScalarTag I64Tag = new(ValueKind.I64);
    private static readonly ScalarTag U64Tag = new(ValueKind.U64);
    private static readonly ScalarTag F64Tag = new(ValueKind.F64);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private T Ref<T>()
        where T : class => Unsafe.As<T>(_ref)!;

    /// <summary>What this value holds.</summary>
    public ValueKind Kind
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var reference = _ref;
            if (reference is null) return ValueKind.Null;
            return reference.GetType() == typeof(ScalarTag) ? Unsafe.As<ScalarTag>(reference).Kind : (ValueKind)_bits;
        }
    }

    private Value(ScalarTag tag, long bits)
    {
        _ref = tag;
        _bits = bits;
    }

    private Value(ValueKind kind, object reference)
    {
        _ref = reference;
        _bits = (long)kind;
    }

    /// <summary>The null value (also <c>default(Value)</c>).</summary>
    public static Value Null => default;

    /// <summary>true.</summary>
    public static Value True { get; } = new(BoolTag, 1);

    /// <summary>false.</summary>
    public static Value False { get; } = new(BoolTag, 0);

    /// <summary>A bool.</summary>
    public static Value From(bool value) => value ? True : False;

    /// <summary>A signed integer.</summary>
    public static Value From(long value) => new(I64Tag, value);

    /// <summary>An unsigned integer; stored as signed when it fits.</summary>
    public static Value From(ulong value) =>
        value <= long.MaxValue ? new(I64Tag, (long)value) : new(U64Tag, unchecked((long)value));

    /// <summary>A float.</summary>
    public static Value From(double value) => new(F64Tag, BitConverter.DoubleToInt64Bits(value));

    /// <summary>
    /// A string held as the UTF-8 bytes it was decoded from (not copied; the caller must not change them afterwards):
    /// a codec that only passes it on re-encodes the bytes, and the UTF-16 string is made on first use.
    /// </summary>
    /// <exception cref="ArgumentException">The bytes are not valid UTF-8.</exception>
    public static Value FromUtf8(byte[] utf8)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        return TryFromUtf8(utf8, out var value) ? value : throw new ArgumentException("not valid UTF-8", nameof(utf8));
    }

    /// <summary>
    /// A string held as the UTF-8 bytes <paramref name="utf8"/> (kept, not copied: a slice of a larger buffer keeps
    /// that buffer alive while the value lives), or false, with <see cref="Null"/>, when they are not valid UTF-8. The
    /// memory must never change afterwards: a fresh array, or input the source handed over as immutable
    /// (<see cref="SourceBatch.AddImmutable"/>, <see cref="ICodec.TryDecode(ReadOnlyMemory{byte}, bool, out Value, out string?)"/>).
    /// Added in PDK 1.5.
    /// </summary>
    public static bool TryFromUtf8(ReadOnlyMemory<byte> utf8, out Value value)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            value = default;
            return false;
        }
        value = new(ValueKind.String, new Utf8String(utf8));
        return true;
    }

    /// <summary>
    /// The UTF-8 bytes of a string value made by <see cref="FromUtf8"/> or <see cref="TryFromUtf8"/>, for an encoder
    /// that writes them as they are; false for any other value (a string made from a <see cref="string"/> included).
    /// </summary>
    public bool TryGetUtf8(out ReadOnlySpan<byte> utf8)
    {
        if (Kind == ValueKind.String && _ref is Utf8String u)
        {
            utf8 = u.Utf8.Span;
            return true;
        }
        utf8 = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private string Text() => _ref!.GetType() == typeof(string) ? Unsafe.As<string>(_ref) : Unsafe.As<Utf8String>(_ref).Text;

    /// <summary>A string; null becomes <see cref="Null"/>.</summary>
    public static Value From(string? value) => value is null ? default : new(ValueKind.String, value);

    /// <summary>Bytes (not copied); null becomes <see cref="Null"/>.</summary>
    public static Value From(byte[]? value) => value is null ? default : new(ValueKind.Bytes, value);

    /// <summary>An array (not copied); null becomes <see cref="Null"/>.</summary>
    public static Value From(List<Value>? value) => value is null ? default : new(ValueKind.Array, value);

    /// <summary>A record (not copied); null becomes <see cref="Null"/>.</summary>
    public static Value From(ValueRecord? value) => value is null ? default : new(ValueKind.Record, value);

    /// <summary>A new empty record.</summary>
    public static Value NewRecord(int capacity = 4) => From(new ValueRecord(capacity));

    /// <summary>A new empty array.</summary>
    public static Value NewArray(int capacity = 4) => From(new List<Value>(capacity));

    public static implicit operator Value(bool value) => From(value);
    public static implicit operator Value(long value) => From(value);
    public static implicit operator Value(int value) => From((long)value);
    public static implicit operator Value(double value) => From(value);
    public static implicit operator Value(string? value) => From(value);

    /// <summary>True for <see cref="ValueKind.Null"/>.</summary>
    public bool IsNull => _ref is null;

    /// <summary>The bool, if this is one.</summary>
    public bool TryGetBool(out bool value)
    {
        value = _bits != 0;
        return ReferenceEquals(_ref, BoolTag);
    }

    /// <summary>The integer, if this is one that fits a long.</summary>
    public bool TryGetI64(out long value)
    {
        value = _bits;
        return ReferenceEquals(_ref, I64Tag);
    }

    /// <summary>The integer, if this is a non-negative one.</summary>
    public bool TryGetU64(out ulong value)
    {
        value = unchecked((ulong)_bits);
        return ReferenceEquals(_ref, U64Tag) || (ReferenceEquals(_ref, I64Tag) && _bits >= 0);
    }

    /// <summary>The number as a float, if this is any number.</summary>
    public bool TryGetF64(out double value)
    {
        switch (Kind)
        {
            case ValueKind.F64: value = BitConverter.Int64BitsToDouble(_bits); return true;
            case ValueKind.I64: value = _bits; return true;
            case ValueKind.U64: value = unchecked((ulong)_bits); return true;
            default: value = 0; return false;
        }
    }

    /// <summary>The string, or null when this is not a string.</summary>
    public string? AsString() => Kind == ValueKind.String ? Text() : null;

    /// <summary>The bytes, or null when this is not bytes.</summary>
    public byte[]? AsBytes() => Kind == ValueKind.Bytes ? Ref<byte[]>() : null;

    /// <summary>The array, or null when this is not an array.</summary>
    public List<Value>? AsArray() => Kind == ValueKind.Array ? Ref<List<Value>>() : null;

    /// <summary>The record, or null when this is not a record.</summary>
    public ValueRecord? AsRecord() => _ref as ValueRecord; // sealed: one type comparison, no kind to derive first

    /// <summary>The bool; false for anything else.</summary>
    public bool AsBool() => ReferenceEquals(_ref, BoolTag) && _bits != 0;

    /// <summary>The raw signed integer bits (meaningful for I64 and U64 only: other kinds keep other things here).</summary>
    public long RawI64 => _bits;

    /// <summary>The float; only meaningful for F64.</summary>
    public double RawF64 => BitConverter.Int64BitsToDouble(_bits);

    /// <summary>Field of a record, or <see cref="Null"/>.</summary>
    public Value this[string key] => AsRecord() is { } record && record.TryGetValue(key, out var v) ? v : default;

    /// <summary>Element of an array, or <see cref="Null"/>.</summary>
    public Value this[int index] => AsArray() is { } array && (uint)index < (uint)array.Count ? array[index] : default;

    /// <summary>Structural equality; integers compare by value across signedness, floats equal to integers compare equal.</summary>
    public bool Equals(Value other)
    {
        if (Kind != other.Kind)
        {
            if (IsNumber && other.IsNumber && TryGetF64(out var a) && other.TryGetF64(out var b))
            {
                return a == b && (Kind != ValueKind.U64 && other.Kind != ValueKind.U64 || _bits == other._bits);
            }
            return false;
        }
        switch (Kind)
        {
            case ValueKind.Null: return true;
            case ValueKind.Bool:
            case ValueKind.I64:
            case ValueKind.U64: return _bits == other._bits;
            case ValueKind.F64: return RawF64.Equals(other.RawF64);
            case ValueKind.String:
                return _ref is Utf8String mine && other._ref is Utf8String theirs
                    ? mine.Utf8.Span.SequenceEqual(theirs.Utf8.Span)
                    : string.Equals(Text(), other.Text(), StringComparison.Ordinal);
            case ValueKind.Bytes: return Ref<byte[]>().AsSpan().SequenceEqual(other.Ref<byte[]>());
            case ValueKind.Array:
                {
                    var x = Ref<List<Value>>();
                    var y = other.Ref<List<Value>>();
                    if (x.Count != y.Count) return false;
                    for (var i = 0; i < x.Count; i++)
                    {
                        if (!x[i].Equals(y[i])) return false;
                    }
                    return true;
                }
            case ValueKind.Record: return Ref<ValueRecord>().ContentEquals(other.Ref<ValueRecord>());
            default: return false;
        }
    }

    /// <summary>True for I64, U64 and F64.</summary>
    public bool IsNumber => Kind is ValueKind.I64 or ValueKind.U64 or ValueKind.F64;

    public override bool Equals(object? obj) => obj is Value v && Equals(v);

    public override int GetHashCode() => Kind switch
    {
        ValueKind.String => StringComparer.Ordinal.GetHashCode(Text()),
        ValueKind.F64 => RawF64.GetHashCode(),
        ValueKind.I64 => ((double)_bits).GetHashCode(),
        ValueKind.Array => HashCode.Combine(Kind, Ref<List<Value>>().Count),
        ValueKind.Record => HashCode.Combine(Kind, Ref<ValueRecord>().Count),
        ValueKind.Bytes => HashCode.Combine(Kind, Ref<byte[]>().Length),
        _ => HashCode.Combine(Kind, _bits),
    };

    public static bool operator ==(Value left, Value right) => left.Equals(right);
    public static bool operator !=(Value left, Value right) => !left.Equals(right);

    /// <summary>A compact JSON-like rendering, for logs and messages (bytes render as base64 strings).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendTo(sb);
        return sb.ToString();
    }

    private void AppendTo(StringBuilder sb)
    {
        switch (Kind)
        {
            case ValueKind.Null: sb.Append("null"); break;
            case ValueKind.Bool: sb.Append(_bits != 0 ? "true" : "false"); break;
            case ValueKind.I64: sb.Append(_bits.ToString(CultureInfo.InvariantCulture)); break;
            case ValueKind.U64: sb.Append(unchecked((ulong)_bits).ToString(CultureInfo.InvariantCulture)); break;
            case ValueKind.F64: sb.Append(RawF64.ToString("R", CultureInfo.InvariantCulture)); break;
            case ValueKind.String: AppendQuoted(sb, Text()); break;
            case ValueKind.Bytes: AppendQuoted(sb, Convert.ToBase64String(Ref<byte[]>())); break;
            case ValueKind.Array:
                sb.Append('[');
                var first = true;
                foreach (var item in Ref<List<Value>>())
                {
                    if (!first) sb.Append(',');
                    first = false;
                    item.AppendTo(sb);
                }
                sb.Append(']');
                break;
            case ValueKind.Record:
                sb.Append('{');
                var firstField = true;
                foreach (var (key, value) in Ref<ValueRecord>())
                {
                    if (!firstField) sb.Append(',');
                    firstField = false;
                    AppendQuoted(sb, key);
                    sb.Append(':');
                    value.AppendTo(sb);
                }
                sb.Append('}');
                break;
        }
    }

    private static void AppendQuoted(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
