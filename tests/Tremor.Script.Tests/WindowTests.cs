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
        q.Process("in", [Harness.Ev(1), Harness.Ev(2)], 10, output);
        q.Tick(Second, output);
        Assert.Empty(output.All);
        q.Tick(Second + 10, output);
        Assert.Equal(["[1,2]"], output.Data());
        q.Process("in", [Harness.Ev(3)], 2 * Second, output);
        q.Process("in", [Harness.Ev(4)], 3 * Second, output);
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
        q.Process("in", [Harness.Ev(1)], 0, output);
        q.Tick(3 * Second, output);
        Assert.Equal(["1", "0", "0"], output.Data());
    }

    [Fact]
    public void Group_by_keeps_a_window_per_group()
    {
        var (q, output) = Start("""
            define window two from tumbling with size = 2 end;
            select {"g": group, "window": window, "n": aggr::stats::count(), "mean": aggr::stats::mean(event.v)}
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
        Assert.Equal(20L, r["sum"].RawI64);
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
        q.Process("in", [Harness.Ev(1)], 0, output);
        q.Tick(2 * Second, output);
        Assert.Equal(["[1.0,1,1]".Replace("1.0", "1"), "[null,null,0]"], output.Data());
    }
}
