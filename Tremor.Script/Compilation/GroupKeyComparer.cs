using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Script.Compilation;

/// <summary>
/// Two group values are one group when they render alike (<see cref="Value.ToString"/>): what a windowed select's
/// groups were keyed by, compared here without rendering them per event. Structural for the kinds whose rendering is
/// (null, bools, integers, strings, arrays, records in their key order); floats and binaries, whose rendering is not
/// (<c>1.0</c> renders as <c>1</c>, a binary as its base64), are compared by that rendering.
/// </summary>
internal sealed class GroupKeyComparer : IEqualityComparer<Value>
{
    public static GroupKeyComparer Instance { get; } = new();

    public bool Equals(Value a, Value b)
    {
        switch (a.Kind)
        {
            case ValueKind.Null: return b.Kind == ValueKind.Null;
            case ValueKind.Bool: return b.Kind == ValueKind.Bool && a.AsBool() == b.AsBool();
            case ValueKind.I64 when b.Kind == ValueKind.I64: return a.RawI64 == b.RawI64;
            case ValueKind.I64 or ValueKind.U64 or ValueKind.F64:
                return b.Kind is ValueKind.I64 or ValueKind.U64 or ValueKind.F64 && string.Equals(Number(a), Number(b), StringComparison.Ordinal);
            case ValueKind.String when b.Kind == ValueKind.String:
                return string.Equals(a.AsString(), b.AsString(), StringComparison.Ordinal);
            case ValueKind.String or ValueKind.Bytes:
                return b.Kind is ValueKind.String or ValueKind.Bytes && string.Equals(Text(a), Text(b), StringComparison.Ordinal);
            case ValueKind.Array:
                {
                    if (b.AsArray() is not { } y) return false;
                    var x = a.AsArray()!;
                    if (x.Count != y.Count) return false;
                    for (var i = 0; i < x.Count; i++)
                    {
                        if (!Equals(x[i], y[i])) return false;
                    }
                    return true;
                }
            case ValueKind.Record:
                {
                    if (b.AsRecord() is not { } y) return false;
                    var x = a.AsRecord()!;
                    if (x.Count != y.Count) return false;
                    var xk = x.KeySpan;
                    var yk = y.KeySpan;
                    var xv = x.ValueSpan;
                    var yv = y.ValueSpan;
                    for (var i = 0; i < xk.Length; i++)
                    {
                        if (!string.Equals(xk[i], yk[i], StringComparison.Ordinal) || !Equals(xv[i], yv[i])) return false;
                    }
                    return true;
                }
            default: return false;
        }
    }

    public int GetHashCode(Value v)
    {
        switch (v.Kind)
        {
            case ValueKind.Null: return 1;
            case ValueKind.Bool: return v.AsBool() ? 3 : 2;
            case ValueKind.I64: return v.RawI64.GetHashCode();
            case ValueKind.U64 or ValueKind.F64:
                {
                    // Alike with an integer that renders the same.
                    var text = Number(v);
                    return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                        ? n.GetHashCode() : StringComparer.Ordinal.GetHashCode(text);
                }
            case ValueKind.String or ValueKind.Bytes: return StringComparer.Ordinal.GetHashCode(Text(v));
            case ValueKind.Array:
                {
                    var hash = new HashCode();
                    hash.Add(ValueKind.Array);
                    foreach (var item in v.AsArray()!) hash.Add(GetHashCode(item));
                    return hash.ToHashCode();
                }
            case ValueKind.Record:
                {
                    var hash = new HashCode();
                    hash.Add(ValueKind.Record);
                    var r = v.AsRecord()!;
                    var keys = r.KeySpan;
                    var values = r.ValueSpan;
                    for (var i = 0; i < keys.Length; i++)
                    {
                        hash.Add(StringComparer.Ordinal.GetHashCode(keys[i]));
                        hash.Add(GetHashCode(values[i]));
                    }
                    return hash.ToHashCode();
                }
            default: return 0;
        }
    }

    // A number as it renders; a string or binary as the text between its quotes.
    private static string Number(Value v) => v.ToString();

    private static string Text(Value v) => v.AsString() ?? Convert.ToBase64String(v.AsBytes()!);
}
