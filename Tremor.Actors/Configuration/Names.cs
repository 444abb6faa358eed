using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Actors.Configuration;

/// <summary>
/// The one rule for the names of flows, connectors and pipelines, and the escaping of user-given text in logs and
/// messages. A name becomes an actor name, a path segment of the API (<c>DELETE /v1/flows/NAME</c>), a Prometheus
/// label and a log word: an empty name, a <c>/</c>, <c>..</c> or a newline breaks one of them.
/// </summary>
public static class Names
{
    /// <summary>The rule, as errors state it.</summary>
    public const string Rule = "a name starts with a letter or '_' and has only letters, digits, '_' and '-' (at most 64 characters)";

    private const int MaxLength = 64;

    /// <summary>True when <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    public static bool IsValid(string name)
    {
        if (name.Length is 0 or > MaxLength) return false;
        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_')) return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')) return false;
        }
        return true;
    }

    /// <summary>Throws a <see cref="ConfigException"/> at <paramref name="parentPath"/>.NAME when the name breaks the rule.</summary>
    public static void Check(string kind, string name, string parentPath)
    {
        if (IsValid(name)) return;
        throw new ConfigException($"{parentPath}.{Quote(name)}", $"{Quote(name)} is not a valid {kind} name: {Rule}; rename it");
    }

    /// <summary><paramref name="text"/> in double quotes with quotes, backslashes and control characters escaped, safe for one log line.</summary>
    public static string Quote(string text) => $"\"{Escape(text)}\"";

    /// <summary>Escapes control characters (a newline becomes <c>\n</c>), quotes and backslashes: user-given text never breaks a log line.</summary>
    public static string Escape(string text) => Escape(text, quotes: true);

    /// <summary>Escapes control characters only (a newline becomes <c>\n</c>): one log event stays one line, whatever text it carries.</summary>
    public static string EscapeControl(string text) => Escape(text, quotes: false);

    private static string Escape(string text, bool quotes)
    {
        if (!text.Any(c => char.IsControl(c) || (quotes && c is '"' or '\\'))) return text;
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            switch (c)
            {
                case '"' when quotes: sb.Append("\\\""); break;
                case '\\' when quotes: sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
