using System.Globalization;
using System.Text;

namespace Tremor.Script.Syntax;

internal enum TokenKind
{
    Ident,
    Int,
    Float,
    String,
    Punct,

    /// <summary>An extractor: <c>name|rule|</c>; <see cref="Token.Text"/> is the name, <see cref="Token.Rule"/> the rule.</summary>
    Extractor,
    End,
}

/// <summary>A piece of a string literal: literal text, or the source range of a <c>#{...}</c> expression.</summary>
internal readonly record struct StringPart(string? Text, int ExprStart, int ExprEnd);

internal sealed record Token(TokenKind Kind, string Text, int Start, int End)
{
    public long IntValue { get; init; }
    public double FloatValue { get; init; }
    public List<StringPart>? Parts { get; init; }

    public string? Rule { get; init; }

    public bool Is(string punctOrKeyword) =>
        (Kind == TokenKind.Punct || Kind == TokenKind.Ident) && string.Equals(Text, punctOrKeyword, StringComparison.Ordinal);

    public string Describe() => Kind switch
    {
        TokenKind.End => "end of input",
        TokenKind.String => "a string",
        TokenKind.Extractor => $"the extractor `{Text}|...|`",
        _ => $"`{Text}`",
    };
}

/// <summary>Turns trickle text into tokens; <c>#</c> starts a comment, strings may hold <c>#{expr}</c>.</summary>
internal sealed class Lexer
{
    private static readonly string[] Puncts =
    [
        "::", "=>", "==", "!=", "<=", ">=", "<<", ">>>", ">>", "&&", "||", "%{", "%[", "%(", "~=", "~",
        "+", "-", "*", "/", "%", "<", ">", "=", ".", ",", ";", ":", "(", ")", "[", "]", "{", "}", "$", "!", "&", "|", "^",
    ];

    private readonly Source _source;
    private readonly string _text;
    private readonly int _end;
    private int _pos;

    // The token before the one being read: an extractor is recognised by what precedes it.
    private Token? _last;

    public Lexer(Source source, int start, int end)
    {
        _source = source;
        _text = source.Text;
        _pos = start;
        _end = end;
    }

    public List<Token> Tokenize()
    {
        var tokens = new List<Token>();
        while (true)
        {
            SkipTrivia();
            if (_pos >= _end)
            {
                tokens.Add(new Token(TokenKind.End, "", _end, _end));
                return tokens;
            }
            _last = Next();
            tokens.Add(_last);
        }
    }

    private void SkipTrivia()
    {
        while (_pos < _end)
        {
            var c = _text[_pos];
            if (char.IsWhiteSpace(c)) _pos++;
            else if (c == '#')
            {
                while (_pos < _end && _text[_pos] != '\n') _pos++;
            }
            else return;
        }
    }

    private Token Next()
    {
        var start = _pos;
        var c = _text[_pos];
        if (char.IsAsciiLetter(c) || c == '_')
        {
            while (_pos < _end && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
            var ident = _text[start.._pos];
            // After `~=` or `~` a name and `|` (spaces between allowed, as Tremor's `grok |...|`) can only be an extractor.
            var afterTilde = _last is { Kind: TokenKind.Punct, Text: "~=" or "~" };
            var bar = _pos;
            if (afterTilde) while (bar < _end && _text[bar] is ' ' or '\t') bar++;
            if (bar < _end && _text[bar] == '|' && (afterTilde || Extractors.Contains(ident)))
            {
                if (!Extractors.Contains(ident))
                    throw _source.Error(start, $"unknown extractor `{ident}`", $"the extractors are {string.Join(", ", Extractors)}");
                _pos = bar;
                return Extractor(start, ident);
            }
            return new Token(TokenKind.Ident, ident, start, _pos);
        }
        if (c == '`')
        {
            _pos++;
            while (_pos < _end && _text[_pos] != '`') _pos++;
            if (_pos >= _end) throw _source.Error(start, "unterminated quoted identifier", "close it with `");
            _pos++;
            return new Token(TokenKind.Ident, _text[(start + 1)..(_pos - 1)], start, _pos);
        }
        if (char.IsAsciiDigit(c)) return Number(start);
        if (c == '"') return string.CompareOrdinal(_text, _pos, "\"\"\"", 0, 3) == 0 && _pos + 3 <= _end ? Heredoc(start) : StringLiteral(start);
        if (string.CompareOrdinal(_text, _pos, ":::", 0, 3) == 0) throw _source.Error(start, "unexpected `:::`", "did you mean `::`?");
        foreach (var p in Puncts)
        {
            if (string.CompareOrdinal(_text, _pos, p, 0, p.Length) == 0 && _pos + p.Length <= _end)
            {
                _pos += p.Length;
                return new Token(TokenKind.Punct, p, start, _pos);
            }
        }
        throw _source.Error(start, $"unexpected character `{c}`", c == '\'' ? "strings use double quotes: \"...\"" : null);
    }

    // Only these names start an extractor, so `a|b` elsewhere stays an operator.
    private static readonly HashSet<string> Extractors = new(StringComparer.Ordinal)
    {
        "glob", "re", "rerg", "base64", "kv", "json", "dissect", "grok", "cidr", "influx", "datetime",
    };

    private Token Extractor(int start, string name)
    {
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _end) throw _source.Error(start, $"unterminated extractor `{name}|...`", "close it with |; write \\| for a | inside");
            var c = _text[_pos];
            if (c == '\\' && _pos + 1 < _end && _text[_pos + 1] == '|')
            {
                sb.Append('|');
                _pos += 2;
                continue;
            }
            _pos++;
            if (c == '|') break;
            sb.Append(c);
        }
        return new Token(TokenKind.Extractor, name, start, _pos) { Rule = sb.ToString() };
    }

    private Token Number(int start)
    {
        var isFloat = false;
        if (_text[_pos] == '0' && _pos + 1 < _end && (_text[_pos + 1] == 'x' || _text[_pos + 1] == 'X'))
        {
            _pos += 2;
            var hexStart = _pos;
            while (_pos < _end && char.IsAsciiHexDigit(_text[_pos])) _pos++;
            if (!long.TryParse(_text.AsSpan(hexStart, _pos - hexStart), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                throw _source.Error(start, "invalid hexadecimal integer");
            return new Token(TokenKind.Int, _text[start.._pos], start, _pos) { IntValue = hex };
        }
        while (_pos < _end && (char.IsAsciiDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
        if (_pos + 1 < _end && _text[_pos] == '.' && char.IsAsciiDigit(_text[_pos + 1]))
        {
            isFloat = true;
            _pos++;
            while (_pos < _end && char.IsAsciiDigit(_text[_pos])) _pos++;
        }
        if (_pos < _end && (_text[_pos] == 'e' || _text[_pos] == 'E') && _pos + 1 < _end &&
            (char.IsAsciiDigit(_text[_pos + 1]) || ((_text[_pos + 1] == '-' || _text[_pos + 1] == '+') && _pos + 2 < _end && char.IsAsciiDigit(_text[_pos + 2]))))
        {
            isFloat = true;
            _pos += 2;
            while (_pos < _end && char.IsAsciiDigit(_text[_pos])) _pos++;
        }
        var digits = _text[start.._pos].Replace("_", "", StringComparison.Ordinal);
        if (isFloat)
        {
            return new Token(TokenKind.Float, _text[start.._pos], start, _pos) { FloatValue = double.Parse(digits, CultureInfo.InvariantCulture) };
        }
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw _source.Error(start, $"integer literal `{digits}` does not fit a 64-bit signed integer");
        // Duration literals (1s, 250ms, ...) are integer nanoseconds, as nanos::from_* would give.
        var unitStart = _pos;
        while (_pos < _end && char.IsAsciiLetter(_text[_pos])) _pos++;
        if (_pos > unitStart)
        {
            var unit = _text[unitStart.._pos];
            long factor = unit switch
            {
                "ns" => 1,
                "us" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => throw _source.Error(unitStart, $"unknown duration unit `{unit}`", "use ns, us, ms, s, m or h"),
            };
            try
            {
                value = checked(value * factor);
            }
            catch (OverflowException)
            {
                throw _source.Error(start, "duration does not fit 64-bit nanoseconds");
            }
        }
        return new Token(TokenKind.Int, _text[start.._pos], start, _pos) { IntValue = value };
    }

    // """ then a newline opens a heredoc: text up to the closing """, with escapes and #{...} like a string.
    private Token Heredoc(int start)
    {
        _pos += 3;
        while (_pos < _end && _text[_pos] is ' ' or '\t' or '\r') _pos++;
        if (_pos >= _end || _text[_pos] != '\n') throw _source.Error(start, "a heredoc starts with \"\"\" and a new line", "write \"\"\" on a line of its own, the text below, and \"\"\" to close");
        _pos++;
        return StringLiteral(start, heredoc: true);
    }

    private Token StringLiteral(int start, bool heredoc = false)
    {
        if (!heredoc) _pos++;
        var parts = new List<StringPart>();
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _end) throw _source.Error(start, heredoc ? "unterminated heredoc" : "unterminated string", heredoc ? "close it with \"\"\"" : "close it with \"");
            var c = _text[_pos];
            if (c == '"' && !heredoc)
            {
                _pos++;
                break;
            }
            if (c == '"' && string.CompareOrdinal(_text, _pos, "\"\"\"", 0, 3) == 0 && _pos + 3 <= _end)
            {
                _pos += 3;
                break;
            }
            if (heredoc && c == '\n' && _pos + 1 < _end && _text.AsSpan(_pos + 1).TrimStart(" \t").StartsWith("\"\"\""))
            {
                // Each line keeps its new line; the indentation of the closing """ is layout.
                sb.Append('\n');
                _pos++;
                while (_text[_pos] != '"') _pos++;
                continue;
            }
            if (c == '\\')
            {
                if (_pos + 1 >= _end) throw _source.Error(start, "unterminated string", "close it with \"");
                var e = _text[_pos + 1];
                _pos += 2;
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case '\\': sb.Append('\\'); break;
                    case '"': sb.Append('"'); break;
                    case '#': sb.Append('#'); break;
                    case '/': sb.Append('/'); break;
                    case 'u':
                        if (_pos + 4 > _end || !int.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                            throw _source.Error(_pos - 2, "invalid \\u escape", "write four hex digits: \\u00e9");
                        sb.Append((char)code);
                        _pos += 4;
                        break;
                    default: throw _source.Error(_pos - 2, $"unknown escape `\\{e}`", "valid escapes: \\n \\t \\r \\\\ \\\" \\# \\uXXXX");
                }
                continue;
            }
            if (c == '#' && _pos + 1 < _end && _text[_pos + 1] == '{')
            {
                if (sb.Length > 0)
                {
                    parts.Add(new StringPart(sb.ToString(), 0, 0));
                    sb.Clear();
                }
                var exprStart = _pos + 2;
                var exprEnd = FindInterpolationEnd(exprStart, _pos);
                if (string.IsNullOrWhiteSpace(_text[exprStart..exprEnd]))
                    throw _source.Error(_pos, "an interpolation without content", "write a literal #{ as \\#{");
                parts.Add(new StringPart(null, exprStart, exprEnd));
                _pos = exprEnd + 1;
                continue;
            }
            sb.Append(c);
            _pos++;
        }
        if (sb.Length > 0 || parts.Count == 0) parts.Add(new StringPart(sb.ToString(), 0, 0));
        var text = parts.Count == 1 && parts[0].Text is { } only ? only : "";
        return new Token(TokenKind.String, text, start, _pos) { Parts = parts };
    }

    private int FindInterpolationEnd(int pos, int interpolationStart)
    {
        var depth = 0;
        var inString = false;
        while (pos < _end)
        {
            var c = _text[pos];
            if (inString)
            {
                if (c == '\\') pos++;
                else if (c == '"') inString = false;
            }
            else if (c == '"') inString = true;
            else if (c == '{') depth++;
            else if (c == '}')
            {
                if (depth == 0) return pos;
                depth--;
            }
            pos++;
        }
        throw _source.Error(interpolationStart, "unterminated `#{` interpolation in string", "close it with }, or write a literal #{ as \\#{");
    }
}
