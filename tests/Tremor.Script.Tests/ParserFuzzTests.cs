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
    ];

    private const string Alphabet = "%{}[]()|~=<>:;,.\"#\\ \n\tabcfnx019_-+*/!&^$`'";

    [Fact]
    public void Mutated_queries_compile_or_fail_with_a_position()
    {
        Assert.NotEmpty(Seeds);
        var random = new Random(17);
        var refused = 0;
        for (var i = 0; i < 4000; i++)
        {
            var text = Mutate(random, Seeds[random.Next(Seeds.Length)]);
            try
            {
                Query.Compile(text, "fuzz.trickle");
            }
            catch (ScriptException e)
            {
                refused++;
                Assert.True(e.Line >= 1 && e.Column >= 1, $"no position for: {e.Message}\n--- input ---\n{text}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name}: {e.Message}\n--- input ---\n{text}\n{e.StackTrace}");
            }
        }
        Assert.True(refused > 0, "the mutations never produced a refusal: the fuzzer is not mutating");
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
