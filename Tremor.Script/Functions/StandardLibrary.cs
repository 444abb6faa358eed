using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

internal static partial class FunctionRegistry
{
    private static void RegisterString()
    {
        Add("string::len", 1, a => Value.From((long)new StringInfo(Str(a, 0, "string::len")).LengthInTextElements));
        Add("string::bytes", 1, a => Value.From((long)Encoding.UTF8.GetByteCount(Str(a, 0, "string::bytes"))));
        Add("string::is_empty", 1, a => Value.From(Str(a, 0, "string::is_empty").Length == 0));
        Add("string::lowercase", 1, a => Value.From(Str(a, 0, "string::lowercase").ToLowerInvariant()));
        Add("string::uppercase", 1, a => Value.From(Str(a, 0, "string::uppercase").ToUpperInvariant()));
        Add("string::capitalize", 1, a =>
        {
            var s = Str(a, 0, "string::capitalize");
            return Value.From(s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..]);
        });
        Add("string::trim", 1, a => Value.From(Str(a, 0, "string::trim").Trim()));
        Add("string::trim_start", 1, a => Value.From(Str(a, 0, "string::trim_start").TrimStart()));
        Add("string::trim_end", 1, a => Value.From(Str(a, 0, "string::trim_end").TrimEnd()));
        Add("string::contains", 2, a => Value.From(Str(a, 0, "string::contains").Contains(Str(a, 1, "string::contains"), StringComparison.Ordinal)));
        Add("string::starts_with", 2, a => Value.From(Str(a, 0, "string::starts_with").StartsWith(Str(a, 1, "string::starts_with"), StringComparison.Ordinal)));
        Add("string::ends_with", 2, a => Value.From(Str(a, 0, "string::ends_with").EndsWith(Str(a, 1, "string::ends_with"), StringComparison.Ordinal)));
        Add("string::replace", 3, a =>
        {
            var from = Str(a, 1, "string::replace");
            if (from.Length == 0) throw new FunctionError("string::replace: the text to replace must not be empty");
            return Value.From(Str(a, 0, "string::replace").Replace(from, Str(a, 2, "string::replace"), StringComparison.Ordinal));
        });
        Add("string::reverse", 1, a =>
        {
            var chars = Str(a, 0, "string::reverse").ToCharArray();
            Array.Reverse(chars);
            return Value.From(new string(chars));
        });
        Add("string::split", 2, a =>
        {
            var sep = Str(a, 1, "string::split");
            var s = Str(a, 0, "string::split");
            var parts = sep.Length == 0 ? s.Select(c => c.ToString()).ToArray() : s.Split(sep);
            var list = new List<Value>(parts.Length);
            foreach (var p in parts) list.Add(Value.From(p));
            return Value.From(list);
        });
        // Codepoint indexes, as Tremor's; an end past the string is its end.
        Add("string::substr", 3, a =>
        {
            var s = Str(a, 0, "string::substr");
            var start = Int(a, 1, "string::substr");
            var end = Int(a, 2, "string::substr");
            var runes = s.EnumerateRunes().ToArray();
            var stop = Math.Min(end, runes.Length);
            if (start < 0 || stop < start)
                throw new FunctionError($"string::substr: range {start}..{end} is outside the string of {runes.Length} codepoints");
            var sb = new StringBuilder();
            for (var i = (int)start; i < stop; i++) sb.Append(runes[i].ToString());
            return Value.From(sb.ToString());
        });
        Add("string::format", 1, int.MaxValue, a =>
        {
            var format = Str(a, 0, "string::format");
            var sb = new StringBuilder();
            var next = 1;
            for (var i = 0; i < format.Length; i++)
            {
                if (format[i] == '{' && i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i++; }
                else if (format[i] == '}' && i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i++; }
                else if (format[i] == '{' && i + 1 < format.Length && format[i + 1] == '}')
                {
                    if (next >= a.Length) throw new FunctionError($"string::format: more `{{}}` placeholders than the {a.Length - 1} arguments");
                    sb.Append(ValueOps.Display(a[next++]));
                    i++;
                }
                else sb.Append(format[i]);
            }
            if (next != a.Length) throw new FunctionError($"string::format: {a.Length - next} arguments left over for the placeholders");
            return Value.From(sb.ToString());
        });
        Add("string::into_binary", 1, a => Value.From(Encoding.UTF8.GetBytes(Str(a, 0, "string::into_binary"))));
        Add("string::from_utf8_lossy", 1, a => Value.From(Encoding.UTF8.GetString(a[0].AsBytes() ?? throw new FunctionError("string::from_utf8_lossy: argument 1 must be binary"))));

        Add("re::is_match", 2, a => Value.From(Regex(a, "re::is_match").IsMatch(Str(a, 1, "re::is_match"))));
        Add("re::replace", 3, a => Value.From(Regex(a, "re::replace").Replace(Str(a, 1, "re::replace"), Str(a, 2, "re::replace"), 1)));
        Add("re::replace_all", 3, a => Value.From(Regex(a, "re::replace_all").Replace(Str(a, 1, "re::replace_all"), Str(a, 2, "re::replace_all"))));
        Add("re::split", 2, a =>
        {
            var list = new List<Value>();
            foreach (var p in Regex(a, "re::split").Split(Str(a, 1, "re::split"))) list.Add(Value.From(p));
            return Value.From(list);
        });
        Add("re::captures", 2, a =>
        {
            var m = Regex(a, "re::captures").Match(Str(a, 1, "re::captures"));
            if (!m.Success) return Value.Null;
            var r = new ValueRecord();
            var re = Regex(a, "re::captures");
            foreach (var name in re.GetGroupNames())
            {
                if (m.Groups[name].Success) r.Set(name, Value.From(m.Groups[name].Value));
            }
            return Value.From(r);
        });
    }

    // The framework caches compiled patterns; this only turns a bad pattern into a readable error.
    private static Regex Regex(ReadOnlySpan<Value> a, string fn)
    {
        var pattern = Str(a, 0, fn);
        try
        {
            return RegexCache.Get(pattern);
        }
        catch (ArgumentException e)
        {
            throw new FunctionError($"{fn}: invalid regex `{pattern}`: {e.Message}");
        }
    }

    private static void RegisterMath()
    {
        Add("math::floor", 1, a => a[0].Kind == ValueKind.I64 ? a[0] : Value.From((long)Math.Floor(Num(a, 0, "math::floor"))));
        Add("math::ceil", 1, a => a[0].Kind == ValueKind.I64 ? a[0] : Value.From((long)Math.Ceiling(Num(a, 0, "math::ceil"))));
        Add("math::round", 1, a => a[0].Kind == ValueKind.I64 ? a[0] : Value.From((long)Math.Round(Num(a, 0, "math::round"), MidpointRounding.AwayFromZero)));
        Add("math::trunc", 1, a => a[0].Kind == ValueKind.I64 ? a[0] : Value.From((long)Math.Truncate(Num(a, 0, "math::trunc"))));
        Add("math::abs", 1, a => a[0].Kind == ValueKind.I64
            ? (a[0].RawI64 == long.MinValue ? throw new FunctionError("math::abs: arithmetic overflow") : Value.From(Math.Abs(a[0].RawI64)))
            : Value.From(Math.Abs(Num(a, 0, "math::abs"))));
        Add("math::sqrt", 1, a => Value.From(Math.Sqrt(Num(a, 0, "math::sqrt"))));
        Add("math::pow", 2, a => Value.From(Math.Pow(Num(a, 0, "math::pow"), Num(a, 1, "math::pow"))));
        Add("math::max", 2, a => ValueOps.Compare(a[0], a[1], "math::max", 0) >= 0 ? a[0] : a[1]);
        Add("math::min", 2, a => ValueOps.Compare(a[0], a[1], "math::min", 0) <= 0 ? a[0] : a[1]);
    }

    private static void RegisterArray()
    {
        Add("array::len", 1, a => Value.From((long)Arr(a, 0, "array::len").Count));
        Add("array::is_empty", 1, a => Value.From(Arr(a, 0, "array::is_empty").Count == 0));
        Add("array::contains", 2, a =>
        {
            foreach (var x in Arr(a, 0, "array::contains"))
            {
                if (ValueOps.TremorEquals(x, a[1])) return Value.True;
            }
            return Value.False;
        });
        Add("array::push", 2, a => Value.From(new List<Value>(Arr(a, 0, "array::push")) { a[1] }));
        Add("array::concatenate", 2, a => Value.From([.. Arr(a, 0, "array::concatenate"), .. Arr(a, 1, "array::concatenate")]));
        Add("array::join", 2, a =>
        {
            var sep = Str(a, 1, "array::join");
            return Value.From(string.Join(sep, Arr(a, 0, "array::join").Select(ValueOps.Display)));
        });
        Add("array::flatten", 1, a =>
        {
            var result = new List<Value>();
            Flatten(Arr(a, 0, "array::flatten"), result);
            return Value.From(result);
        });
        Add("array::coalesce", 1, a => Value.From(Arr(a, 0, "array::coalesce").Where(x => !x.IsNull).ToList()));
        Add("array::sort", 1, a =>
        {
            var list = new List<Value>(Arr(a, 0, "array::sort"));
            list.Sort(ValueOps.SortCompare);
            return Value.From(list);
        });
        Add("array::reverse", 1, a =>
        {
            var list = new List<Value>(Arr(a, 0, "array::reverse"));
            list.Reverse();
            return Value.From(list);
        });
        Add("array::zip", 2, a =>
        {
            var x = Arr(a, 0, "array::zip");
            var y = Arr(a, 1, "array::zip");
            if (x.Count != y.Count) throw new FunctionError($"array::zip: arrays differ in length ({x.Count} and {y.Count})");
            var list = new List<Value>(x.Count);
            for (var i = 0; i < x.Count; i++) list.Add(Value.From(new List<Value> { x[i], y[i] }));
            return Value.From(list);
        });
        Add("array::unzip", 1, a =>
        {
            var x = new List<Value>();
            var y = new List<Value>();
            foreach (var pair in Arr(a, 0, "array::unzip"))
            {
                if (pair.AsArray() is not { Count: 2 } p) throw new FunctionError("array::unzip: every element must be a two-element array");
                x.Add(p[0]);
                y.Add(p[1]);
            }
            return Value.From(new List<Value> { Value.From(x), Value.From(y) });
        });
    }

    private static void Flatten(List<Value> source, List<Value> into)
    {
        foreach (var x in source)
        {
            if (x.AsArray() is { } inner) Flatten(inner, into);
            else into.Add(x);
        }
    }

    private static void RegisterRecord()
    {
        Add("record::len", 1, a => Value.From((long)Rec(a, 0, "record::len").Count));
        Add("record::is_empty", 1, a => Value.From(Rec(a, 0, "record::is_empty").Count == 0));
        Add("record::contains", 2, a => Value.From(Rec(a, 0, "record::contains").ContainsKey(Str(a, 1, "record::contains"))));
        Add("record::keys", 1, a => Value.From(Rec(a, 0, "record::keys").Select(kv => Value.From(kv.Key)).ToList()));
        Add("record::values", 1, a => Value.From(Rec(a, 0, "record::values").Select(kv => kv.Value).ToList()));
        Add("record::to_array", 1, a => Value.From(Rec(a, 0, "record::to_array").Select(kv => Value.From(new List<Value> { kv.Key, kv.Value })).ToList()));
        Add("record::from_array", 1, a =>
        {
            var r = new ValueRecord();
            foreach (var pair in Arr(a, 0, "record::from_array"))
            {
                if (pair.AsArray() is not { Count: 2 } p || p[0].AsString() is not { } key)
                    throw new FunctionError("record::from_array: every element must be a [key, value] pair with a string key");
                r.Set(key, p[1]);
            }
            return Value.From(r);
        });
        Add("record::select", 2, a =>
        {
            var source = Rec(a, 0, "record::select");
            var r = new ValueRecord();
            foreach (var k in Arr(a, 1, "record::select"))
            {
                if (k.AsString() is { } key && source.TryGetValue(key, out var v)) r.Set(key, v);
            }
            return Value.From(r);
        });
        Add("record::extract", 2, a => Functions["record::select"].Fn(a));
        Add("record::merge", 2, a =>
        {
            Rec(a, 0, "record::merge");
            Rec(a, 1, "record::merge");
            return ValueOps.Merge(a[0], a[1]);
        });
        Add("record::remove", 2, a =>
        {
            Rec(a, 0, "record::remove");
            var copy = ValueOps.ShallowCopy(a[0]);
            copy.AsRecord()!.Remove(Str(a, 1, "record::remove"));
            return copy;
        });
        // Tremor's form takes a record of renames {"old": "new"}; the older (record, from, to) still works.
        Add("record::rename", 2, 3, a =>
        {
            var source = Rec(a, 0, "record::rename");
            var renames = new Dictionary<string, string>(StringComparer.Ordinal);
            if (a.Length == 3) renames[Str(a, 1, "record::rename")] = Str(a, 2, "record::rename");
            else
            {
                foreach (var (from, to) in Rec(a, 1, "record::rename"))
                    renames[from] = to.AsString() ?? throw new FunctionError($"record::rename: the new name of `{from}` must be a string, got {ValueOps.TypeName(to)}");
            }
            var r = new ValueRecord(source.Count);
            foreach (var (k, v) in source) r.Set(renames.TryGetValue(k, out var renamed) ? renamed : k, v);
            return Value.From(r);
        });
    }

    private static void RegisterType()
    {
        Add("type::as_string", 1, a => Value.From(ValueOps.TypeName(a[0])));
        Add("type::is_null", 1, a => Value.From(a[0].IsNull));
        Add("type::is_bool", 1, a => Value.From(a[0].Kind == ValueKind.Bool));
        Add("type::is_integer", 1, a => Value.From(ValueOps.IsInt(a[0])));
        Add("type::is_float", 1, a => Value.From(a[0].Kind == ValueKind.F64));
        Add("type::is_number", 1, a => Value.From(a[0].IsNumber));
        Add("type::is_string", 1, a => Value.From(a[0].Kind == ValueKind.String));
        Add("type::is_array", 1, a => Value.From(a[0].Kind == ValueKind.Array));
        Add("type::is_record", 1, a => Value.From(a[0].Kind == ValueKind.Record));
        Add("type::is_binary", 1, a => Value.From(a[0].Kind == ValueKind.Bytes));
    }

    private static void RegisterOther()
    {
        Add("json::decode", 1, a => Json.Decode(Str(a, 0, "json::decode")));
        Add("json::encode", 1, a => Value.From(Json.Encode(a[0], false)));
        Add("json::encode_pretty", 1, a => Value.From(Json.Encode(a[0], true)));

        Add("integer::parse", 1, a => long.TryParse(Str(a, 0, "integer::parse"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? Value.From(v) : throw new FunctionError($"integer::parse: `{a[0].AsString()}` is not an integer"));
        Add("float::parse", 1, a => double.TryParse(Str(a, 0, "float::parse"), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? Value.From(v) : throw new FunctionError($"float::parse: `{a[0].AsString()}` is not a number"));

        Add("nanos::from_seconds", 1, a => Nanos(a, 1_000_000_000, "nanos::from_seconds"));
        Add("nanos::from_millis", 1, a => Nanos(a, 1_000_000, "nanos::from_millis"));
        Add("nanos::from_micros", 1, a => Nanos(a, 1_000, "nanos::from_micros"));
        Add("nanos::from_minutes", 1, a => Nanos(a, 60_000_000_000, "nanos::from_minutes"));
        Add("nanos::from_hours", 1, a => Nanos(a, 3_600_000_000_000, "nanos::from_hours"));

        Add("system::nanotime", 0, 0, _ => Value.From((long)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100), pure: false);
        Add("system::hostname", 0, 0, _ => Value.From(Environment.MachineName), pure: false);
    }

    private static Value Nanos(ReadOnlySpan<Value> a, long factor, string fn)
    {
        if (a[0].Kind == ValueKind.I64)
        {
            try
            {
                return Value.From(checked(a[0].RawI64 * factor));
            }
            catch (OverflowException)
            {
                throw new FunctionError($"{fn}: {a[0].RawI64} overflows 64-bit nanoseconds");
            }
        }
        return Value.From((long)(Num(a, 0, fn) * factor));
    }
}

/// <summary>Compiled regexes by pattern, shared by all queries (patterns are usually literals).</summary>
internal static class RegexCache
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    public static Regex Get(string pattern) =>
        Cache.Count < 1024 ? Cache.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))) : new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
