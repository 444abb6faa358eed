namespace Tremor.Script.Syntax;

/// <summary>Query text with its origin; turns offsets into line:col and builds located errors.</summary>
internal sealed class Source
{
    private readonly int[] _lineStarts;

    public Source(string text, string origin)
    {
        Text = text;
        Origin = origin;
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n') starts.Add(i + 1);
        }
        _lineStarts = starts.ToArray();
    }

    public string Text { get; }

    public string Origin { get; }

    public (int Line, int Column) Locate(int offset)
    {
        var idx = Array.BinarySearch(_lineStarts, offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    public string LineText(int line)
    {
        var start = _lineStarts[line - 1];
        var end = line < _lineStarts.Length ? _lineStarts[line] - 1 : Text.Length;
        return Text[start..end].TrimEnd('\r').Replace('\t', ' ');
    }

    public ScriptException Error(int offset, string reason, string? hint = null)
    {
        var (line, column) = Locate(Math.Min(offset, Text.Length));
        return new ScriptException(Origin, line, column, reason, hint, LineText(line));
    }

    /// <summary>
    /// A run-time error as an event on <c>err</c> carries it: where (origin:line:col), what, the source line and a caret,
    /// the same layout as a compile error.
    /// </summary>
    public string Describe(int offset, string message, string? hint = null)
    {
        var (line, column) = Locate(Math.Min(offset, Text.Length));
        return ScriptException.Format(Origin, line, column, message, hint, LineText(line));
    }

    /// <summary>The closest candidate by edit distance, when it is close enough to be a likely typo.</summary>
    public static string? Nearest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = Distance(name, c);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = c;
            }
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
