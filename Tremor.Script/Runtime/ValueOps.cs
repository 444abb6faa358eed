using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Script.Runtime;

/// <summary>Operators and helpers over <see cref="Value"/> with Tremor's semantics.</summary>
internal static class ValueOps
{
    public static string TypeName(Value v) => v.Kind switch
    {
        ValueKind.Null => "null",
        ValueKind.Bool => "bool",
        ValueKind.I64 or ValueKind.U64 => "integer",
        ValueKind.F64 => "float",
        ValueKind.String => "string",
        ValueKind.Bytes => "binary",
        ValueKind.Array => "array",
        ValueKind.Record => "record",
        _ => "unknown",
    };

    public static bool IsInt(Value v) => v.Kind is ValueKind.I64 or ValueKind.U64;

    /// <summary>Strings as they are, everything else as JSON: what <c>#{...}</c> and string::format insert.</summary>
    public static string Display(Value v) => v.Kind switch
    {
        ValueKind.String => v.AsString()!,
        ValueKind.Null => "null",
        ValueKind.I64 => v.RawI64.ToString(CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };

    public static Value Add(Value a, Value b, int pos)
    {
        if (a.Kind == ValueKind.I64 && b.Kind == ValueKind.I64)
        {
            var r = a.RawI64 + b.RawI64;
            if (((a.RawI64 ^ r) & (b.RawI64 ^ r)) < 0) throw Overflow(pos, a, "+", b);
            return Value.From(r);
        }
        if (a.Kind == ValueKind.String && b.Kind == ValueKind.String) return Value.From(string.Concat(a.AsString(), b.AsString()));
        if (a.Kind == ValueKind.Array && b.Kind == ValueKind.Array)
        {
            var x = a.AsArray()!;
            var y = b.AsArray()!;
            var list = new List<Value>(x.Count + y.Count);
            list.AddRange(x);
            list.AddRange(y);
            return Value.From(list);
        }
        return Numeric(a, b, "+", pos);
    }

    public static Value Arith(string op, Value a, Value b, int pos)
    {
        if (IsInt(a) && IsInt(b))
        {
            if (a.Kind == ValueKind.U64 || b.Kind == ValueKind.U64) return Numeric(a, b, op, pos);
            long x = a.RawI64, y = b.RawI64;
            try
            {
                switch (op)
                {
                    case "-": return Value.From(checked(x - y));
                    case "*": return Value.From(checked(x * y));
                    case "/":
                        // Tremor divides integers as floats, exact or not: 4 / 2 is 2.0.
                        if (y == 0) throw DivisionByZero(pos, a, "/");
                        return Value.From((double)x / y);
                    case "%":
                        if (y == 0) throw DivisionByZero(pos, a, "%");
                        return Value.From(x % y);
                    case "&": return Value.From(x & y);
                    case "|": return Value.From(x | y);
                    case "^": return Value.From(x ^ y);
                    case "<<": return y is < 0 or > 63 ? throw BadShift(pos, y) : Value.From(x << (int)y);
                    case ">>": return y is < 0 or > 63 ? throw BadShift(pos, y) : Value.From(x >> (int)y);
                    case ">>>": return y is < 0 or > 63 ? throw BadShift(pos, y) : Value.From((long)((ulong)x >> (int)y));
                }
            }
            catch (OverflowException)
            {
                throw Overflow(pos, a, op, b);
            }
        }
        if (op is "&" or "|" or "^" && a.Kind == ValueKind.Bool && b.Kind == ValueKind.Bool)
        {
            var (x, y) = (a.AsBool(), b.AsBool());
            return Value.From(op == "&" ? x & y : op == "|" ? x | y : x ^ y);
        }
        if (op is "&" or "|" or "^" or "<<" or ">>" or ">>>") throw TypeMismatch(pos, a, op, b);
        return Numeric(a, b, op, pos);
    }

    private static Value Numeric(Value a, Value b, string op, int pos)
    {
        if (!a.TryGetF64(out var x) || !b.TryGetF64(out var y)) throw TypeMismatch(pos, a, op, b);
        if (op is "/" or "%" && y == 0 && IsInt(b)) throw DivisionByZero(pos, a, op);
        // `%` is for integers only, as in Tremor.
        return op switch
        {
            "+" => Value.From(x + y),
            "-" => Value.From(x - y),
            "*" => Value.From(x * y),
            "/" => Value.From(x / y),
            "%" when IsInt(a) && IsInt(b) => Value.From(x % y),
            _ => throw TypeMismatch(pos, a, op, b),
        };
    }

    public static Value Negate(Value a, int pos) => a.Kind switch
    {
        ValueKind.I64 when a.RawI64 == long.MinValue => throw new RuntimeError(pos, $"The unary operation `-` caused an over- or underflow (-({a}) does not fit a 64-bit integer)"),
        ValueKind.I64 => Value.From(-a.RawI64),
        ValueKind.F64 => Value.From(-a.RawF64),
        _ => throw new RuntimeError(pos, $"The unary operation `-` is not defined for the type `{TypeName(a)}`"),
    };

    public static int Compare(Value a, Value b, string op, int pos)
    {
        if (a.IsNumber && b.IsNumber)
        {
            if (a.Kind == ValueKind.I64 && b.Kind == ValueKind.I64) return a.RawI64.CompareTo(b.RawI64);
            a.TryGetF64(out var x);
            b.TryGetF64(out var y);
            return x.CompareTo(y);
        }
        if (a.Kind == ValueKind.String && b.Kind == ValueKind.String) return string.CompareOrdinal(a.AsString(), b.AsString());
        if (a.Kind == ValueKind.Bool && b.Kind == ValueKind.Bool) return a.AsBool().CompareTo(b.AsBool());
        // Binaries order byte by byte, as Tremor's `<<1>> < <<2>>`.
        if (a.Kind == ValueKind.Bytes && b.Kind == ValueKind.Bytes) return a.AsBytes().AsSpan().SequenceCompareTo(b.AsBytes());
        if (a.Kind == ValueKind.Array && b.Kind == ValueKind.Array)
        {
            var x = a.AsArray()!;
            var y = b.AsArray()!;
            for (var i = 0; i < Math.Min(x.Count, y.Count); i++)
            {
                var c = Compare(x[i], y[i], op, pos);
                if (c != 0) return c;
            }
            return x.Count.CompareTo(y.Count);
        }
        throw TypeMismatch(pos, a, op, b);
    }

    /// <summary>Ordering for sorting mixed values: by type, then by value.</summary>
    public static int SortCompare(Value a, Value b)
    {
        var ka = a.IsNumber ? 2 : (int)a.Kind;
        var kb = b.IsNumber ? 2 : (int)b.Kind;
        if (ka != kb) return ka.CompareTo(kb);
        return a.Kind is ValueKind.Record or ValueKind.Bytes or ValueKind.Null ? 0 : Compare(a, b, "<", 0);
    }

    public static bool Bool(Value v, int pos, string what) =>
        v.Kind == ValueKind.Bool ? v.AsBool() : throw new RuntimeError(pos, $"{what} must be a bool, got {TypeName(v)} {Short(v)}");

    public static string Short(Value v)
    {
        var s = v.ToString();
        return s.Length > 60 ? s[..57] + "..." : s;
    }

    // Tremor's wording, then the values at hand.
    private static RuntimeError TypeMismatch(int pos, Value a, string op, Value b) =>
        new(pos, $"The binary operation `{op}` is not defined for the type `{TypeName(a)}` and `{TypeName(b)}` ({Short(a)} {op} {Short(b)})");

    private static RuntimeError Overflow(int pos, Value a, string op, Value b) =>
        new(pos, $"The binary operation `{op}` caused an over- or underflow ({a} {op} {b} does not fit a 64-bit integer)");

    private static RuntimeError DivisionByZero(int pos, Value a, string op) =>
        new(pos, $"The binary operation `{op}` must have a non zero RHS ({Short(a)} {op} 0)");

    private static RuntimeError BadShift(int pos, long by) =>
        new(pos, $"RHS value is larger than or equal to the number of bits in LHS value (a shift by {by}; 0 to 63 are valid)");

    // Rust's f64::EPSILON: Tremor's == treats floats this close as equal.
    private const double FloatEpsilon = 2.220446049250313e-16;

    /// <summary>
    /// Tremor's <c>==</c>: structural, a string equals a binary holding its UTF-8, and numbers where a float is
    /// involved are equal within f64 epsilon.
    /// </summary>
    public static bool TremorEquals(Value a, Value b)
    {
        switch (a.Kind, b.Kind)
        {
            case (ValueKind.String, ValueKind.Bytes): return Encoding.UTF8.GetBytes(a.AsString()!).AsSpan().SequenceEqual(b.AsBytes());
            case (ValueKind.Bytes, ValueKind.String): return TremorEquals(b, a);
            case (ValueKind.F64, _) or (_, ValueKind.F64) when a.IsNumber && b.IsNumber:
                a.TryGetF64(out var x);
                b.TryGetF64(out var y);
                return x == y || Math.Abs(x - y) < FloatEpsilon;
            case (ValueKind.Array, ValueKind.Array):
                {
                    var l = a.AsArray()!;
                    var r = b.AsArray()!;
                    if (l.Count != r.Count) return false;
                    for (var i = 0; i < l.Count; i++)
                    {
                        if (!TremorEquals(l[i], r[i])) return false;
                    }
                    return true;
                }
            case (ValueKind.Record, ValueKind.Record):
                {
                    var l = a.AsRecord()!;
                    var r = b.AsRecord()!;
                    if (l.Count != r.Count) return false;
                    foreach (var (k, v) in l)
                    {
                        if (!r.TryGetValue(k, out var w) || !TremorEquals(v, w)) return false;
                    }
                    return true;
                }
            default: return a.Equals(b);
        }
    }

    public static Value ShallowCopy(Value v)
    {
        if (v.AsRecord() is { } r)
        {
            var copy = new ValueRecord(r.Count + 2);
            foreach (var (k, x) in r) copy.Append(k, x);
            return Value.From(copy);
        }
        if (v.AsArray() is { } a) return Value.From(new List<Value>(a));
        return v;
    }

    public static Value DeepCopy(Value v)
    {
        if (v.AsRecord() is { } r)
        {
            var copy = new ValueRecord(r.Count + 2);
            foreach (var (k, x) in r) copy.Append(k, DeepCopy(x));
            return Value.From(copy);
        }
        if (v.AsArray() is { } a)
        {
            var list = new List<Value>(a.Count);
            foreach (var x in a) list.Add(DeepCopy(x));
            return Value.From(list);
        }
        return v;
    }

    /// <summary>
    /// Tremor's merge: when both are records they merge key by key, recursively; otherwise the second replaces the
    /// first. <c>null</c> is a value like any other (Tremor dropped RFC 7386's "null deletes"). Never mutates its inputs.
    /// </summary>
    public static Value Merge(Value target, Value with)
    {
        if (with.AsRecord() is not { } patch || target.AsRecord() is null) return with;
        var result = ShallowCopy(target).AsRecord()!;
        foreach (var (k, v) in patch) result.Set(k, result.TryGetValue(k, out var old) ? Merge(old, v) : v);
        return Value.From(result);
    }

    /// <summary>Tremor's <c>default =&gt;</c>: keys missing in the target are added, records present in both get their defaults recursively.</summary>
    public static void ApplyDefault(ValueRecord target, ValueRecord defaults)
    {
        foreach (var (k, v) in defaults)
        {
            if (!target.TryGetValue(k, out var existing)) target.Set(k, v);
            else if (existing.AsRecord() is not null && v.AsRecord() is { } inner)
            {
                var copy = ShallowCopy(existing);
                ApplyDefault(copy.AsRecord()!, inner);
                target.Set(k, copy);
            }
        }
    }

    public static string Interpolate(List<object> parts, Value[] values)
    {
        var sb = new StringBuilder();
        var j = 0;
        foreach (var p in parts)
        {
            if (p is string s) sb.Append(s);
            else sb.Append(Display(values[j++]));
        }
        return sb.ToString();
    }
}
