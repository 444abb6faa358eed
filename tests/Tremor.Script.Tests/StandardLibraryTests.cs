namespace Tremor.Script.Tests;

/// <summary>Standard modules added from Tremor's std: time::nanos, base64, url, range, size, path, float.</summary>
public class StandardLibraryTests
{
    [Theory]
    [InlineData("std::time::nanos::from_seconds(2)", "2000000000")]
    [InlineData("time::nanos::from_weeks(1)", "604800000000000")]
    [InlineData("time::nanos::to_millis(3000000)", "3")]
    [InlineData("time::nanos::to_seconds(1500000000)", "1.5")]
    [InlineData("nanos::from_days(1)", "86400000000000")]
    [InlineData("base64::encode(\"hello\")", "\"aGVsbG8=\"")]
    [InlineData("string::from_utf8_lossy(base64::decode(\"aGVsbG8=\"))", "\"hello\"")]
    [InlineData("url::encode(\"beep:snot/foobar\")", "\"beep%3Asnot%2Ffoobar\"")]
    [InlineData("url::decode(\"beep%3Asnot%2Ffoobar\")", "\"beep:snot/foobar\"")]
    [InlineData("range::range(0, 3)", "[0,1,2]")]
    [InlineData("range::contains(range::range(0, 3), 2)", "true")]
    [InlineData("range::contains(range::range(0, 3), 3)", "false")]
    [InlineData("size::mebi(2)", "2097152")]
    [InlineData("path::try_default([{\"snot\": \"badger\"}, [\"fleek\", \"flook\"]], [0, \"snot\"], \"test\")", "\"badger\"")]
    [InlineData("path::try_default([{\"snot\": \"badger\"}, [\"fleek\", \"flook\"]], [1, 2], \"test\")", "\"test\"")]
    [InlineData("[float::is_nan(1), float::is_finite(1.5), float::is_infinite(2)]", "[false,true,false]")]
    public void Functions_give_Tremors_results(string call, string expected) => Assert.Equal(expected, Harness.Eval(call));

    [Fact]
    public void Bad_arguments_are_errors_at_the_call()
    {
        Assert.Equal("ERR: test.trickle:1:8: base64::decode: `%%%` is not valid base64", Harness.Eval("base64::decode(event)", "\"%%%\""));
        Assert.Equal("ERR: test.trickle:1:8: float::is_nan: argument 1 must be a number, got string", Harness.Eval("float::is_nan(event)", "\"x\""));
    }
}
