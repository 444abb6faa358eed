using System.Text;

namespace Tremor.Script;

/// <summary>
/// A parse or semantic error in a query, naming where it came from (file or HOCON key), the line and column,
/// the offending source line with a caret under the position, and a hint at the fix when one is obvious.
/// </summary>
public sealed class ScriptException : Exception
{
    /// <summary>The file name or configuration key the query text came from.</summary>
    public string Origin { get; }

    /// <summary>1-based line.</summary>
    public int Line { get; }

    /// <summary>1-based column.</summary>
    public int Column { get; }

    /// <summary>The message without location, source line or hint.</summary>
    public string Reason { get; }

    /// <summary>What to do about it, or null.</summary>
    public string? Hint { get; }

    internal ScriptException(string origin, int line, int column, string reason, string? hint, string sourceLine)
        : base(Format(origin, line, column, reason, hint, sourceLine))
    {
        Origin = origin;
        Line = line;
        Column = column;
        Reason = reason;
        Hint = hint;
    }

    internal static string Format(string origin, int line, int column, string reason, string? hint, string sourceLine)
    {
        var sb = new StringBuilder();
        sb.Append(origin).Append(':').Append(line).Append(':').Append(column).Append(": ").Append(reason);
        sb.Append("\n    ").Append(sourceLine);
        sb.Append("\n    ").Append(' ', Math.Max(0, column - 1)).Append('^');
        if (hint is not null) sb.Append("\n  hint: ").Append(hint);
        return sb.ToString();
    }
}
