using Tremor.Pdk;

namespace Tremor.Script.Tests;

public class WindowTests
{
    private const ulong Second = 1_000_000_000;

    private static (QueryInstance Instance, Collector Output) Start(string query)
    {
        var instance = Query.Compile(query, "window.trickle").Instantiate();
        return (instance, new Collector());
    }

    [Fact]
    public void Size_window_emits_every_n_events_and_finish_flushes_the_rest()
    {
        var (q, output) = Start("""
            define window three from tumbling with size = 3 end;
            select {"count": aggr::stats::count(), "sum": aggr::stats::sum(event), "last": aggr::win::last(event), "first": aggr::win::first(event)}
            from in[three] into out;
            """);
        var events = Enumerable.Range(1, 7).Select(i => Harness.Ev(i)).ToArray();
        q.Process("in", events, 0, output);
        Assert.Equal(["{\"count\":3,\"sum\":6,\"last\":3,\"first\":1}", "{\"count\":3,\"sum\":15,\"last\":6,\"first\":4}"], output.Data());
        // The output carries the id of the window's last event.
        Assert.Equal(events[2].Id, output.On("out")[0].Id);
        q.Finish(0, output);
        Assert.Equal("{\"count\":1,\"sum\":7,\"last\":7,\"first\":7}", output.Data()[2]);
        q.Finish(0, output);
        Assert.Equal(3, output.On("out").Count);
    }

    [Fact]
    public void Interval_window_closes_on_tick_and_on_a_late_event()
    {
        var (q, output) = Start("""
            define window second from tumbling with interval = nanos::from_seconds(1) end;
            select aggr::win::collect_flattened(event) from in[second] into out;
            """);
        Assert.Equal(TimeSpan.FromMilliseconds(250), q.TickInterval);
        q.Process("in", [Harness.At(10, 1), Harness.At(20, 2)], 0, output);
        q.Tick(Second, output);
        Assert.Empty(output.All);
        q.Tick(Second + 10, output);
        Assert.Equal(["[1,2]"], output.Data());
        q.Process("in", [Harness.At(2 * Second, 3)], 0, output);
        q.Process("in", [Harness.At(3 * Second, 4)], 0, output);
        Assert.Equal(["[1,2]", "[3]"], output.Data());
        q.Finish(3 * Second, output);
        Assert.Equal(["[1,2]", "[3]", "[4]"], output.Data());
    }

    [Fact]
    public void Empty_interval_windows_are_emitted_when_asked()
    {
        var (q, output) = Start("""
            define window second from tumbling with interval = 1s, emit_empty_windows = true end;
            select aggr::stats::count() from in[second] into out;
            """);
        q.Process("in", [Harness.At(0, 1)], 0, output);
        q.Tick(3 * Second, output);
        Assert.Equal(["1", "0", "0"], output.Data());
    }

    [Fact]
    public void Group_by_keeps_a_window_per_group()
    {
        var (q, output) = Start("""
            define window two from tumbling with size = 2 end;
            select {"g": group[0], "window": window, "n": aggr::stats::count(), "mean": aggr::stats::mean(event.v)}
            from in[two] group by event.g into out;
            """);
        var data = new[] { ("a", 1), ("b", 10), ("a", 3), ("b", 20), ("b", 30) };
        q.Process("in", data.Select(d => Harness.Ev(Harness.J($"{{\"g\":\"{d.Item1}\",\"v\":{d.Item2}}}"))).ToArray(), 0, output);
        Assert.Equal(["{\"g\":\"a\",\"window\":\"two\",\"n\":2,\"mean\":2.0}", "{\"g\":\"b\",\"window\":\"two\",\"n\":2,\"mean\":15.0}"],
            output.Data().Select(s => s.Replace("\"mean\":2,", "\"mean\":2.0,").Replace(":2}", ":2.0}").Replace(":15}", ":15.0}")).ToList());
        q.Finish(0, output);
        Assert.Equal("{\"g\":\"b\",\"window\":\"two\",\"n\":1,\"mean\":30}", output.Data()[2]);
    }

    [Fact]
    public void Group_by_set_groups_by_several_values()
    {
        var (q, output) = Start("""
            define window w from tumbling with size = 100 end;
            select {"g": group, "n": aggr::stats::count()} from in[w] group by set(event.a, event.b) into out;
            """);
        q.Process("in", [Harness.Ev(Harness.J("{\"a\":1,\"b\":\"x\"}")), Harness.Ev(Harness.J("{\"a\":1,\"b\":\"x\"}")), Harness.Ev(Harness.J("{\"a\":2,\"b\":\"x\"}"))], 0, output);
        q.Finish(0, output);
        Assert.Equal(["{\"g\":[1,\"x\"],\"n\":2}", "{\"g\":[2,\"x\"],\"n\":1}"], output.Data());
    }

    [Fact]
    public void Chained_windows_merge_lower_windows_into_higher_ones()
    {
        var (q, output) = Start("""
            define window two from tumbling with size = 2 end;
            define window four from tumbling with size = 2 end;
            select {"w": window, "n": aggr::stats::count(), "max": aggr::stats::max(event), "all": aggr::win::collect_flattened(event)}
            from in[two, four] into out;
            """);
        q.Process("in", [.. Enumerable.Range(1, 4).Select(i => Harness.Ev(i))], 0, output);
        Assert.Equal([
            "{\"w\":\"two\",\"n\":2,\"max\":2,\"all\":[1,2]}",
            "{\"w\":\"two\",\"n\":2,\"max\":4,\"all\":[3,4]}",
            "{\"w\":\"four\",\"n\":4,\"max\":4,\"all\":[1,2,3,4]}",
        ], output.Data());
    }

    [Fact]
    public void Stats_and_hdr()
    {
        var (q, output) = Start("""
            define window w from tumbling with size = 5 end;
            select {
              "min": aggr::stats::min(event), "max": aggr::stats::max(event), "sum": aggr::stats::sum(event),
              "mean": aggr::stats::mean(event), "var": aggr::stats::var(event), "stdev": aggr::stats::stdev(event),
              "hdr": aggr::stats::hdr(event, ["0.5", "0.99"])
            } from in[w] into out;
            """);
        q.Process("in", [.. new[] { 2, 4, 4, 4, 6 }.Select(i => Harness.Ev(i))], 0, output);
        var r = Assert.Single(output.On("out")).Data;
        Assert.Equal(2L, r["min"].RawI64);
        Assert.Equal(6L, r["max"].RawI64);
        Assert.Equal(ValueKind.F64, r["sum"].Kind); // Tremor sums in floats, integers too
        Assert.Equal(20.0, r["sum"].RawF64);
        Assert.Equal(4.0, r["mean"].RawF64);
        Assert.Equal(2.0, r["var"].RawF64);
        Assert.Equal(Math.Sqrt(2.0), r["stdev"].RawF64, 10);
        Assert.Equal("{\"count\":5,\"min\":2,\"max\":6,\"mean\":4,\"stdev\":1.4142135623730951,\"var\":2,\"percentiles\":{\"0.5\":4,\"0.99\":6}}", r["hdr"].ToString());
    }

    [Fact]
    public void Sum_falls_back_to_float_on_overflow_and_stats_reject_non_numbers()
    {
        var (q, output) = Start("""
            define window w from tumbling with size = 2 end;
            select aggr::stats::sum(event) from in[w] into out;
            """);
        q.Process("in", [Harness.Ev(long.MaxValue), Harness.Ev(1), Harness.Ev("x")], 0, output);
        Assert.Equal(Math.Pow(2, 63), Assert.Single(output.On("out")).Data.RawF64);
        Assert.Equal("window.trickle:2:8: aggr::stats::sum: expected a number, got string \"x\"", Harness.ErrorOf(Assert.Single(output.On("err"))));
        Assert.Equal(1, q.ErrorCount);
    }

    [Fact]
    public void Empty_stats_are_null()
    {
        var (q, output) = Start("""
            define window w from tumbling with interval = 1s, emit_empty_windows = true end;
            select [aggr::stats::mean(event), aggr::stats::min(event), aggr::stats::count()] from in[w] into out;
            """);
        q.Process("in", [Harness.At(0, 1)], 0, output);
        q.Tick(2 * Second, output);
        Assert.Equal(["[1.0,1,1]".Replace("1.0", "1"), "[null,null,0]"], output.Data());
    }

    [Fact]
    public void Interval_windows_advance_on_the_events_ingest_time_without_any_tick()
    {
        var (q, output) = Start("""
            define window w20 from tumbling with interval = 20 end;
            select {"sum": aggr::stats::sum(event), "n": aggr::stats::count()} from in[w20] into out;
            """);
        // Processing time stays 0 throughout: only the events' ingest_ns moves the windows.
        q.Process("in", [.. Enumerable.Range(0, 45).Select(i => Harness.At((ulong)i, i))], 0, output);
        Assert.Equal(["""{"sum":190,"n":20}""", """{"sum":590,"n":20}"""], output.Data());
    }

    [Fact]
    public void An_event_past_the_windows_end_closes_it_and_opens_the_next_at_its_own_time()
    {
        var (q, output) = Start("""
            define window w20 from tumbling with interval = 20 end;
            select aggr::win::collect_flattened(event) from in[w20] into out;
            """);
        q.Process("in", [Harness.At(0, 0), Harness.At(5, 5), Harness.At(25, 25), Harness.At(30, 30), Harness.At(44, 44), Harness.At(45, 45)], 0, output);
        // The second window started at 25 (not at 20), so 44 is still in it and 45 closes it.
        Assert.Equal(["[0,5]", "[25,30,44]"], output.Data());
    }

    [Fact]
    public void Max_groups_closes_the_least_recently_used_group_early_and_loses_nothing()
    {
        var (q, output) = Start("""
            define window three from tumbling with size = 3, max_groups = 2 end;
            select {"g": group[0], "events": aggr::win::collect_flattened(event.v)} from in[three] group by event.g into out;
            """);
        q.Process("in", [.. new[] { ("a", 1), ("b", 2), ("a", 3), ("c", 4), ("c", 5), ("d", 6) }.Select(x => Harness.Ev(Harness.J($"{{\"g\":\"{x.Item1}\",\"v\":{x.Item2}}}")))], 0, output);
        // c evicted b (least recently used: a was touched after it) with what b held; d evicted a.
        Assert.Equal(["""{"g":"b","events":[2]}""", """{"g":"a","events":[1,3]}"""], output.Data());
        Assert.Equal(2, q.Runners[0].GroupCount);
        q.Finish(0, output);
        Assert.Equal(["""{"g":"b","events":[2]}""", """{"g":"a","events":[1,3]}""", """{"g":"c","events":[4,5]}""", """{"g":"d","events":[6]}"""], output.Data());
    }

    [Fact]
    public void A_group_whose_window_emitted_everything_is_forgotten_at_once()
    {
        var (q, output) = Start("""
            define window two from tumbling with size = 2 end;
            select {"g": group[0], "groups": win::cardinality()} from in[two] group by event into out;
            """);
        q.Process("in", [Harness.Ev("x"), Harness.Ev("y"), Harness.Ev("x"), Harness.Ev("y")], 0, output);
        // When x emits, y still holds an event (2 groups); when y emits, x was already forgotten (1 group).
        Assert.Equal(["""{"g":"x","groups":2}""", """{"g":"y","groups":1}"""], output.Data());
        Assert.Equal(0, q.Runners[0].GroupCount);
    }

    [Fact]
    public void Group_by_each_over_a_record_makes_a_group_per_key_value_pair()
    {
        var (q, output) = Start("""
            define window two from tumbling with size = 2 end;
            select {"g": group[0], "n": aggr::stats::count()} from in[two] group by each(event) into out;
            """);
        q.Process("in", [Harness.Ev(Harness.J("""{"a":1,"b":2}""")), Harness.Ev(Harness.J("""{"a":1,"b":3}"""))], 0, output);
        Assert.Equal(["""{"g":["a",1],"n":2}"""], output.Data());
        q.Finish(0, output);
        Assert.Equal(["""{"g":["a",1],"n":2}""", """{"g":["b",2],"n":1}""", """{"g":["b",3],"n":1}"""], output.Data());
    }

    [Fact]
    public void Set_with_each_groups_by_every_combination()
    {
        var (q, output) = Start("""
            define window one from tumbling with size = 1 end;
            select {"g": group, "v": aggr::win::last(event.v)} from in[one] group by set(event.h, each(record::keys(event.tags))) into out;
            """);
        q.Process("in", [Harness.Ev(Harness.J("""{"h":"x","tags":{"p":1,"q":2},"v":7}"""))], 0, output);
        Assert.Equal(["""{"g":["x","p"],"v":7}""", """{"g":["x","q"],"v":7}"""], output.Data());
    }

    [Fact]
    public void Max_groups_must_be_a_positive_integer()
    {
        var e = Assert.Throws<ScriptException>(() => Query.Compile("define window w from tumbling with size = 2, max_groups = 0 end;", "bad.trickle"));
        Assert.StartsWith("bad.trickle:1:46: window `max_groups` must be a positive integer", e.Message);
    }

    [Fact]
    public void A_window_script_gives_the_time_an_interval_window_runs_on()
    {
        var (q, output) = Start("""
            define window w20 from tumbling with interval = 20 script event.ts end;
            select aggr::win::collect_flattened(event.v) from in[w20] into out;
            """);
        // The ingest times say nothing here; the events' own timestamps close the window, and ticks do not.
        q.Process("in", [.. new[] { (0, 1), (5, 2), (25, 3) }.Select(x => Harness.At(999, Harness.J($"{{\"ts\":{x.Item1},\"v\":{x.Item2}}}")))], 0, output);
        q.Tick(ulong.MaxValue, output);
        Assert.Equal(["[1,2]"], output.Data());
    }

    [Fact]
    public void A_window_script_gives_how_much_an_event_counts_toward_a_size_window()
    {
        var (q, output) = Start("""
            define window ten from tumbling with size = 10 script event.weight end;
            select aggr::win::collect_flattened(event.weight) from in[ten] into out;
            """);
        q.Process("in", [.. new[] { 4, 4, 4, 0, 8 }.Select(w => Harness.Ev(Harness.J($"{{\"weight\":{w}}}")))], 0, output);
        // 12 closes the first window and 2 carry over; 0 counts nothing but is collected; 8 reaches 10 again.
        Assert.Equal(["[4,4,4]", "[0,8]"], output.Data());
    }

    [Fact]
    public void A_window_script_that_gives_no_count_sends_the_event_to_err_with_the_scripts_position()
    {
        var (q, output) = Start("""
            define window ten from tumbling with size = 10 script event.weight end;
            select aggr::stats::count() from in[ten] into out;
            """);
        q.Process("in", [Harness.Ev(Harness.J("""{"weight":"heavy"}"""))], 0, output);
        var failed = Assert.Single(output.On("err"));
        Assert.StartsWith("window.trickle:1:48: the script of window `ten` must give a non-negative integer", failed.Data["error"].AsString());
    }

    [Fact]
    public void A_state_window_emits_when_its_script_says_so_keeping_state_per_group()
    {
        var (q, output) = Start("""
            define window pairs from tumbling
            state
              0
            script
              let state = state + 1;
              state % 2 == 0
            end;
            select {"g": group[0], "v": aggr::win::collect_flattened(event.v)} from in[pairs] group by event.g into out;
            """);
        q.Process("in", [.. new[] { ("a", 1), ("b", 2), ("a", 3), ("a", 4), ("b", 5) }.Select(x => Harness.Ev(Harness.J($"{{\"g\":\"{x.Item1}\",\"v\":{x.Item2}}}")))], 0, output);
        Assert.Equal(["""{"g":"a","v":[1,3]}""", """{"g":"b","v":[2,5]}"""], output.Data());
    }

    [Fact]
    public void A_state_window_can_emit_before_including_the_event_and_a_tick_script_can_emit_on_time()
    {
        var (q, output) = Start("""
            define window until_marker from tumbling
            state
              null
            script
              [event == "|", event != "|"]
            script from tick
              true
            end;
            select aggr::win::collect_flattened(event) from in[until_marker] into out;
            """);
        Assert.Equal(TimeSpan.FromMilliseconds(100), q.TickInterval);
        q.Process("in", [Harness.Ev(1), Harness.Ev(2), Harness.Ev("|"), Harness.Ev(3)], 0, output);
        // `|` closed the window before it was added: it starts the next one.
        Assert.Equal(["[1,2]"], output.Data());
        q.Tick(Second, output);
        Assert.Equal(["[1,2]", "[\"|\",3]"], output.Data());
        q.Tick(2 * Second, output);
        Assert.Equal(2, output.Data().Count);
    }

    [Theory]
    [InlineData("define window w from tumbling with size = 2 state 0 script true end;", "window.trickle:1:15: window `w` has a `state` section")]
    [InlineData("define window w from tumbling state 0 end;", "window.trickle:1:15: state window `w` needs a `script`")]
    [InlineData("define window w from tumbling with size = 2 script from tick true end;", "window.trickle:1:45: `script from tick` belongs to a state window")]
    public void State_window_mistakes_are_compile_errors(string query, string expected)
    {
        var e = Assert.Throws<ScriptException>(() => Query.Compile(query, "window.trickle"));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void A_state_window_script_that_does_not_say_whether_to_emit_sends_the_event_to_err()
    {
        var (q, output) = Start("""
            define window w from tumbling state 0 script "maybe" end;
            select aggr::stats::count() from in[w] into out;
            """);
        q.Process("in", [Harness.Ev(1)], 0, output);
        Assert.StartsWith("window.trickle:1:39: the script of state window `w` must give true, false or [emit, include], got \"maybe\"", Assert.Single(output.On("err")).Data["error"].AsString());
    }
}
