namespace Tremor.Script.Tests;

/// <summary><c>for ... into INITIAL use OP end</c>: folds over arrays and records.</summary>
public class FoldTests
{
    [Theory]
    [InlineData("for [1, 2, 3, 4] of case (i, e) => e into 0 use + end", "10")]
    [InlineData("for [1, 2, 3, 4] of case (i, e) => e into 1 use * end", "24")]
    [InlineData("for [1, 2, 3] of case (i, e) => e into 10 use - end", "4")]
    [InlineData("for [2, 5] of case (i, e) => e into 100 use / end", "10")]
    [InlineData("for [true, false] of case (i, e) => e into false use or end", "true")]
    [InlineData("for [true, false] of case (i, e) => e into true use and end", "false")]
    [InlineData("for [\"a\", \"b\"] of case (i, e) => e into \">\" end", "\">ab\"")]
    [InlineData("for [1, 2, 3] of case (i, e) when e > 1 => e * 10 into [0] end", "[0,20,30]")]
    [InlineData("for [1, 2] of case (i, e) => e end", "[1,2]")]
    public void Folds_combine_case_results_with_the_operator(string expr, string expected) =>
        Assert.Equal(expected, Harness.Eval(expr));

    [Fact]
    public void A_for_over_a_record_into_a_record_merges_what_the_cases_return()
    {
        var result = Harness.Eval("""for event of case (k, v) when v > 1 => {"#{k}_doubled": v * 2} into {"kept": true} end""", """{"a": 1, "b": 2, "c": 3}""");
        Assert.Equal("""{"kept":true,"b_doubled":4,"c_doubled":6}""", result);
    }

    [Fact]
    public void The_initial_value_is_not_shared_between_events()
    {
        var output = Harness.Run("select for event of case (i, e) => e into [] end from in into out;", "[1]", "[2]");
        Assert.Equal(["[1]", "[2]"], output.Data());
    }

    [Fact]
    public void Folding_an_array_with_another_operator_or_a_non_record_into_a_record_is_an_error_at_its_position()
    {
        // At the case's value, as Tremor reports a fold that fails; with nothing to fold, nothing fails.
        Assert.Equal("ERR: test.trickle:1:34: cannot fold into array with `*`: arrays and records fold with `+` only",
            Harness.Eval("for [1] of case (i, e) => e into [] use * end"));
        Assert.Equal("[]", Harness.Eval("for [] of case (i, e) => e into [] use * end"));
        Assert.Equal("ERR: test.trickle:1:34: a `for` into a record needs records from its cases, got integer",
            Harness.Eval("for [1] of case (i, e) => e into {} end"));
        Assert.Equal("ERR: test.trickle:1:36: a case of a fold with `and` must be a bool, got integer 42",
            Harness.Eval("for event of case (i, e) => e into true use and end", "[true, 42]"));
    }

    [Fact]
    public void An_unknown_fold_operator_is_a_compile_error()
    {
        Assert.StartsWith("bad.trickle:1:47: expected a fold operator", Harness.CompileError("select for [1] of case (i, e) => e into 0 use == end from in into out;"));
    }
}

/// <summary>Heredocs and patch copy/move.</summary>
public class HeredocAndPatchTests
{
    [Fact]
    public void A_heredoc_keeps_its_lines_quotes_and_interpolations()
    {
        var query = "select \"\"\"\n  say \"#{event.name}\"\n  done\n  \"\"\" from in into out;";
        Assert.Equal("\"  say \\\"ada\\\"\\n  done\\n\"", Harness.Run(query, """{"name": "ada"}""").Data().Single());
    }

    [Fact]
    public void An_unterminated_heredoc_points_at_its_start()
    {
        Assert.StartsWith("bad.trickle:1:8: unterminated heredoc", Harness.CompileError("select \"\"\"\nnever closed"));
        Assert.StartsWith("bad.trickle:1:8: a heredoc starts with", Harness.CompileError("select \"\"\"same line\"\"\" from in into out;"));
    }

    [Theory]
    [InlineData("patch event of copy \"a\" => \"b\" end", "{\"a\":1,\"b\":1}")]
    [InlineData("patch event of move \"a\" => \"b\" end", "{\"b\":1}")]
    [InlineData("patch event of move \"missing\" => \"b\" end", "{\"a\":1}")]
    [InlineData("patch event of copy \"a\" => \"a\" end", "ERR: test.trickle:1:23: The key that is supposed to be written to already exists: a (patch copy)")]
    public void Patch_copy_and_move(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr, """{"a": 1}"""));
}

/// <summary>Binary literals: <c>&lt;&lt;value[:bits][/type], ...&gt;&gt;</c>, byte-aligned.</summary>
public class BinaryLiteralTests
{
    [Theory]
    [InlineData("<<1, 2:16, \"AB\"/binary>>", "\"AQACQUI=\"")]
    [InlineData("<<1:16/little>>", "\"AQA=\"")]
    [InlineData("<<(-1):16/signed-integer>>", "\"//8=\"")]
    [InlineData("<<event.a:32, event.a>>", "\"AAAABwc=\"")]
    [InlineData("<<>>", "\"\"")]
    public void Binary_literals_pack_big_endian_integers_and_binaries(string literal, string base64) =>
        Assert.Equal(base64, Harness.Eval($"base64::encode({literal})", """{"a": 7}"""));

    [Fact]
    public void A_value_that_does_not_fit_is_a_run_time_error() =>
        Assert.Equal("ERR: test.trickle:1:10: 256 does not fit 8 unsigned bits", Harness.Eval("<<event>>", "256"));
}
