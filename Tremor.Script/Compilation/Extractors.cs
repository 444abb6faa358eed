using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Tremor.Pdk;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>An extractor run on one value: matches only strings; yields what it extracted when <c>need</c>.</summary>
internal delegate bool Extractor(Value v, bool need, out Value result);

/// <summary>
/// Tremor's extractors (<c>~ name|rule|</c>), compiled once per pattern: a bad rule is a compile error at the rule.
/// A test that extracts nothing (glob, cidr without result) yields <c>true</c>, as Tremor's do.
/// </summary>
internal static partial class Extractors
{
    public static Extractor Compile(Source source, ExtractPattern p)
    {
        try
        {
            return p.Name switch
            {
                "glob" => Glob(p.Rule),
                "re" => Re(p.Rule, all: false),
                "rerg" => Re(p.Rule, all: true),
                "base64" => Base64,
                "json" => JsonExtractor,
                "kv" => Kv(p.Rule),
                "dissect" => Dissect(p.Rule),
                "cidr" => Cidr(p.Rule),
                "grok" => Grok.Compile(p.Rule),
                "datetime" => DateTimeRule(p.Rule),
                _ => throw source.Error(p.Pos, $"the `{p.Name}` extractor is not supported by Tremor.NET yet",
                    "supported: glob, re, rerg, base64, json, kv, dissect, grok, cidr, influx, datetime"),
            };
        }
        catch (ArgumentException e)
        {
            // At the extractor, as Tremor's invalid-extractor error.
            throw source.Error(p.Pos, $"invalid `{p.Name}` rule: {e.Message}");
        }
    }

    private static Extractor Test(Func<string, bool> test) => (Value v, bool _, out Value r) =>
    {
        r = Value.True;
        return v.AsString() is { } s && test(s);
    };

    // ---- datetime ----

    // Tremor's datetime extractor: the string parsed by the rule's format into UTC nanoseconds.
    private static Extractor DateTimeRule(string rule)
    {
        if (Functions.Chrono.Validate(rule) is { } error) throw new ArgumentException(error);
        return (Value v, bool need, out Value r) =>
        {
            r = default;
            if (v.AsString() is not { } s || !Functions.Chrono.TryParse(s, rule, out var nanos, out _)) return false;
            r = need ? Value.From(nanos) : Value.True;
            return true;
        };
    }

    // ---- glob ----

    private static Extractor Glob(string rule)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < rule.Length; i++)
        {
            var c = rule[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    {
                        var close = rule.IndexOf(']', i + 2);
                        if (close < 0) throw new ArgumentException($"unclosed `[` at {i}");
                        var set = rule[(i + 1)..close];
                        if (set.StartsWith('!')) set = "^" + set[1..];
                        sb.Append('[').Append(set.Replace("\\", "\\\\", StringComparison.Ordinal)).Append(']');
                        i = close;
                        break;
                    }
                case '\\' when i + 1 < rule.Length:
                    sb.Append(Regex.Escape(rule[++i].ToString()));
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        var regex = new Regex(sb.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
        return Test(regex.IsMatch);
    }

    // ---- re, rerg ----

    [GeneratedRegex(@"\(\?P<")]
    private static partial Regex PythonNamedGroup();

    private static Extractor Re(string rule, bool all)
    {
        // Tremor's regexes are Rust's: `(?P<name>...)` names a group.
        var regex = new Regex(PythonNamedGroup().Replace(rule, "(?<"), RegexOptions.CultureInvariant);
        var names = regex.GetGroupNames().Where(n => !int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out _)).ToArray();
        return (Value v, bool need, out Value r) =>
        {
            r = Value.True;
            if (v.AsString() is not { } s) return false;
            var m = regex.Match(s);
            if (!m.Success) return false;
            if (!need) return true;
            var record = new ValueRecord(names.Length);
            if (!all)
            {
                foreach (var n in names)
                {
                    if (m.Groups[n].Success) record.Set(n, Value.From(m.Groups[n].Value));
                }
            }
            else
            {
                // rerg: every match; a name captured more than once collects its values in an array.
                var lists = new Dictionary<string, List<Value>>(StringComparer.Ordinal);
                for (; m.Success; m = m.NextMatch())
                {
                    foreach (var n in names)
                    {
                        if (!m.Groups[n].Success) continue;
                        if (!lists.TryGetValue(n, out var list)) lists[n] = list = [];
                        list.Add(Value.From(m.Groups[n].Value));
                    }
                }
                foreach (var n in names)
                {
                    if (lists.TryGetValue(n, out var list)) record.Set(n, list.Count == 1 ? list[0] : Value.From(list));
                }
            }
            r = Value.From(record);
            return true;
        };
    }

    // ---- base64, json ----

    private static bool Base64(Value v, bool need, out Value r)
    {
        r = default;
        if (v.AsString() is not { } s) return false;
        var buffer = new byte[(s.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(s, buffer, out var n)) return false;
        try
        {
            r = Value.From(new UTF8Encoding(false, true).GetString(buffer, 0, n));
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool JsonExtractor(Value v, bool need, out Value r)
    {
        r = default;
        if (v.AsString() is not { } s) return false;
        try
        {
            r = Json.Decode(s);
            return true;
        }
        catch (FunctionError)
        {
            return false;
        }
    }

    // ---- kv ----

    [GeneratedRegex(@"%\{key\}(.+?)%\{val\}")]
    private static partial Regex KvPair();

    private static Extractor Kv(string rule)
    {
        // `%{key}SEP%{val}` declares a value separator; any other text separates fields.
        var valueSeparators = KvPair().Matches(rule).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
        var rest = KvPair().Replace(rule, "\u0000");
        var fieldSeparators = rest.Split('\u0000').Where(x => x.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (valueSeparators.Count == 0) valueSeparators.Add(":");
        if (fieldSeparators.Count == 0) fieldSeparators.Add(" ");
        foreach (var f in fieldSeparators)
        {
            if (valueSeparators.Any(vs => vs.Contains(f, StringComparison.Ordinal) || f.Contains(vs, StringComparison.Ordinal)))
                throw new ArgumentException($"field separator `{f}` overlaps a value separator");
        }
        var fields = fieldSeparators.ToArray();
        var values = valueSeparators.ToArray();
        return (Value v, bool need, out Value r) =>
        {
            r = default;
            if (v.AsString() is not { } s) return false;
            var record = new ValueRecord();
            foreach (var piece in s.Split(fields, StringSplitOptions.RemoveEmptyEntries))
            {
                var at = -1;
                var sepLength = 0;
                foreach (var sep in values)
                {
                    var i = piece.IndexOf(sep, StringComparison.Ordinal);
                    if (i >= 0 && (at < 0 || i < at))
                    {
                        at = i;
                        sepLength = sep.Length;
                    }
                }
                if (at < 0) return false;
                record.Set(piece[..at], Value.From(piece[(at + sepLength)..]));
            }
            if (record.Count == 0) return false;
            r = Value.From(record);
            return true;
        };
    }

    // ---- dissect ----

    private enum DissectKind
    {
        Literal,
        Field,
        Skip,
        Append,
        Named,
        Padding,
    }

    private sealed record DissectToken(DissectKind Kind, string Text, string? Type);

    private static List<DissectToken> ParseDissect(string rule)
    {
        var tokens = new List<DissectToken>();
        var i = 0;
        var literal = new StringBuilder();
        while (i < rule.Length)
        {
            if (rule[i] == '%' && i + 1 < rule.Length && rule[i + 1] == '{')
            {
                var close = rule.IndexOf('}', i + 2);
                if (close < 0) throw new ArgumentException($"unclosed `%{{` at {i}");
                if (literal.Length > 0)
                {
                    tokens.Add(new DissectToken(DissectKind.Literal, literal.ToString(), null));
                    literal.Clear();
                }
                var body = rule[(i + 2)..close].Trim();
                var token = body switch
                {
                    "_" => new DissectToken(DissectKind.Padding, " ", null),
                    _ when body.StartsWith("_(", StringComparison.Ordinal) && body.EndsWith(')') => new DissectToken(DissectKind.Padding, body[2..^1], null),
                    _ when body.StartsWith('?') => new DissectToken(DissectKind.Skip, Name(body[1..], "?"), null),
                    _ when body.StartsWith('+') => new DissectToken(DissectKind.Append, Name(body[1..], "+"), null),
                    _ when body.StartsWith('&') => new DissectToken(DissectKind.Named, Name(body[1..], "&"), null),
                    _ => Field(body),
                };
                if (token.Kind != DissectKind.Padding && tokens.Count > 0 && tokens[^1].Kind is not (DissectKind.Literal or DissectKind.Padding))
                    throw new ArgumentException($"`%{{{body}}}` follows another field without a delimiter between them");
                tokens.Add(token);
                i = close + 1;
            }
            else literal.Append(rule[i++]);
        }
        if (literal.Length > 0) tokens.Add(new DissectToken(DissectKind.Literal, literal.ToString(), null));
        foreach (var t in tokens.Where(t => t.Kind == DissectKind.Named))
        {
            if (!tokens.Any(x => x.Kind is DissectKind.Skip or DissectKind.Field && x.Text == t.Text))
                throw new ArgumentException($"`%{{&{t.Text}}}` names no field `{t.Text}` before it");
        }
        return tokens;

        static string Name(string s, string sigil)
        {
            s = s.Trim();
            return s.Length > 0 ? s : throw new ArgumentException($"`%{{{sigil}}}` needs a field name");
        }

        static DissectToken Field(string body)
        {
            var colon = body.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) return new DissectToken(DissectKind.Field, body, null);
            var type = body[(colon + 1)..].Trim();
            if (type is not ("int" or "float")) throw new ArgumentException($"unknown type `{type}` (int or float)");
            return new DissectToken(DissectKind.Field, body[..colon].Trim(), type);
        }
    }

    private static Extractor Dissect(string rule)
    {
        var tokens = ParseDissect(rule).ToArray();
        return (Value v, bool need, out Value r) =>
        {
            r = default;
            if (v.AsString() is not { } s) return false;
            var record = new ValueRecord();
            var skipped = new Dictionary<string, string>(StringComparer.Ordinal);
            var pos = 0;
            for (var t = 0; t < tokens.Length; t++)
            {
                var token = tokens[t];
                switch (token.Kind)
                {
                    case DissectKind.Literal:
                        if (string.CompareOrdinal(s, pos, token.Text, 0, token.Text.Length) != 0) return false;
                        pos += token.Text.Length;
                        break;
                    case DissectKind.Padding:
                        while (token.Text.Length > 0 && string.CompareOrdinal(s, pos, token.Text, 0, token.Text.Length) == 0) pos += token.Text.Length;
                        break;
                    default:
                        {
                            // A field runs to the next delimiter, or to the end when it is last; padding
                            // right after it is trimmed off its end.
                            var next = t + 1;
                            var padding = next < tokens.Length && tokens[next].Kind == DissectKind.Padding ? tokens[next++].Text : null;
                            var end = s.Length;
                            if (next < tokens.Length)
                            {
                                end = s.IndexOf(tokens[next].Text, pos, StringComparison.Ordinal);
                                if (end < 0) return false;
                            }
                            var valueEnd = end;
                            while (padding is { Length: > 0 } && valueEnd - padding.Length >= pos && string.CompareOrdinal(s, valueEnd - padding.Length, padding, 0, padding.Length) == 0)
                                valueEnd -= padding.Length;
                            var text = s[pos..valueEnd];
                            pos = end;
                            switch (token.Kind)
                            {
                                case DissectKind.Skip: skipped[token.Text] = text; break;
                                case DissectKind.Append:
                                    record.Set(token.Text, Value.From(record.TryGetValue(token.Text, out var prev) ? prev.AsString() + " " + text : text));
                                    break;
                                case DissectKind.Named:
                                    {
                                        var name = skipped.TryGetValue(token.Text, out var k) ? k : record.TryGetValue(token.Text, out var kv) ? kv.AsString() ?? "" : "";
                                        record.Remove(token.Text);
                                        record.Set(name, Value.From(text));
                                        break;
                                    }
                                default:
                                    {
                                        if (token.Type is null) record.Set(token.Text, Value.From(text));
                                        else if (token.Type == "int" && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) record.Set(token.Text, Value.From(i));
                                        else if (token.Type == "float" && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f)) record.Set(token.Text, Value.From(f));
                                        else return false;
                                        if (token.Type is null) skipped[token.Text] = text;
                                        break;
                                    }
                            }
                            break;
                        }
                }
            }
            if (pos != s.Length) return false;
            r = Value.From(record);
            return true;
        };
    }

    // ---- cidr ----

    private static Extractor Cidr(string rule)
    {
        var ranges = rule.Length == 0 ? [] : rule.Split(',').Select(x => x.Trim()).Select(x =>
            IPNetwork.TryParse(x, out var n) ? n : throw new ArgumentException($"`{x}` is not a CIDR range (e.g. 10.0.0.0/8)")).ToArray();
        return (Value v, bool need, out Value r) =>
        {
            r = default;
            if (v.AsString() is not { } s) return false;
            var slash = s.IndexOf('/', StringComparison.Ordinal);
            var ipText = slash < 0 ? s : s[..slash];
            if (!IPAddress.TryParse(ipText, out var ip) || ipText.Count(c => c == '.') is not (0 or 3)) return false;
            var bits = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            var prefixLength = bits;
            if (slash >= 0 && (!int.TryParse(s.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefixLength) || prefixLength > bits)) return false;
            if (ranges.Length > 0 && !ranges.Any(n => n.Contains(ip))) return false;
            if (!need)
            {
                r = Value.True;
                return true;
            }
            var bytes = ip.GetAddressBytes();
            var mask = new byte[bytes.Length];
            for (var i = 0; i < prefixLength; i++) mask[i / 8] |= (byte)(0x80 >> (i % 8));
            var record = new ValueRecord(2);
            record.Set("prefix", Parts(bytes.Select((b, i) => (byte)(b & mask[i])).ToArray()));
            record.Set("mask", Parts(mask));
            r = Value.From(record);
            return true;
        };

        // IPv4 as four bytes, IPv6 as eight 16-bit groups, as Tremor reports them.
        static Value Parts(byte[] b)
        {
            var list = new List<Value>();
            if (b.Length == 4) list.AddRange(b.Select(x => Value.From((long)x)));
            else
            {
                for (var i = 0; i < b.Length; i += 2) list.Add(Value.From((long)((b[i] << 8) | b[i + 1])));
            }
            return Value.From(list);
        }
    }
}
