using Tremor.Pdk;

namespace Tremor.Script.Tests;

public class ScriptTests
{
    [Fact]
    public void Let_locals_event_paths_and_meta()
    {
        var output = Harness.Script("let x = event.a + 1; let event.b = x; let event.c.d = [x]; let $m = \"meta\"; event", "{\"a\":1}");
        var e = Assert.Single(output.On("out"));
        Assert.Equal("{\"a\":1,\"b\":2,\"c\":{\"d\":[2]}}", e.Data.ToString());
        Assert.Equal("{\"m\":\"meta\"}", e.Meta.ToString());
    }

    [Fact]
    public void A_body_ending_in_let_yields_the_event() =>
        Assert.Equal("{\"a\":2}", Harness.Script("let event.a = 2", "{\"a\":1}").Data().Single());

    [Fact]
    public void The_metadata_is_replaced_by_a_record_only()
    {
        Assert.Equal("{\"a\":1}", Harness.Script("let $ = {\"a\": 1}; $", "{}").Data().Single());
        var output = Harness.Script("let $ = \"snot\";\n$", "{}");
        Assert.Empty(output.On("out"));
        Assert.StartsWith("test.trickle:2:5: You are trying to assign to a value that isn't valid", Harness.ErrorOf(Assert.Single(output.On("err"))));
    }

    [Fact]
    public void A_body_ending_in_a_constant_definition_yields_the_constant() =>
        Assert.Equal("\"that\"", Harness.Script("const this = \"that\"", "{\"a\":1}").Data().Single());

    [Fact]
    public void Patching_never_changes_the_input_event()
    {
        var q = Query.Compile("""
            define script s script
              let event.nested.x = 2;
              let event.list[0] = "changed";
              let $added = true;
              event
            end;
            create script s;
            select event from in into s;
            select event from s into out;
            """, "cow.trickle");
        var input = Harness.Ev(Harness.J("{\"nested\":{\"x\":1,\"y\":1},\"list\":[\"a\"],\"other\":{\"k\":1}}"), Harness.J("{\"keep\":1}"));
        var before = input.Data.ToString();
        var output = new Collector();
        q.Instantiate().Process("in", [input], 0, output);
        var e = Assert.Single(output.On("out"));
        Assert.Equal(before, input.Data.ToString());
        Assert.Equal("{\"keep\":1}", input.Meta.ToString());
        Assert.Equal("{\"nested\":{\"x\":2,\"y\":1},\"list\":[\"changed\"],\"other\":{\"k\":1}}", e.Data.ToString());
        Assert.Equal("{\"keep\":1,\"added\":true}", e.Meta.ToString());
        // Untouched subtrees are shared, not copied.
        Assert.Same(input.Data["other"].AsRecord(), e.Data["other"].AsRecord());
        Assert.Equal(input.Id, e.Id);
    }

    [Fact]
    public void Unchanged_events_pass_through_as_the_same_object()
    {
        var q = Query.Compile("define script s script event end; create script s; select event from in into s; select event from s into out;", "same");
        var input = Harness.Ev(Harness.J("{\"a\":1}"));
        var output = new Collector();
        q.Instantiate().Process("in", [input], 0, output);
        Assert.Same(input, Assert.Single(output.On("out")));
    }

    [Fact]
    public void Emit_to_ports_and_drop()
    {
        var q = Query.Compile("""
            define script route script
              match event.level of
                case "error" => emit => "errors"
                case "debug" => drop
                case "info" => emit {"wrapped": event}
                default => event
              end
            end;
            create script route;
            select event from in into route;
            select event from route into out;
            select event from route/errors into out/errors;
            """, "route.trickle");
        var output = new Collector();
        var instance = q.Instantiate();
        foreach (var level in new[] { "error", "debug", "info", "warn" }) instance.Process("in", [Harness.Ev(Harness.J($"{{\"level\":\"{level}\"}}"))], 0, output);
        Assert.Equal(["out", "errors", "err"], q.OutputPorts);
        Assert.Equal(["{\"level\":\"error\"}"], output.Data("errors"));
        Assert.Equal(["{\"wrapped\":{\"level\":\"info\"}}", "{\"level\":\"warn\"}"], output.Data("out"));
    }

    [Fact]
    public void State_persists_across_events_of_one_instance_only()
    {
        var q = Query.Compile("""
            define script count script
              let state = match state of case null => 1 default => state + 1 end;
              {"n": state}
            end;
            create script count;
            select event from in into count;
            select event from count into out;
            """, "state.trickle");
        var a = q.Instantiate();
        var output = new Collector();
        for (var i = 0; i < 3; i++) a.Process("in", [Harness.Ev(Value.Null)], 0, output);
        q.Instantiate().Process("in", [Harness.Ev(Value.Null)], 0, output);
        Assert.Equal(["{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":1}"], output.Data());
    }

    [Fact]
    public void Script_args_come_from_with()
    {
        var q = Query.Compile("define script s with factor = 3 script event * args.factor end; create script s; select event from in into s; select event from s into out;", "args");
        var output = new Collector();
        q.Instantiate().Process("in", [Harness.Ev(2)], 0, output);
        Assert.Equal(["6"], output.Data());
    }

    [Fact]
    public void A_runtime_error_goes_to_err_counts_and_the_pipeline_keeps_going()
    {
        var q = Query.Compile("""
            define script s script
              let event.y = event.x + 1;
              event
            end;
            create script s;
            select event from in into s;
            select event from s into out;
            """, "errors.trickle");
        var instance = q.Instantiate();
        var output = new Collector();
        instance.Process("in", [Harness.Ev(Harness.J("{\"x\":\"a\"}")), Harness.Ev(Harness.J("{\"x\":1}"))], 0, output);
        var err = Assert.Single(output.On("err"));
        Assert.Equal("errors.trickle:2:17: The binary operation `+` is not defined for the type `string` and `integer` (\"a\" + 1)", Harness.ErrorOf(err));
        Assert.Equal("{\"x\":\"a\"}", err.Data["event"].ToString());
        Assert.Equal(["{\"x\":1,\"y\":2}"], output.Data());
        Assert.Equal(1, instance.ErrorCount);
    }

    [Fact]
    public void Where_having_and_group_in_a_plain_select()
    {
        var output = Harness.Run("select {\"g\": group, \"v\": event.v} from in where event.v > 1 group by event.k into out having event.v < 4;",
            "{\"k\":\"a\",\"v\":1}", "{\"k\":\"b\",\"v\":2}", "{\"k\":\"c\",\"v\":5}");
        // As in Tremor, a group is the array of the group by's values, `[event.k]` here.
        Assert.Equal(["{\"g\":[\"b\"],\"v\":2}"], output.Data());
    }

    [Fact]
    public void A_where_that_is_not_a_bool_is_an_error()
    {
        var output = Harness.Run("select event from in where event.v into out;", "{\"v\":1}");
        Assert.Equal("test.trickle:1:28: the where clause must be a bool, got integer 1", Harness.ErrorOf(Assert.Single(output.On("err"))));
    }

    [Fact]
    public void Streams_wire_selects_together_and_ports_are_listed()
    {
        var q = Query.Compile("""
            create stream mid;
            select event + 1 from in into mid;
            select event * 10 from mid into out;
            select event from in/other into out/copy;
            """, "streams");
        Assert.Equal(["in", "other"], q.InputPorts);
        Assert.Equal(["out", "copy", "err"], q.OutputPorts);
        var output = new Collector();
        var instance = q.Instantiate();
        instance.Process("in", [Harness.Ev(1)], 0, output);
        instance.Process("other", [Harness.Ev(7)], 0, output);
        Assert.Equal(["20"], output.Data());
        Assert.Equal(["7"], output.Data("copy"));
    }
}
