namespace Tremor.Script.Tests;

/// <summary>Errors point where Tremor points: the offending token or the operand at fault, not the operator or the `.`.</summary>
public class ErrorPositionTests
{
    // Run-time errors: the first line of the error text an event on err carries.
    [Theory]
    [InlineData("event.a.missing", """{"a":{}}""", "1:16")]             // the key, not the `.` before it
    [InlineData("event[\"a\"][\"b\"]", """{"a":1}""", "1:19")]          // the index expression inside the brackets
    [InlineData("event.list[3]", """{"list":[]}""", "1:19")]
    [InlineData("(event.a) + 1", """{"a":"x"}""", "1:8")]                // a binary expression starts at its left operand
    [InlineData("1 + event.a * 2", """{"a":"x"}""", "1:12")]
    [InlineData("event.a and event.b", """{"a":true,"b":"y"}""", "1:20")]     // a right side of `and` that is not a bool, at it
    [InlineData("not event.a", """{"a":1}""", "1:12")]                   // a bad operand of a unary operator
    [InlineData("-event.a", """{"a":"x"}""", "1:9")]
    [InlineData("match event of case 1 when event => 1 default => 2 end", "1", "1:35")] // a guard that is not a bool
    [InlineData("merge event of {} end", "1", "1:14")]                     // the operand that is not a record
    [InlineData("merge {} of event end", "1", "1:20")]
    [InlineData("patch event of insert \"a\" => 1 end", "1", "1:14")]       // the target that is not a record
    [InlineData("match event of case 2 => 1 end", "1", "1:8")]             // the match no case took
    [InlineData("string::len(event)", "1", "1:8")]                        // a function at its call
    [InlineData("math::max(event, 7)", "\"snot\"", "1:8")]                // also when it fails comparing its arguments
    public void Run_time_errors(string expr, string eventJson, string lineCol)
    {
        var result = Harness.Eval(expr, eventJson);
        Assert.StartsWith($"ERR: test.trickle:{lineCol}: ", result, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_time_error_in_a_script_points_at_the_left_operand_on_its_line()
    {
        var output = Harness.Script("let x = 1;\nlet y = event.a\n  + 1;\ny", """{"a":"x"}""");
        Assert.StartsWith("test.trickle:3:9: The binary operation `+` is not defined for the type `string` and `integer`", Harness.ErrorOf(Assert.Single(output.On("err"))), StringComparison.Ordinal);
    }

    // Compile errors: line:col of the offending token.
    [Theory]
    [InlineData("select event from in into out\nselect 1 from in into out;", "2:1")] // the token found where `;` was expected
    [InlineData("select (1 +\nfrom in into out;", "2:1")]
    [InlineData("select [1, 2 from in into out;", "1:14")]
    [InlineData("select {\"a\" 1} from in into out;", "1:13")]
    [InlineData("select match event of case %{ a ~= re|(| } => 1 default => 2 end from in into out;", "1:36")] // the extractor
    [InlineData("select string::lenn(event) from in into out;", "1:8")]
    [InlineData("select event.a +\n  unknown_local from in into out;", "2:3")]
    [InlineData("select \"abc from in into out;", "1:8")]
    [InlineData("select 1 from in into out;\n  select @ from in into out;", "2:10")]
    [InlineData("select event from in into out", "1:30")]                   // end of input where `;` was expected
    [InlineData("select a:::b() from in into out;", "1:9")]                // `:::` at its first colon
    [InlineData("select \"x#{\nfrom in into out;", "1:10")]                 // an interpolation left open, at its `#{`
    [InlineData("select \"x#{ }\" from in into out;", "1:10")]               // an interpolation without content
    [InlineData("select match event of case %{ a ~= snot|x| } => 1 default => 2 end from in into out;", "1:36")] // an unknown extractor, at its name
    [InlineData("select <<event:100>> from in into out;", "1:10")]             // a size out of range, at its part
    [InlineData("select patch event of insert 7 => 1 end from in into out;", "1:30")] // a patch key that is not a string
    [InlineData("const a = 1;\nconst a = 2;\nselect a from in into out;", "2:1")] // a constant defined twice, at `const`
    public void Compile_errors(string query, string lineCol) =>
        Assert.StartsWith($"bad.trickle:{lineCol}: ", Harness.CompileError(query), StringComparison.Ordinal);

    [Fact]
    public void A_compile_error_keeps_the_line_the_caret_and_the_hint() => Assert.Equal("""
        bad.trickle:2:3: unknown local `unknown_local`
              unknown_local from in into out;
              ^
          hint: assign it first with `let unknown_local = ...;`, or use `event.unknown_local` for a field of the event
        """.Replace("\r", ""), Harness.CompileError("select event.a +\n  unknown_local from in into out;"));
}
