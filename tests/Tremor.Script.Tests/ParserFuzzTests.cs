namespace Tremor.Script.Tests;

/// <summary>Random and mutated queries: the compiler accepts or refuses with a position, never crashes or hangs.</summary>
public class ParserFuzzTests
{
    private static readonly string[] Seeds =
    [
        .. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "examples"), "*.trickle").Select(File.ReadAllText),
        "fn f(n, acc) of case (0, acc) => acc default => recur(n - 1, acc + n) end;\nselect f(event.n, 0) from in into out;",
        "mod m with const x = 1; fn g(y) with y + x end; end;\nselect m::g(m::x) from in into out;",
        "define script s args a = 1 script\nuse std::string;\nmatch event of case r = %{ msg ~= dissect|%{a} %{b}| } => r case ~ grok|%{INT:n:int}| => 1 default => drop end\nend;\ncreate script t from s with a = 2 end;\nselect event from in into t; select event from t into out;",
        "select for event of case (k, v) => {\"#{k}\": v} into {} use + end from in into out;",
        "select patch event of copy \"a\" => \"b\"; move \"c\" => \"d\" end from in into out;",
        "select \"\"\"\n  heredoc #{event.a}\n  \"\"\" from in into out;",
        "select <<1, (event.a):16/little-unsigned-integer, \"x\"/binary>> from in into out;",
        "select match <<event.a:4, 3:4>> of case <<v:4, _:4, rest/binary>> => v case %(1, _, ...) => 2 default => 0 end from in into out;",
        "select match event of case r = %{ t ~= datetime|%Y-%m-%d %H:%M| } => datetime::format(r.t, \"%+\") default => merge event of {\"a\": null} end end from in into out;",
        "select [random::integer(1, 9), chash::jump(\"k\", 4), origin::host(), 7 / 2, patch event of default => {\"a\": {\"b\": 1}} end] from in into out;",
        "define window w from tumbling with size = 2 end;\nselect {\"n\": aggr::win::collect_nested(event), \"d\": aggr::stats::dds(event), \"c\": win::cardinality()} from in[w] group by event into out;",
    ];

    // Tokens of the language, for inputs that are not near any valid query.
    private static readonly string[] Vocabulary =
    [
        "select", "from", "into", "in", "out", "err", "where", "group", "by", "having", "define", "create", "window", "script", "operator",
        "stream", "match", "of", "case", "default", "when", "end", "let", "patch", "merge", "for", "emit", "drop", "fn", "const", "mod",
        "use", "with", "args", "event", "state", "$", "present", "absent", "not", "and", "or", "=>", "==", "=", "+", "-", "*", "/", "%",
        "<<", ">>", "<", ">", ":", "::", ";", ",", ".", "(", ")", "[", "]", "{", "}", "%{", "%[", "%(", "~", "~=", "_", "...", "1", "0x1f",
        "1.5", "\"s\"", "\"#{event}\"", "x", "a", "re|a|", "datetime|%Y|", "dissect|%{a}|", "string::len", "null", "true", "\n", "\"\"\"\n",
    ];

    private const string Alphabet = "%{}[]()|~=<>:;,.\"#\\ \n\tabcfnx019_-+*/!&^$`'";

    [Fact]
    public async Task Random_and_mutated_queries_compile_and_run_or_fail_with_a_position()
    {
        Assert.NotEmpty(Seeds);
        var random = new Random(17);
        var refused = 0;
        var ran = 0;
        // A hang is a failure too: the whole run has a generous bound, far above its normal second or two.
        var work = Task.Run(() =>
        {
            for (var i = 0; i < 6000; i++)
            {
                var text = (i % 3) switch
                {
                    0 => TokenSoup(random),
                    _ => Mutate(random, Seeds[random.Next(Seeds.Length)]),
                };
                if (Attempt(text)) ran++;
                else refused++;
            }
        });
        // TimeoutException when it hangs.
        await work.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(refused > 0, "no input was refused: the fuzzer is not mutating");
        Assert.True(ran > 0, "no input compiled: the fuzzer only produces noise");
    }

    // Compiles and, when it compiles, runs a few events through; false when refused. Anything else escaping fails.
    private static bool Attempt(string text)
    {
        try
        {
            var instance = Query.Compile(text, "fuzz.trickle").Instantiate();
            var output = new Collector();
            foreach (var json in (string[])["{\"a\": 1, \"t\": \"2020-01-01 00:00\"}", "[1, 2, 3]", "\"text\"", "null"])
                instance.Process("in", [Harness.Ev(Harness.J(json))], 0, output);
            instance.Finish(0, output);
            return true;
        }
        catch (ScriptException e)
        {
            var lines = text.Split('\n');
            Assert.True(e.Line >= 1 && e.Line <= lines.Length, $"line {e.Line} is outside the input: {e.Message}\n--- input ---\n{text}");
            Assert.True(e.Column >= 1 && e.Column <= lines[e.Line - 1].Length + 1, $"column {e.Column} is outside line {e.Line}: {e.Message}\n--- input ---\n{text}");
            Assert.StartsWith($"fuzz.trickle:{e.Line}:{e.Column}: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("^", e.Message, StringComparison.Ordinal);
            return false;
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name}: {e.Message}\n--- input ---\n{text}\n{e.StackTrace}");
            return false;
        }
    }

    private static string TokenSoup(Random random)
    {
        var n = random.Next(1, 40);
        var parts = new string[n];
        for (var k = 0; k < n; k++) parts[k] = Vocabulary[random.Next(Vocabulary.Length)];
        var text = string.Join(random.Next(2) == 0 ? " " : "", parts);
        // Half start like a statement, so the soup reaches past the first token.
        return random.Next(2) == 0 ? "select " + text : text;
    }

    [Theory]
    [InlineData("(", "")]
    [InlineData("-", "1")]
    [InlineData("[", "")]
    [InlineData("match event of case %{ a ~= ", "")]
    [InlineData("\"#{", "")]
    public void Deep_nesting_is_refused_with_a_position_instead_of_overflowing_the_stack(string opener, string tail)
    {
        var text = "select " + string.Concat(Enumerable.Repeat(opener, 100_000)) + tail;
        var e = Assert.Throws<ScriptException>(() => Query.Compile(text, "deep.trickle"));
        Assert.Equal(1, e.Line);
        Assert.True(e.Column > 1);
    }

    [Fact]
    public void On_a_thread_with_a_small_stack_runaway_recursion_and_deep_nesting_are_errors_not_crashes()
    {
        string? recursion = null;
        Exception? nesting = null;
        Exception? unexpected = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    recursion = Harness.Run("""
                        fn down(n) with match n of case 0 => 0 default => 1 + down(n - 1) end end;
                        select down(event.n) from in into out;
                        """, """{"n": 100000}""").On("err").Single().Data["error"].AsString();
                    Query.Compile("select " + new string('(', 10_000), "deep.trickle");
                }
                catch (ScriptException e)
                {
                    nesting = e;
                }
                catch (Exception e)
                {
                    unexpected = e;
                }
            },
            256 * 1024);
        thread.Start();
        thread.Join();
        Assert.Null(unexpected);
        Assert.Contains("`down` recursed deeper than", recursion);
        Assert.Contains("expression nested too deeply", Assert.IsType<ScriptException>(nesting).Reason);
    }

    private static string Mutate(Random random, string seed)
    {
        var chars = seed.ToList();
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits && chars.Count > 0; e++)
        {
            var at = random.Next(chars.Count);
            switch (random.Next(4))
            {
                case 0: chars.RemoveAt(at); break;
                case 1: chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                case 2: chars[at] = Alphabet[random.Next(Alphabet.Length)]; break;
                default: chars.RemoveRange(at, chars.Count - at); break;
            }
        }
        return new string(chars.ToArray());
    }
}
