using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Tremor.Native;

/// <summary>
/// The one rule for plugin names (<c>tremor plugins new</c>, native descriptors, managed manifests): a name ends up in
/// file names, URLs (<c>DELETE /v1/plugins/NAME</c>), table rows and log lines, so it is kept to characters that are
/// safe in all of them.
/// </summary>
public static partial class PluginNames
{
    /// <summary>The rule, as said in refusals.</summary>
    public const string Rule = "lowercase letters, digits and '-', starting with a letter, at most 63 characters (e.g. my-sink)";

    /// <summary>True when <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    /// <summary>
    /// <paramref name="text"/> in double quotes with every control character, quote, backslash and non-ASCII character
    /// escaped (<c>\n</c>, <c>\x1b</c>, <c>\u00e9</c>), so a hostile name can neither break a line nor drive a terminal.
    /// </summary>
    public static string Quote(string? text)
    {
        if (text is null) return "null";
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case < ' ' or '\x7f': builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                case > '~': builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }
        return builder.Append('"').ToString();
    }

    /// <summary>
    /// <paramref name="text"/> as is when it is plain printable ASCII, otherwise <see cref="Quote"/>d: for table cells
    /// and paths, which stay readable unless they hold something that could break the output.
    /// </summary>
    public static string Printable(string text)
    {
        foreach (var c in text)
        {
            if (c < ' ' || c > '~') return Quote(text);
        }
        return text;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
