namespace Tremor.Script.Tests;

public class ExpressionTests
{
    [Theory]
    [InlineData("null", "null")]
    [InlineData("true", "true")]
    [InlineData("42", "42")]
    [InlineData("1.5", "1.5")]
    [InlineData("\"snot\"", "\"snot\"")]
    [InlineData("[1, \"a\", null]", "[1,\"a\",null]")]
    [InlineData("{\"a\": 1, \"b\": [true]}", "{\"a\":1,\"b\":[true]}")]
    [InlineData("1 + 2 * 3", "7")]
    [InlineData("(1 + 2) * 3", "9")]
    [InlineData("7 % 3", "1")]
    [InlineData("6 / 3", "2")]
    [InlineData("7 / 2", "3.5")]
    [InlineData("1 + 0.5", "1.5")]
    [InlineData("-3 + 1", "-2")]
    [InlineData("\"a\" + \"b\"", "\"ab\"")]
    [InlineData("[1] + [2, 3]", "[1,2,3]")]
    [InlineData("1 < 2 and 2 <= 2", "true")]
    [InlineData("3 > 4 or not false", "true")]
    [InlineData("true xor true", "false")]
    [InlineData("1 == 1.0", "true")]
    [InlineData("\"a\" != \"b\"", "true")]
    [InlineData("\"abc\" < \"abd\"", "true")]
    [InlineData("{\"a\": [1]} == {\"a\": [1]}", "true")]
    [InlineData("5 & 3", "1")]
    [InlineData("1 << 4", "16")]
    [InlineData("1s", "1000000000")]
    [InlineData("250ms", "250000000")]
    [InlineData("0x10", "16")]
    [InlineData("1_000", "1000")]
    public void Literals_and_operators(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("event.a.b[1]", "{\"a\":{\"b\":[10,20]}}", "20")]
    [InlineData("event[\"key with space\"]", "{\"key with space\":1}", "1")]
    [InlineData("event.a[\"b\"]", "{\"a\":{\"b\":2}}", "2")]
    [InlineData("event.arr[1:3]", "{\"arr\":[0,1,2,3]}", "[1,2]")]
    [InlineData("$missing", "{}", "null")]
    [InlineData("present event.a", "{\"a\":null}", "true")]
    [InlineData("present event.a.b", "{\"a\":1}", "false")]
    [InlineData("absent event.x", "{}", "true")]
    [InlineData("\"x=#{event.x}, y=#{event.y + 1}, s=#{event.s}\"", "{\"x\":[1],\"y\":1,\"s\":\"t\"}", "\"x=[1], y=2, s=t\"")]
    [InlineData("\"nested #{ \"in#{1 + 1}\" }\"", "{}", "\"nested in2\"")]
    public void Paths_and_strings(string expr, string ev, string expected) => Assert.Equal(expected, Harness.Eval(expr, ev));

    [Theory]
    [InlineData("event.missing", "{}", "ERR: test.trickle:1:14: Trying to access a non existing event key `missing` (in `event`)")]
    [InlineData("event.a.b", "{\"a\":\"s\"}", "ERR: test.trickle:1:16: cannot read field `b` of `event.a`: it is string, not a record")]
    [InlineData("event.a[5]", "{\"a\":[1]}", "ERR: test.trickle:1:16: Array index out of bounds, got index 5 but expected an index in the range 0:1 (in `event.a`)")]
    [InlineData("event.big + 1", "{\"big\":9223372036854775807}", "ERR: test.trickle:1:8: The binary operation `+` caused an over- or underflow (9223372036854775807 + 1 does not fit a 64-bit integer)")]
    [InlineData("event.one / 0", "{\"one\":1}", "ERR: test.trickle:1:8: The binary operation `/` must have a non zero RHS (1 / 0)")]
    [InlineData("event.one + \"a\"", "{\"one\":1}", "ERR: test.trickle:1:8: The binary operation `+` is not defined for the type `integer` and `string` (1 + \"a\")")]
    [InlineData("event.one and true", "{\"one\":1}", "ERR: test.trickle:1:8: the left side of `and` must be a bool, got integer 1")]
    [InlineData("-(event.min)", "{\"min\":-9223372036854775808}", "ERR: test.trickle:1:10: The unary operation `-` caused an over- or underflow (-(-9223372036854775808) does not fit a 64-bit integer)")]
    public void Runtime_errors_go_to_err_with_location(string expr, string ev, string expected) => Assert.Equal(expected, Harness.Eval(expr, ev));

    [Fact]
    public void Match_with_literal_record_array_binding_and_guard()
    {
        const string q = """
            select match event of
              case "x" => "literal"
              case %{ present a, b == 1 } => "record"
              case %{ n > 10 } => "big"
              case %{ c ~= %{ d == "e" } } => "nested"
              case %[ 3 ] => "has three"
              case %( 1, _ ) => "tuple"
              case r = %{ present z } when r.z > 5 => "bound #{r.z}"
              case %{ absent q } => "default-ish"
              case _ => "other"
            end from in into out;
            """;
        var output = Harness.Run(q, "\"x\"", "{\"a\":0,\"b\":1}", "{\"n\":11}", "{\"c\":{\"d\":\"e\"}}", "[1,2,3]", "[1,9]", "{\"z\":6,\"q\":1}", "{\"z\":1,\"q\":1}", "{\"p\":1}");
        Assert.Equal(["\"literal\"", "\"record\"", "\"big\"", "\"nested\"", "\"has three\"", "\"tuple\"", "\"bound 6\"", "\"other\"", "\"default-ish\""], output.Data());
    }

    [Fact]
    public void Patch_merge_and_for()
    {
        Assert.Equal("{\"a\":1,\"d\":{\"x\":1,\"y\":2},\"c\":3}",
            Harness.Eval("patch event of erase \"b\"; insert \"c\" => 3; merge \"d\" => {\"y\": 2}; default \"a\" => 9 end", "{\"a\":1,\"b\":2,\"d\":{\"x\":1}}"));
        Assert.Equal("{\"a\":2}", Harness.Eval("patch event of update \"a\" => 2 end", "{\"a\":1}"));
        Assert.StartsWith("ERR: test.trickle:1:23: The key that is supposed to be written to already exists: a", Harness.Eval("patch event of insert \"a\" => 2 end", "{\"a\":1}"));
        Assert.StartsWith("ERR: test.trickle:1:23: The key that is supposed to be updated does not exists: b", Harness.Eval("patch event of update \"b\" => 2 end", "{\"a\":1}"));
        // null is a value in a merge, as in Tremor since it left RFC 7386.
        Assert.Equal("{\"a\":{\"b\":1,\"c\":2},\"d\":null,\"e\":3}", Harness.Eval("merge event of {\"a\": {\"c\": 2}, \"d\": null, \"e\": 3} end", "{\"a\":{\"b\":1},\"d\":4}"));
        Assert.Equal("[6]", Harness.Eval("for event of case (i, v) when v > 1 => v * 2 end", "[1,1,3]"));
        Assert.Equal("[\"a=1\",\"b=2\"]", Harness.Eval("for event of case (k, v) => \"#{k}=#{v}\" end", "{\"a\":1,\"b\":2}"));
    }
}
