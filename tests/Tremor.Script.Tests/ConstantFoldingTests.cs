namespace Tremor.Script.Tests;

/// <summary>
/// Tremor evaluates expressions made only of literals, constants and pure standard functions when it compiles:
/// such an expression that cannot succeed is refused before any event, at the part at fault.
/// </summary>
public class ConstantFoldingTests
{
    [Theory]
    [InlineData("select 1 / 0 from in into out;", "bad.trickle:1:8: The binary operation `/` must have a non zero RHS")]
    [InlineData("select 42 >> 64 from in into out;", "bad.trickle:1:8: ")]
    [InlineData("select 42 >> 2.0 from in into out;", "bad.trickle:1:8: The binary operation `>>` is not defined for the type `integer` and `float`")]
    [InlineData("select - false from in into out;", "bad.trickle:1:8: ")]
    [InlineData("select [0, 1, 2][5] from in into out;", "bad.trickle:1:18: Array index out of bounds")]
    [InlineData("select [0, 1, 2].x from in into out;", "bad.trickle:1:18: ")]
    [InlineData("select {\"a\": 1}.b from in into out;", "bad.trickle:1:17: Trying to access a non existing")]
    [InlineData("select [0, 1, 2][2:1] from in into out;", "bad.trickle:1:18: ")]
    [InlineData("select [0, 1, 2][1:\"x\"] from in into out;", "bad.trickle:1:20: the end of a range must be an integer")]
    [InlineData("const c = {\"a\": [1]}; select c.a[3] from in into out;", "bad.trickle:1:34: Array index out of bounds")]
    [InlineData("select \"#{1 + \"a\"}\" from in into out;", "bad.trickle:1:11: The binary operation `+` is not defined")]
    public void A_constant_expression_that_fails_is_a_compile_error_at_its_part(string query, string expected) =>
        Assert.StartsWith(expected, Harness.CompileError(query));

    [Fact]
    public void A_pure_function_that_fails_on_constant_arguments_is_a_compile_error_not_a_crash() =>
        Assert.StartsWith("bad.trickle:1:8: ", Harness.CompileError("select math::max(\"snot\", 7) from in into out;"));

    [Fact]
    public void A_constant_error_in_a_branch_never_taken_is_still_refused() =>
        Assert.StartsWith("bad.trickle:1:50: ", Harness.CompileError("select match event of case 1 => \"one\" default => 1 + [] end from in into out;"));

    [Fact]
    public void Expressions_over_locals_state_or_the_event_stay_run_time_errors()
    {
        var output = Harness.Script("let i = 5;\n[0, 1][i]");
        Assert.Empty(output.On("out"));
        Assert.StartsWith("test.trickle:3:8: Array index out of bounds", Harness.ErrorOf(output.On("err").Single()));
        Assert.Equal("ERR: test.trickle:1:8: The binary operation `/` must have a non zero RHS (1 / 0)", Harness.Eval("event / 0", "1"));
    }

    [Theory]
    [InlineData("[1 + 1, \"a\" + \"b\", [3, 4][1], {\"k\": [5]}.k[0], math::max(1, 2)]", "[2,\"ab\",4,5,2]")]
    [InlineData("\"#{1 + 1}-#{string::len(\"abc\")}\"", "\"2-3\"")]
    public void Constant_expressions_keep_their_values(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));
}
