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
        Assert.Equal("ERR: test.trickle:1:48: cannot fold into array with `*`: arrays and records fold with `+` only",
            Harness.Eval("for [1] of case (i, e) => e into [] use * end"));
        Assert.Equal("ERR: test.trickle:1:19: a `for` into a record needs records from its cases, got integer",
            Harness.Eval("for [1] of case (i, e) => e into {} end"));
    }

    [Fact]
    public void An_unknown_fold_operator_is_a_compile_error()
    {
        Assert.StartsWith("bad.trickle:1:47: expected a fold operator", Harness.CompileError("select for [1] of case (i, e) => e into 0 use == end from in into out;"));
    }
}
