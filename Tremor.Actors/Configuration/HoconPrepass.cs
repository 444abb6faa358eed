using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Tremor.Pdk;

namespace Tremor.Actors.Configuration;

/// <summary>Where a HOCON text comes from and what it may reach: its includes and the environment.</summary>
/// <param name="Source">Names the text in errors (a file path, or "request body").</param>
/// <param name="IncludeDirectory">Includes are relative to this folder; null: the text may not include files (an API request body has no folder of its own).</param>
/// <param name="Environment">Looks up environment variables for <c>${VAR}</c> and <c>${?VAR}</c>; null: the process environment.</param>
public sealed record HoconOrigin(string Source, string? IncludeDirectory, Func<string, string?>? Environment = null);

/// <summary>
/// Gives Akka's HOCON parser only what it handles. Akka's legacy parser reads <c>${?X}</c> as a substitution of the
/// empty path (its tokenizer stops at the <c>?</c>, then takes <c>X}</c> as text and the <c>}</c> as the end of the
/// enclosing object); the empty path resolves to the root object, which contains that substitution, so resolving it
/// recurses until the stack overflows, or never ends at the end of a file. It never looks at the environment, calls a
/// null include callback for <c>include "x"</c>, and takes <c>include file(...)</c> and <c>include required(...)</c>
/// for keys. So this pass resolves those forms itself, as the HOCON spec says, and hands Akka plain text:
/// <list type="bullet">
/// <item><c>${path}</c> / <c>${?path}</c>: a key of the config is left to Akka (as <c>${path}</c>); otherwise the
/// environment variable's value as a string; an unset <c>${?path}</c> removes its field (the default applies) or its
/// array element, and is empty inside a concatenation; an unset <c>${path}</c> is an error naming it.</item>
/// <item><c>include "f"</c>, <c>include file("f")</c>, <c>include required("f")</c>,
/// <c>include required(file("f"))</c>: relative to the including file; a missing required include is an error.</item>
/// <item>A comma after <c>key { ... }</c> (valid HOCON that Akka refuses) is dropped.</item>
/// <item>A flow, connector or pipeline defined twice in one file is refused (HOCON would merge the two silently).</item>
/// <item>A file a key names (<c>query-file</c>) is relative to the HOCON file that names it, included files too, not to
/// the current directory: the pass writes it as an absolute path.</item>
/// </list>
/// </summary>
internal static partial class HoconPrepass
{
    private const int MaxIncludeDepth = 16;

    /// <summary>Parses <paramref name="text"/> (no fallback) after the pass; errors are <see cref="ConfigException"/>s naming source, line and column.</summary>
    public static Config Parse(string text, HoconOrigin origin) => Parse(text, origin, "", []);

    private static Config Parse(string text, HoconOrigin origin, string prefix, IReadOnlyList<string> includeChain)
    {
        HoconSyntax.Check(text, origin.Source);
        var scan = new Scanner(text, prefix).Run();
        CheckDuplicates(scan, origin.Source);

        var includes = new List<Func<HoconRoot>>();
        var edits = new List<Edit>(scan.BlankedCommas.Select(i => new Edit(i, i + 1, " ")));
        foreach (var include in scan.Includes)
        {
            var replacement = Include(include, origin, includeChain, includes);
            edits.Add(new Edit(include.Start, include.End, replacement));
        }
        if (origin.IncludeDirectory is { } directory)
        {
            foreach (var file in scan.FileValues.Where(f => !Path.IsPathRooted(f.Value)))
            {
                edits.Add(new Edit(file.Start, file.End, Names.Quote(Path.GetFullPath(Path.Combine(directory, file.Value)))));
            }
        }
        Func<string, HoconRoot> callback = key => includes[int.Parse(key.AsSpan(1), CultureInfo.InvariantCulture)]();

        // First the shape of the config with every substitution blanked to a string of the same length: which paths
        // the config itself defines decides, as the spec says, whether ${X} is a key or an environment variable.
        var probeEdits = edits.Concat(scan.Substitutions.Select(s => new Edit(s.Start, s.End, "\"" + new string(' ', s.End - s.Start - 2) + "\""))).ToList();
        var probe = ParseWithAkka(Apply(text, probeEdits), origin.Source, callback);
        var environment = origin.Environment ?? System.Environment.GetEnvironmentVariable;
        var kept = new List<Substitution>();
        foreach (var s in scan.Substitutions)
        {
            var edit = Resolve(s, text, origin.Source, probe, environment);
            if (edit.Text.StartsWith("${", StringComparison.Ordinal)) kept.Add(s);
            edits.Add(edit);
        }
        CheckCycles(kept, text, origin.Source);
        return ParseWithAkka(Apply(text, edits), origin.Source, callback);
    }

    /// <summary>
    /// Akka resolves a substitution by reading the value it names, substitutions included, without a cycle check:
    /// <c>a = ${b}</c>, <c>b = ${a}</c> would overflow the stack (which no handler can catch), so cycles are refused here.
    /// </summary>
    private static void CheckCycles(List<Substitution> kept, string text, string source)
    {
        var byField = kept.GroupBy(s => s.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (start, subs) in byField)
        {
            var visited = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>();
            pending.Push(start);
            while (pending.Count > 0)
            {
                foreach (var s in byField[pending.Pop()])
                {
                    foreach (var next in byField.Keys.Where(k => Overlaps(k, s.Path)))
                    {
                        if (next == start)
                        {
                            var (line, col) = Position(text, subs[0].Start);
                            throw new ConfigException($"{source}:{line}:{col}", $"{start} refers back to itself through substitutions (${{{subs[0].Path}}} ... ${{{s.Path}}}); break the cycle");
                        }
                        if (visited.Add(next)) pending.Push(next);
                    }
                }
            }
        }

        static bool Overlaps(string key, string path) =>
            key == path || key.StartsWith(path + ".", StringComparison.Ordinal) || path.StartsWith(key + ".", StringComparison.Ordinal);
    }

    private static Config ParseWithAkka(string text, string source, Func<string, HoconRoot> includes)
    {
        try
        {
            return ConfigurationFactory.ParseString(text, includes);
        }
        catch (Exception e) when (e is not ConfigException)
        {
            throw HoconSyntax.ParserError(text, source, e);
        }
    }

    private static Edit Resolve(Substitution s, string text, string source, Config probe, Func<string, string?> environment)
    {
        var (line, col) = Position(text, s.Start);
        var where = $"{source}:{line}:{col}";
        if (s.Path.Length == 0) throw new ConfigException(where, "empty substitution '${}'; write ${NAME} (a key of the config or an environment variable)");
        // A field that refers to itself (`path = ${path}":/x"`) means the value before this one: the defaults or the
        // environment, never the field itself (which Akka would resolve into itself until the stack overflows).
        var self = s.Field == s.Path || s.Field.StartsWith(s.Path + ".", StringComparison.Ordinal) || s.Path.StartsWith(s.Field + ".", StringComparison.Ordinal);
        if (!self && Has(probe, s.Path)) return new Edit(s.Start, s.End, "${" + s.Path + "}");
        var reference = TremorConfig.Reference;
        if (Has(reference, s.Path))
        {
            var value = reference.GetValue(s.Path);
            if (!value.IsString()) throw new ConfigException(where, $"${{{s.Path}}} refers to a section of the defaults; substitute a single value such as ${{{s.Path}.KEY}}");
            return new Edit(s.Start, s.End, Names.Quote(value.GetString()));
        }
        if (environment(s.Path) is { } env) return new Edit(s.Start, s.End, Names.Quote(env));
        if (!s.Optional)
        {
            throw new ConfigException(where, $"${{{s.Path}}} is neither a key of the config nor a set environment variable; set {s.Path}, or write ${{?{s.Path}}} to leave the key out (its default applies) when it is unset");
        }
        // Unset and optional: the field (or array element) is not created, so a default from reference.conf applies.
        return s.Removal is { } removal ? new Edit(removal.Start, removal.End, Blank(text, removal.Start, removal.End)) : new Edit(s.Start, s.End, "\"\"");
    }

    private static bool Has(Config config, string path)
    {
        try
        {
            return config.HasPath(path);
        }
        catch (Exception)
        {
            // Akka throws on paths it cannot split (e.g. an environment variable name with odd characters): not a key.
            return false;
        }
    }

    private static string Include(IncludeDirective include, HoconOrigin origin, IReadOnlyList<string> chain, List<Func<HoconRoot>> includes)
    {
        var where = $"{origin.Source}:{include.Line}:{include.Col}";
        if (include.Kind is "url" or "classpath")
        {
            throw new ConfigException(where, $"include {include.Kind}(...) is not supported; include a file: include file(\"...\") or include required(file(\"...\"))");
        }
        if (origin.IncludeDirectory is null)
        {
            throw new ConfigException(where, $"include \"{include.Path}\": {origin.Source} has no folder to resolve it against; send the included file's content inline");
        }
        var full = Path.GetFullPath(Path.Combine(origin.IncludeDirectory, include.Path));
        // As the spec says, a name without extension may be given: name.conf and name.json are tried.
        var found = new[] { full, full + ".conf", full + ".json" }.FirstOrDefault(File.Exists);
        if (found is null)
        {
            if (include.Required) throw new ConfigException(where, $"required include \"{include.Path}\" not found (looked for {full}); create it or drop required(...)");
            // A missing include that is not required is skipped, as the HOCON spec says.
            return new string(' ', include.End - include.Start);
        }
        if (chain.Contains(found, StringComparer.Ordinal) || chain.Count >= MaxIncludeDepth)
        {
            throw new ConfigException(where, $"include \"{include.Path}\" includes itself (through {string.Join(" -> ", chain.Append(found))}); remove the cycle");
        }
        var text = File.ReadAllText(found);
        var nested = new HoconOrigin(found, Path.GetDirectoryName(found), origin.Environment);
        var index = includes.Count;
        // Parsed on its own (its substitutions resolved against itself and the environment), then merged by Akka at
        // the include's place; parsed per use because Akka merges the included objects into the config by reference.
        var nestedChain = chain.Append(found).ToList();
        includes.Add(() => new HoconRoot(Parse(text, nested, include.Prefix, nestedChain).Root, []));
        return $"include \"#{index}\"";
    }

    private static void CheckDuplicates(ScanResult scan, string source)
    {
        var seen = new Dictionary<string, (int Line, int Col)>(StringComparer.Ordinal);
        foreach (var (path, line, col) in scan.Definitions)
        {
            var segments = path.Split('.');
            var kind = segments switch
            {
                ["tremor", "flows", _] => "flow",
                ["tremor", "flows", _, "connectors", _] => "connector",
                ["tremor", "flows", _, "pipelines", _] => "pipeline",
                _ => null,
            };
            if (kind is null) continue;
            if (seen.TryGetValue(path, out var first))
            {
                throw new ConfigException($"{source}:{line}:{col}", $"{kind} {path} is defined twice in this file (first at line {first.Line}, column {first.Col}); HOCON would merge the two silently, so rename one or merge them by hand (to override one setting, set its key path, e.g. {path}.KEY = ...)");
            }
            seen[path] = (line, col);
        }
    }

    /// <summary>Spaces for the range, keeping its newlines so line numbers of later errors stay right.</summary>
    private static string Blank(string text, int start, int end)
    {
        var sb = new StringBuilder(end - start);
        for (var i = start; i < end; i++) sb.Append(text[i] == '\n' ? '\n' : ' ');
        return sb.ToString();
    }

    private static string Apply(string text, List<Edit> edits)
    {
        var sb = new StringBuilder(text.Length);
        var at = 0;
        foreach (var edit in edits.OrderBy(e => e.Start))
        {
            if (edit.Start < at) continue; // inside a range already replaced (a removed field's own substitution)
            sb.Append(text, at, edit.Start - at).Append(edit.Text);
            at = edit.End;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    internal static (int Line, int Col) Position(string text, int offset)
    {
        var line = 1 + text.AsSpan(0, offset).Count('\n');
        var col = offset - (offset == 0 ? -1 : text.LastIndexOf('\n', offset - 1));
        return (line, col);
    }

    private sealed record Edit(int Start, int End, string Text);

    private sealed record Range(int Start, int End);

    /// <summary>A <c>${path}</c>; <see cref="Removal"/> is what an unset optional one removes (null inside a concatenation).</summary>
    private sealed record Substitution(int Start, int End, string Path, bool Optional, Range? Removal, string Field);

    private sealed record IncludeDirective(int Start, int End, int Line, int Col, string Kind, bool Required, string Path, string Prefix);

    /// <summary>A literal value of a key that names a file (<see cref="IsFileKey"/>), as written.</summary>
    private sealed record FileValue(int Start, int End, string Value);

    private sealed record ScanResult(List<Substitution> Substitutions, List<IncludeDirective> Includes, List<int> BlankedCommas, List<(string Path, int Line, int Col)> Definitions, List<FileValue> FileValues);

    /// <summary>The keys whose value is a file to read: a pipeline's <c>query-file</c>.</summary>
    private static bool IsFileKey(string path) => path.Split('.') is ["tremor", "flows", _, "pipelines", _, "query-file"];

    [GeneratedRegex("""\Ginclude[ \t]+(?:(?<required>required)[ \t]*\([ \t]*)?(?:(?<kind>file|url|classpath)[ \t]*\([ \t]*)?"(?<path>(?:[^"\\\n]|\\.)*)"[ \t]*(?<close>(?:\)[ \t]*){0,2})""")]
    private static partial Regex IncludePattern();

    /// <summary>
    /// Walks the text once, knowing strings, comments, objects, arrays, keys and values, and records the
    /// substitutions (with what an unset optional one removes), includes, commas after <c>key { }</c>, and the
    /// key paths of object definitions.
    /// </summary>
    private sealed class Scanner(string text, string prefix)
    {
        private readonly List<Substitution> _substitutions = [];
        private readonly List<IncludeDirective> _includes = [];
        private readonly List<int> _commas = [];
        private readonly List<(string, int, int)> _definitions = [];
        private readonly List<FileValue> _fileValues = [];
        private readonly Stack<Frame> _frames = new();
        private int _i;

        public ScanResult Run()
        {
            _frames.Push(new Frame(isArray: false, prefix));
            SkipSpace(newlines: true);
            if (_i < text.Length && text[_i] == '{')
            {
                // Root braces: the same object as the implicit root.
                _i++;
                _frames.Push(new Frame(isArray: false, prefix));
            }
            while (_i < text.Length)
            {
                var frame = _frames.Peek();
                if (frame.IsArray) ArrayStep(frame);
                else ObjectStep(frame);
            }
            while (_frames.Count > 0) EndValue(_frames.Pop());
            return new ScanResult(_substitutions, _includes, _commas, _definitions.ConvertAll(d => (d.Item1, d.Item2, d.Item3)), _fileValues);
        }

        private void ObjectStep(Frame frame)
        {
            if (frame.InValue)
            {
                ValueStep(frame);
                return;
            }
            SkipSpace(newlines: true);
            if (_i >= text.Length) return;
            var c = text[_i];
            if (c == ',')
            {
                // Akka takes a comma after `key = value` but not after `key { ... }`; HOCON allows both.
                if (frame.AfterBareObject) _commas.Add(_i);
                frame.AfterBareObject = false;
                _i++;
                return;
            }
            frame.AfterBareObject = false;
            if (c == '}')
            {
                _i++;
                CloseChild();
                return;
            }
            var include = IncludePattern().Match(text, _i);
            if (include.Success && include.Groups["close"].Value.Count(ch => ch == ')') == (include.Groups["required"].Success ? 1 : 0) + (include.Groups["kind"].Success ? 1 : 0))
            {
                var (line, col) = Position(text, _i);
                var kind = include.Groups["kind"].Success ? include.Groups["kind"].Value : "file";
                _includes.Add(new IncludeDirective(_i, include.Index + include.Length, line, col, kind, include.Groups["required"].Success, Regex.Unescape(include.Groups["path"].Value), frame.Path));
                _i = include.Index + include.Length;
                return;
            }
            // A key: unquoted segments split on dots, quoted segments whole, until '=', ':', '+=' or '{'.
            var keyStart = _i;
            var segments = new List<string>();
            var segment = new StringBuilder();
            while (_i < text.Length)
            {
                c = text[_i];
                if (c == '"')
                {
                    var end = QuotedEnd(_i);
                    segment.Append(Regex.Unescape(text[(_i + 1)..(end - 1)]));
                    _i = end;
                    continue;
                }
                if (c is '=' or ':' or '{' or '\n' or '}' or ',' || (c == '+' && _i + 1 < text.Length && text[_i + 1] == '=')) break;
                if (c == '.')
                {
                    segments.Add(segment.ToString().Trim());
                    segment.Clear();
                }
                else
                {
                    segment.Append(c);
                }
                _i++;
            }
            segments.Add(segment.ToString().Trim());
            var path = Join(frame.Path, string.Join('.', segments));
            if (_i >= text.Length) return;
            c = text[_i];
            if (c == '{')
            {
                _i++;
                Define(path, keyStart);
                _frames.Push(new Frame(isArray: false, path));
                return;
            }
            if (c is '=' or ':' or '+')
            {
                _i += c == '+' ? 2 : 1;
                frame.InValue = true;
                frame.FieldStart = keyStart;
                frame.Key = path;
                frame.Pieces.Clear();
                return;
            }
            // Anything else is a syntax error Akka reports with its position; step over it.
            _i++;
        }

        private void ArrayStep(Frame frame)
        {
            SkipSpace(newlines: false);
            if (_i >= text.Length) return;
            var c = text[_i];
            if (c is '\n' or ',')
            {
                EndElement(frame, c == ',' ? _i + 1 : _i);
                _i++;
                return;
            }
            if (c == ']')
            {
                EndElement(frame, _i);
                _i++;
                CloseChild();
                return;
            }
            ValueToken(frame);
        }

        private void ValueStep(Frame frame)
        {
            SkipSpace(newlines: false);
            if (_i >= text.Length) return;
            var c = text[_i];
            if (c is '\n' or ',')
            {
                // A removed field takes its comma along: `{ a = ${?X}, b = 1 }` must not become `{ , b = 1 }`.
                EndValue(frame, c == ',' ? _i + 1 : null);
                _i++;
                return;
            }
            if (c == '}')
            {
                EndValue(frame);
                return; // the object step closes it
            }
            ValueToken(frame);
        }

        private void ValueToken(Frame frame)
        {
            var c = text[_i];
            var start = _i;
            if (c == '$' && _i + 1 < text.Length && text[_i + 1] == '{')
            {
                var close = text.IndexOf('}', _i);
                var newline = text.IndexOf('\n', _i);
                if (close < 0 || (newline >= 0 && newline < close))
                {
                    _i += 2; // unterminated: the syntax check or Akka reports it
                    return;
                }
                var inner = text[(_i + 2)..close];
                var optional = inner.StartsWith('?');
                var field = (frame.IsArray ? frame.Path : frame.Key).Replace("[]", "", StringComparison.Ordinal);
                var sub = new Piece(start, close + 1, optional ? inner[1..].Trim() : inner.Trim(), optional, field);
                frame.Pieces.Add(sub);
                _i = close + 1;
                return;
            }
            if (c == '{')
            {
                _i++;
                var path = frame.IsArray ? frame.Path + "[]" : frame.Key;
                if (!frame.IsArray && frame.Pieces.Count == 0) Define(path, frame.FieldStart);
                frame.Pieces.Add(new Piece(start, start + 1, null, false));
                _frames.Push(new Frame(isArray: false, path));
                return;
            }
            if (c == '[')
            {
                _i++;
                frame.Pieces.Add(new Piece(start, start + 1, null, false));
                _frames.Push(new Frame(isArray: true, (frame.IsArray ? frame.Path : frame.Key) + "[]"));
                return;
            }
            if (c == '"')
            {
                _i = QuotedEnd(_i);
            }
            else
            {
                while (_i < text.Length && !char.IsWhiteSpace(text[_i]) && text[_i] is not (',' or '}' or ']' or '{' or '[' or '"' or '#') && !IsComment(_i) && !(text[_i] == '$' && _i + 1 < text.Length && text[_i + 1] == '{'))
                {
                    _i++;
                }
                if (_i == start) _i++;
            }
            frame.Pieces.Add(new Piece(start, _i, null, false));
        }

        private void CloseChild()
        {
            _frames.Pop();
            if (_frames.Count == 0) return;
            var parent = _frames.Peek();
            if (!parent.IsArray && !parent.InValue) parent.AfterBareObject = true;
        }

        /// <summary>The end of a field's value: an unset optional substitution that is the whole value removes the field.</summary>
        private void EndValue(Frame frame, int? through = null)
        {
            if (frame.IsArray)
            {
                EndElement(frame, _i);
                return;
            }
            if (!frame.InValue) return;
            var end = through ?? (frame.Pieces.Count > 0 ? frame.Pieces[^1].End : _i);
            AddSubstitutions(frame.Pieces, new Range(frame.FieldStart, end));
            if (frame.Pieces is [{ Path: null } only] && IsFileKey(frame.Key) && Literal(only.Start, only.End) is { } value)
            {
                _fileValues.Add(new FileValue(only.Start, only.End, value));
            }
            frame.InValue = false;
            frame.Pieces.Clear();
        }

        private void EndElement(Frame frame, int end)
        {
            AddSubstitutions(frame.Pieces, frame.Pieces.Count == 0 ? null : new Range(frame.Pieces[0].Start, end));
            frame.Pieces.Clear();
        }

        private void AddSubstitutions(List<Piece> pieces, Range? whole)
        {
            foreach (var p in pieces.Where(p => p.Path is not null))
            {
                _substitutions.Add(new Substitution(p.Start, p.End, p.Path!, p.Optional, pieces.Count == 1 ? whole : null, p.Field));
            }
        }

        /// <summary>A string or unquoted value as HOCON reads it; null for an object, an array or an unterminated string.</summary>
        private string? Literal(int start, int end)
        {
            var raw = text[start..end];
            if (raw.StartsWith("\"\"\"", StringComparison.Ordinal)) return raw.Length >= 6 && raw.EndsWith("\"\"\"", StringComparison.Ordinal) ? raw[3..^3] : null;
            if (raw.StartsWith('"'))
            {
                try
                {
                    return System.Text.Json.JsonSerializer.Deserialize<string>(raw);
                }
                catch (System.Text.Json.JsonException)
                {
                    return null; // Akka reports the bad string with its position
                }
            }
            return raw.Length == 0 || raw[0] is '{' or '[' ? null : raw.Trim();
        }

        private void Define(string path, int at)
        {
            var (line, col) = Position(text, at);
            _definitions.Add((path, line, col));
        }

        private int QuotedEnd(int at)
        {
            if (at + 2 < text.Length && text[at + 1] == '"' && text[at + 2] == '"')
            {
                var end = text.IndexOf("\"\"\"", at + 3, StringComparison.Ordinal);
                if (end < 0) return text.Length;
                end += 3;
                while (end < text.Length && text[end] == '"') end++; // """ may end with more quotes
                return end;
            }
            var i = at + 1;
            while (i < text.Length && text[i] != '"' && text[i] != '\n')
            {
                if (text[i] == '\\') i++;
                i++;
            }
            return Math.Min(i + 1, text.Length);
        }

        private bool IsComment(int at) => text[at] == '#' || (text[at] == '/' && at + 1 < text.Length && text[at + 1] == '/');

        private void SkipSpace(bool newlines)
        {
            while (_i < text.Length)
            {
                var c = text[_i];
                if (IsComment(_i))
                {
                    while (_i < text.Length && text[_i] != '\n') _i++;
                    continue;
                }
                if (c == '\n' && !newlines) return;
                if (!char.IsWhiteSpace(c)) return;
                _i++;
            }
        }

        private static string Join(string a, string b) => a.Length == 0 ? b : $"{a}.{b}";

    }

    private sealed record Piece(int Start, int End, string? Path, bool Optional, string Field = "");

    private sealed class Frame(bool isArray, string path)
    {
        public bool IsArray { get; } = isArray;

        public string Path { get; } = path;

        public bool InValue { get; set; }

        public int FieldStart { get; set; }

        public string Key { get; set; } = "";

        public bool AfterBareObject { get; set; }

        public List<Piece> Pieces { get; } = [];
    }
}
