namespace Tremor.Script.Tests;

/// <summary>
/// User aggregates, Tremor's <c>aggregate NAME of init() =&gt; ... aggregate(st, x) =&gt; ... mergein(st, other) =&gt; ...
/// emit(st) =&gt; ... end;</c>: a state per window and group, folded over the window's events.
/// </summary>
public class UserAggregateTests
{
    private const string Joined = """
        mod m with
          aggregate joined of
            init() => ""
            aggregate(st, x) => st + x
            mergein(st, other) => st + "|" + other
            emit(st) => "<" + st + ">"
          end
        end;
        """;

    [Fact]
    public void A_user_aggregate_folds_each_window_and_emits_its_state()
    {
        var q = Query.Compile(Joined + """
            define window two from tumbling with size = 2 end;
            select m::joined(event) from in[two] into out;
            """, "aggr.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", new[] { "a", "b", "c", "d" }.Select(x => Harness.Ev(Tremor.Pdk.Value.From(x))).ToArray(), 0, output);
        Assert.Equal(["\"<ab>\"", "\"<cd>\""], output.Data());
    }

    [Fact]
    public void Chained_windows_take_in_the_lower_windows_state_with_mergein()
    {
        var q = Query.Compile(Joined + """
            define window two from tumbling with size = 2 end;
            define window four from tumbling with size = 2 end;
            select {"w": window, "j": m::joined(event)} from in[two, four] into out;
            """, "aggr.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", new[] { "a", "b", "c", "d" }.Select(x => Harness.Ev(Tremor.Pdk.Value.From(x))).ToArray(), 0, output);
        Assert.Contains("""{"w":"four","j":"<|ab|cd>"}""", output.Data());
    }

    [Fact]
    public void A_failing_aggregate_step_is_an_error_event_at_the_call_naming_the_step()
    {
        var q = Query.Compile(Joined + """
            define window two from tumbling with size = 2 end;
            select m::joined(event) from in[two] into out;
            """, "aggr.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", [Harness.Ev(Tremor.Pdk.Value.From(1))], 0, output);
        var error = Harness.ErrorOf(Assert.Single(output.On("err")));
        Assert.StartsWith("aggr.trickle:9:8: in `m::joined::aggregate` (aggr.trickle:4:25): The binary operation `+` is not defined for the type `string` and `integer`", error);
    }

    [Theory]
    [InlineData("aggregate a of init() => 7 + [] aggregate(st, x) => st mergein(st, o) => st emit(st) => st end;\nselect 1 from in into out;", "bad.trickle:1:26: The binary operation `+` is not defined")]
    [InlineData("aggregate a of init() => 0 aggregate(st, x) => st emit(st) => st end;\nselect 1 from in into out;", "bad.trickle:1:11: aggregate `a` has no `mergein`")]
    [InlineData("aggregate a of init() => 0 aggregate(st, x) => st mergein(st, o) => st emit(st) => st end;\nselect a(event) from in into out;", "bad.trickle:2:8: aggregate function `a` is only allowed in a select over a window")]
    public void Aggregate_mistakes_are_compile_errors(string query, string expected) =>
        Assert.StartsWith(expected, Harness.CompileError(query));
}
