using System.Text.RegularExpressions;
using Tremor.Pdk;

namespace Tremor.Actors.Configuration;

/// <summary>
/// A syntax pass over HOCON text before Akka's parser sees it: Akka's parser accepts some broken input silently
/// and never returns on an unterminated array, so unbalanced brackets, unterminated strings and keys without a
/// value are reported here, with line and column.
/// </summary>
internal static class HoconSyntax
{
    /// <summary>Throws <see cref="ConfigException"/> naming <paramref name="source"/>, line and column of the first error.</summary>
    public static void Check(string text, string source)
    {
        var stack = new Stack<(char Open, int Line, int Col)>();
        var line = 1;
        var col = 0;
        var expectValue = false;
        var expectLine = 0;
        var expectCol = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            col++;
            if (c == '\n')
            {
                if (expectValue)
                {
                    throw Error(source, expectLine, expectCol, "a key is followed by '=' or ':' but no value on the same line");
                }
                line++;
                col = 0;
                continue;
            }
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if (char.IsWhiteSpace(c)) continue;
            if (c == '"')
            {
                var startLine = line;
                var startCol = col;
                if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
                {
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0) throw Error(source, startLine, startCol, "unterminated \"\"\" string");
                    for (var k = i; k < end + 3; k++)
                    {
                        if (text[k] == '\n')
                        {
                            line++;
                            col = 0;
                        }
                        else
                        {
                            col++;
                        }
                    }
                    i = end + 2;
                    col--;
                }
                else
                {
                    i++;
                    while (i < text.Length && text[i] != '"')
                    {
                        if (text[i] == '\n') throw Error(source, startLine, startCol, "unterminated string (a quoted string must end on the same line)");
                        if (text[i] == '\\') i++;
                        i++;
                        col++;
                    }
                    if (i >= text.Length) throw Error(source, startLine, startCol, "unterminated string");
                    col++;
                }
                expectValue = false;
                continue;
            }
            switch (c)
            {
                case '{':
                case '[':
                    stack.Push((c, line, col));
                    expectValue = false;
                    break;
                case '}':
                case ']':
                    if (expectValue) throw Error(source, expectLine, expectCol, "a key is followed by '=' or ':' but no value");
                    if (stack.Count == 0) throw Error(source, line, col, $"'{c}' closes nothing");
                    var (open, openLine, openCol) = stack.Pop();
                    var wanted = open == '{' ? '}' : ']';
                    if (c != wanted)
                    {
                        throw Error(source, line, col, $"'{c}' does not match '{open}' opened at line {openLine}, column {openCol}; expected '{wanted}'");
                    }
                    break;
                case '=':
                case ':':
                    if (c == ':' && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]) && text[i + 1] != '"' && text[i + 1] != '{' && text[i + 1] != '[')
                    {
                        // part of an unquoted value such as a URL or "metronome/out"
                        break;
                    }
                    expectValue = true;
                    expectLine = line;
                    expectCol = col;
                    break;
                case ',':
                    if (expectValue) throw Error(source, expectLine, expectCol, "a key is followed by '=' or ':' but no value");
                    break;
                default:
                    expectValue = false;
                    break;
            }
        }
        if (expectValue) throw Error(source, expectLine, expectCol, "a key is followed by '=' or ':' but no value");
        if (stack.Count > 0)
        {
            var (open, openLine, openCol) = stack.Peek();
            throw Error(source, openLine, openCol, $"'{open}' is never closed (expected '{(open == '{' ? '}' : ']')}' before the end of the file)");
        }
    }

    /// <summary>
    /// Turns an error of Akka's HOCON parser (multi-line, with a character offset and a caret drawing) into one line
    /// that names <paramref name="source"/>, line and column.
    /// </summary>
    public static ConfigException ParserError(string text, string source, Exception error)
    {
        var first = error.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? error.GetType().Name;
        var position = Regex.Match(first, @"\s*at position (\d+):?");
        if (!position.Success || !int.TryParse(position.Groups[1].ValueSpan, out var offset) || offset < 0 || offset > text.Length)
        {
            return new ConfigException(source, $"syntax error: {first}");
        }
        var line = 1 + text.AsSpan(0, offset).Count('\n');
        var col = offset - (offset == 0 ? -1 : text.LastIndexOf('\n', offset - 1));
        var message = first.Remove(position.Index, position.Length).TrimEnd(':', ' ');
        var near = offset < text.Length && !char.IsWhiteSpace(text[offset]) ? $" '{text[offset]}'" : "";
        return Error(source, line, col, $"{message}{near}");
    }

    private static ConfigException Error(string source, int line, int col, string message) =>
        new($"{source}:{line}:{col}", $"syntax error: {message}");
}
