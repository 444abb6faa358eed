using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Actors.Configuration.Troy;

/// <summary>Writes <see cref="Value"/> trees as HOCON that <see cref="TremorConfig"/> reads back to the same values.</summary>
internal static class HoconWriter
{
    /// <summary>A record's fields as <c>key = value</c> lines at <paramref name="indent"/>.</summary>
    public static void Fields(StringBuilder sb, ValueRecord record, int indent)
    {
        foreach (var (key, value) in record)
        {
            sb.Append(' ', indent).Append(Key(key)).Append(" = ");
            Write(sb, value, indent);
            sb.Append('\n');
        }
    }

    /// <summary>A key, quoted unless it is a plain name (HOCON would read dots in it as a path).</summary>
    public static string Key(string key) =>
        key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? key : Quote(key);

    public static void Write(StringBuilder sb, Value value, int indent)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                sb.Append("null");
                break;
            case ValueKind.Bool:
                value.TryGetBool(out var b);
                sb.Append(b ? "true" : "false");
                break;
            case ValueKind.I64 or ValueKind.U64:
                sb.Append(value.ToString());
                break;
            case ValueKind.F64:
                value.TryGetF64(out var d);
                var text = d.ToString("R", CultureInfo.InvariantCulture);
                // Written as a float so it is not read back as an integer.
                sb.Append(text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0");
                break;
            case ValueKind.String:
                sb.Append(Quote(value.AsString()!));
                break;
            case ValueKind.Array:
                {
                    var items = value.AsArray()!;
                    sb.Append('[');
                    for (var i = 0; i < items.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        Write(sb, items[i], indent);
                    }
                    sb.Append(']');
                    break;
                }
            case ValueKind.Record:
                {
                    var record = value.AsRecord()!;
                    if (record.Count == 0)
                    {
                        sb.Append("{}");
                        break;
                    }
                    sb.Append("{\n");
                    Fields(sb, record, indent + 2);
                    sb.Append(' ', indent).Append('}');
                    break;
                }
            default:
                throw new ArgumentException($"a {value.Kind} value has no HOCON form");
        }
    }

    /// <summary>A JSON string literal, which HOCON reads as a quoted string (no substitutions inside): the Pdk's own, as a string value prints itself.</summary>
    public static string Quote(string s) => Value.From(s).ToString();

    /// <summary>
    /// Multi-line text (a query) as a HOCON triple-quoted string, its lines indented under the key, when it can be one
    /// (no <c>"""</c> inside, and it does not end in a quote); else as a quoted string with escapes.
    /// </summary>
    public static string Text(string s, int indent)
    {
        if (s.Contains("\"\"\"", StringComparison.Ordinal) || s.TrimEnd().EndsWith('"')) return Quote(s);
        var pad = new string(' ', indent + 2);
        var lines = s.TrimEnd('\n').Split('\n').Select(l => l.Length == 0 ? "" : pad + l);
        return "\"\"\"\n" + string.Join("\n", lines) + "\n" + new string(' ', indent) + "\"\"\"";
    }
}
