using System.Text;
using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

// Modules Tremor's standard library has and ours lacked: time::nanos, base64, url, range, size, path, float tests.
internal static partial class FunctionRegistry
{
    private static readonly (string Unit, long Factor)[] NanoUnits =
    [
        ("weeks", 604_800_000_000_000), ("days", 86_400_000_000_000), ("hours", 3_600_000_000_000), ("minutes", 60_000_000_000),
        ("seconds", 1_000_000_000), ("millis", 1_000_000), ("micros", 1_000),
    ];

    private static void RegisterMore()
    {
        foreach (var (unit, factor) in NanoUnits)
        {
            var from = $"time::nanos::from_{unit}";
            var to = $"time::nanos::to_{unit}";
            Add(from, 1, a => Nanos(a, factor, from));
            // Tremor divides: whole units stay integers, the rest becomes a float.
            Add(to, 1, a => ValueOps.Arith("/", a[0].IsNumber ? a[0] : throw new FunctionError($"{to}: argument 1 must be a number, got {ValueOps.TypeName(a[0])}"), Value.From(factor), 0));
            Functions.TryAdd($"nanos::from_{unit}", Functions[from]);
            Functions.TryAdd($"nanos::to_{unit}", Functions[to]);
        }

        Add("base64::encode", 1, a => Value.From(Convert.ToBase64String(Bytes(a, 0, "base64::encode"))));
        Add("base64::decode", 1, a =>
        {
            var s = Str(a, 0, "base64::decode");
            try
            {
                return Value.From(Convert.FromBase64String(s));
            }
            catch (FormatException)
            {
                throw new FunctionError($"base64::decode: `{s}` is not valid base64");
            }
        });

        Add("url::encode", 1, a => Value.From(Uri.EscapeDataString(Str(a, 0, "url::encode"))));
        Add("url::decode", 1, a => Value.From(Uri.UnescapeDataString(Str(a, 0, "url::decode").Replace('+', ' '))));

        Add("range::range", 2, a =>
        {
            var from = Int(a, 0, "range::range");
            var to = Int(a, 1, "range::range");
            if (to - from > 10_000_000) throw new FunctionError($"range::range: {from}..{to} is more than 10000000 elements");
            var list = new List<Value>((int)Math.Max(0, to - from));
            for (var i = from; i < to; i++) list.Add(Value.From(i));
            return Value.From(list);
        });
        Add("range::contains", 2, a =>
        {
            var r = Arr(a, 0, "range::contains");
            if (r.Count == 0) return Value.False;
            return Value.From(ValueOps.Compare(r[0], a[1], "<=", 0) <= 0 && ValueOps.Compare(r[^1], a[1], ">=", 0) >= 0);
        });

        Add("size::kibi", 1, a => Nanos(a, 1024, "size::kibi"));
        Add("size::mebi", 1, a => Nanos(a, 1024 * 1024, "size::mebi"));

        Add("path::try_default", 3, a =>
        {
            var v = a[0];
            foreach (var segment in Arr(a, 1, "path::try_default"))
            {
                if (segment.AsString() is { } key && v.AsRecord() is { } r && r.TryGetValue(key, out var x)) v = x;
                else if (segment.TryGetI64(out var i) && v.AsArray() is { } arr && i >= 0 && i < arr.Count) v = arr[(int)i];
                else return a[2];
            }
            return v;
        });

        Add("float::is_finite", 1, a => Value.From(!FloatArg(a, "float::is_finite", out var f) || double.IsFinite(f)));
        Add("float::is_nan", 1, a => Value.From(FloatArg(a, "float::is_nan", out var f) && double.IsNaN(f)));
        Add("float::is_infinite", 1, a => Value.From(FloatArg(a, "float::is_infinite", out var f) && double.IsInfinity(f)));
    }

    private static byte[] Bytes(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].AsBytes() ?? (a[i].AsString() is { } s ? Encoding.UTF8.GetBytes(s) : throw new FunctionError($"{fn}: argument {i + 1} must be binary or a string, got {ValueOps.TypeName(a[i])}"));

    // True when the argument is a float (non-float numbers are always finite, never NaN); errors on non-numbers.
    private static bool FloatArg(ReadOnlySpan<Value> a, string fn, out double f)
    {
        f = 0;
        if (!a[0].IsNumber) throw new FunctionError($"{fn}: argument 1 must be a number, got {ValueOps.TypeName(a[0])}");
        return a[0].Kind == ValueKind.F64 && a[0].TryGetF64(out f);
    }
}
