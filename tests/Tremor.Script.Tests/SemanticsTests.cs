using Tremor.Pdk;

namespace Tremor.Script.Tests;

/// <summary>Where Tremor.NET used to differ from Tremor's values: match without a case, division, merge, patch, array patterns.</summary>
public class SemanticsTests
{
    [Fact]
    public void A_match_no_case_takes_is_an_error_at_the_match_and_the_event_goes_to_err_in_Tremors_shape()
    {
        var output = Harness.Run("select\n  match event.a of case 1 => \"one\" end\nfrom in into out;", """{"a":1}""", """{"a":2}""");
        Assert.Equal(["\"one\""], output.Data());
        var err = Assert.Single(output.On("err"));
        Assert.Equal("test.trickle:2:3: A match expression executed but no clause matched", Harness.ErrorOf(err));
        Assert.Equal("""{"a":2}""", err.Data["event"].ToString());
        // The text shows the line and a caret under the `match`.
        Assert.Equal("test.trickle:2:3: A match expression executed but no clause matched\n      match event.a of case 1 => \"one\" end\n      ^\n  hint: Consider adding a `default => null` clause at the end of your match or validate full coverage beforehand.", err.Data["error"].AsString());
    }

    [Fact]
    public void A_failing_script_keeps_the_events_metadata_and_id()
    {
        var output = Harness.Script("match event of case 1 => 1 end", "5", """{"source":"x"}""");
        var err = Assert.Single(output.On("err"));
        Assert.Equal("""{"source":"x"}""", err.Meta.ToString());
        Assert.Equal("5", err.Data["event"].ToString());
        Assert.StartsWith("test.trickle:2:1: A match expression executed but no clause matched", Harness.ErrorOf(err), StringComparison.Ordinal);
    }

    [Fact]
    public void A_match_with_a_default_or_a_catch_all_never_fails() =>
        Assert.Equal("[\"other\",\"any\"]", Harness.Eval("[match 2 of case 1 => 1 default => \"other\" end, match 2 of case 1 => 1 case _ => \"any\" end]"));

    [Fact]
    public void A_fn_of_needs_a_default_last() =>
        Assert.StartsWith("bad.trickle:1:30: `fn f(...) of` needs a `default` case before its `end`",
            Harness.CompileError("fn f(x) of case (1) => \"one\" end; select f(1) from in into out;"), StringComparison.Ordinal);

    [Theory]
    [InlineData("7 / 2", "3.5")]
    [InlineData("type::as_string(4 / 2)", "\"float\"")]
    [InlineData("4 / 2 == 2", "true")]
    [InlineData("-7 / 2", "-3.5")]
    [InlineData("7 % 3", "1")]
    [InlineData("7.0 / 2", "3.5")]
    public void Integer_division_gives_a_float_as_in_Tremor(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("event.one / 0", "ERR: test.trickle:1:8: The binary operation `/` must have a non zero RHS (1 / 0)")]
    [InlineData("event.half % 2", "ERR: test.trickle:1:8: The binary operation `%` is not defined for the type `float` and `integer` (5.5 % 2)")]
    public void Division_errors(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr, """{"one": 1, "half": 5.5}"""));

    [Theory]
    [InlineData("""merge {"a": 1, "b": {"c": 1}} of {"a": null, "b": {"d": 2}} end""", """{"a":null,"b":{"c":1,"d":2}}""")]
    [InlineData("""merge {"a": 1} of {"a": {"b": null}} end""", """{"a":{"b":null}}""")]
    [InlineData("""merge {"a": {"b": 1}} of {"a": [1]} end""", """{"a":[1]}""")]
    [InlineData("""record::merge({"a": 1}, {"a": null, "z": null})""", """{"a":null,"z":null}""")]
    public void Merge_keeps_null_as_a_value(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("<<1>> < <<2>>", "true")]
    [InlineData("<<2>> >= <<1, 0>>", "true")]
    [InlineData("<<1>> < <<1, 0>>", "true")]
    public void Binaries_order_byte_by_byte(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Fact]
    public void Merge_needs_two_records() =>
        Assert.Equal("ERR: test.trickle:1:26: merge needs two records, got record and null", Harness.Eval("merge {\"a\": 1} of null end"));

    [Theory]
    [InlineData("""patch {"a": {"x": 1}} of default => {"a": {"x": 2, "y": 3}, "b": 4} end""", """{"a":{"x":1,"y":3},"b":4}""")]
    [InlineData("""patch {"a": 1} of default => {"a": {"y": 3}} end""", """{"a":1}""")]
    [InlineData("""patch {"a": 1} of default "a" => event.missing end""", """{"a":1}""")]
    [InlineData("""patch {} of default "a" => 2 end""", """{"a":2}""")]
    [InlineData("""patch {} of merge "a" => {"b": 2} end""", """{"a":{"b":2}}""")]
    [InlineData("""patch {"a": {"x": 1}} of merge "a" => {"y": null} end""", """{"a":{"x":1,"y":null}}""")]
    [InlineData("""patch {"a": 1, "b": {"c": 1}} of merge => {"b": {"d": 2}} end""", """{"a":1,"b":{"c":1,"d":2}}""")]
    public void Patch_default_and_merge(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("""patch {"a": 1} of merge "a" => {"b": 2} end""", "ERR: test.trickle:1:26: Merge can only be performed on keys that either do not exist or are records but the key 'a' has the type integer (merging record into 1)")]
    [InlineData("""patch {"a": 1} of merge => 5 end""", "ERR: test.trickle:1:26: patch merge => needs a record, got integer")]
    [InlineData("""patch {"a": 1} of default => 5 end""", "ERR: test.trickle:1:26: patch default => needs a record, got integer")]
    public void Patch_errors_point_at_the_operation(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("match [1, 2, 3] of case r = %[ _, 2 ] => r default => \"no\" end", "[[1,2]]")]
    [InlineData("match [1, 2, 2] of case r = %[ 2 ] => r default => \"no\" end", "[[1,2],[2,2]]")]
    [InlineData("match [] of case r = %[] => r default => \"no\" end", "[]")]
    [InlineData("match [] of case %[ _ ] => \"yes\" default => \"no\" end", "\"no\"")]
    [InlineData("match [1, 2, 3] of case r = %(1, _, ...) => r default => \"no\" end", "[1,2]")]
    [InlineData("match [1, 2, 3] of case %(1, _) => \"yes\" default => \"no\" end", "\"no\"")]
    [InlineData("match [1] of case %(1, _, ...) => \"yes\" default => \"no\" end", "\"no\"")]
    public void Array_and_tuple_patterns_bind_as_in_Tremor(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("!5", "-6")]
    [InlineData("!true", "false")]
    [InlineData("not false", "true")]
    [InlineData("-1 >>> 60", "15")]
    [InlineData("-8 >> 1", "-4")]
    [InlineData("binary::into_bytes(<< 1:4, <<2>>/binary >>)", "[16,2]")]
    public void Bitwise_not_and_the_unsigned_shift_as_in_Tremor(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("\"ab\" == <<97, 98>>", "true")]
    [InlineData("<<97>> != \"a\"", "false")]
    [InlineData("0.1 + 0.2 == 0.3", "true")]
    [InlineData("[1, {\"a\": 2.0}] == [1.0, {\"a\": 2}]", "true")]
    [InlineData("match 0.30000000000000004 of case 0.3 => \"close enough\" default => \"no\" end", "\"close enough\"")]
    [InlineData("array::contains([\"x\"], <<120>>)", "true")]
    public void Equality_is_Tremors(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("string::substr(\"this is a test\", 5, 7)", "\"is\"")]
    [InlineData("string::substr(\"\u2665 utf8 \ud83d\ude00!\", 2, 8)", "\"utf8 \ud83d\ude00\"")]
    [InlineData("string::substr(\"abc\", 1, 99)", "\"bc\"")]
    public void Substr_counts_codepoints(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));
}
