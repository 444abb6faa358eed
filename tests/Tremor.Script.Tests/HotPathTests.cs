using System.Globalization;
using HdrHistogram;
using Tremor.Pdk;
using Tremor.Script.Aggregates;
using Tremor.Script.Compilation;

namespace Tremor.Script.Tests;

/// <summary>
/// The per-event shortcuts of the compiled query (field reads cached per record shape, string cases looked up, group
/// keys compared without rendering, groups and histograms reused) give what the plain evaluation gave.
/// </summary>
public class HotPathTests
{
    private static Value Rec(string[] keys, params Value[] values) => Value.From(new ValueRecord(keys, values, sharedKeys: true));

    [Fact]
    public void Hdr_gives_the_histogram_figures_for_small_windows_large_ones_and_merges()
    {
        var random = new Random(22);
        string[] percentiles = ["0", "0.5", "0.9", "0.99", "0.999", "1"];
        foreach (var size in new[] { 1, 2, 10, 30, 1023, 1024, 1025, 3000 })
        {
            foreach (var range in new[] { 100L, 1_000_000L, 1_000_000_000_000_000L })
            {
                var values = Enumerable.Range(0, size).Select(_ => random.NextInt64(range)).ToArray();
                // Three windows of one query: the values in one, in two halves merged (chained), and each half alone.
                var half = size / 2;
                var one = Accumulate(values);
                var merged = Accumulate(values[..half]);
                merged.Merge(Accumulate(values[half..]));
                Assert.Equal(Expected(values, percentiles, values.Length), one.Emit().ToString());
                Assert.Equal(Expected(values, percentiles, half), merged.Emit().ToString());
            }
        }

        IAggregator Accumulate(long[] values)
        {
            var hdr = AggregateRegistry.Find("aggr::stats::hdr")!.Create();
            var spec = Value.From(percentiles.Select(Value.From).ToList());
            foreach (var v in values) hdr.Accumulate([Value.From(v), spec]);
            return hdr;
        }
    }

    // What the aggregate gave when every window had its own HdrHistogram (stdev and var: running moments, merged where
    // a chained window merged them).
    private static string Expected(long[] values, string[] percentiles, int mergedAt)
    {
        var h = new LongHistogram(long.MaxValue / 4, 2);
        var moments = new AggregateRegistry.Moments("x", AggregateRegistry.Moments.Output.Stdev);
        var upper = new AggregateRegistry.Moments("x", AggregateRegistry.Moments.Output.Stdev);
        for (var i = 0; i < values.Length; i++)
        {
            h.RecordValue(values[i]);
            (i < mergedAt ? moments : upper).Add(values[i]);
        }
        moments.Merge(upper);
        var r = new ValueRecord();
        r.Append("count", h.TotalCount);
        r.Append("min", values.Min());
        r.Append("max", values.Max());
        r.Append("mean", h.GetMean());
        r.Append("stdev", moments.Emit());
        r.Append("var", moments.Variance);
        var p = new ValueRecord();
        foreach (var q in percentiles) p.Append(q, h.GetValueAtPercentile(double.Parse(q, CultureInfo.InvariantCulture) * 100));
        r.Append("percentiles", Value.From(p));
        return Value.From(r).ToString();
    }

    [Fact]
    public void Field_reads_follow_each_records_shape()
    {
        string[] ab = ["a", "b"];
        string[] ba = ["b", "a"];
        string[] b = ["b"];
        var q = Query.Compile("""
            define script s script
              let $seen = event.a;
              let event.c = event.a + 1;
              event.c
            end;
            create script s;
            select event from in into s;
            select event from s into out;
            select event from s/err into err;
            """, "shapes.trickle").Instantiate();
        var output = new Collector();
        // Alternating shapes (two decoding threads each have their own keys array for a shape), a record of its own
        // keys, and a shape without the field.
        q.Process("in", [
            Harness.Ev(Rec(ab, 1, 2)), Harness.Ev(Rec(ba, 20, 10)), Harness.Ev(Rec((string[])ab.Clone(), 100, 0)),
            Harness.Ev(Harness.J("{\"x\":0,\"a\":1000}")), Harness.Ev(Rec(ab, 3, 4)), Harness.Ev(Rec(b, 5)), Harness.Ev(Rec(ba, 0, 30)),
        ], 0, output);
        Assert.Equal(["2", "11", "101", "1001", "4", "31"], output.Data());
        Assert.Equal("shapes.trickle:2:21: Trying to access a non existing event key `a` (in `event`)", Harness.ErrorOf(Assert.Single(output.On("err"))));
    }

    [Fact]
    public void Record_patterns_and_present_read_fields_by_shape()
    {
        string[] ab = ["a", "b"];
        var output = Harness.Run("""
            select match event of
              case %{ a == 1, present b } => "one"
              case %{ absent a } => "no a"
              default => [present event.b, present event.x]
            end from in into out;
            """, "{\"a\":1,\"b\":2}", "{\"b\":2}", "{\"a\":2,\"b\":2}");
        Assert.Equal(["\"one\"", "\"no a\"", "[true,false]"], output.Data());
        var q = Query.Compile("select match event of case %{ a == 1 } => 1 case %{ absent a } => 2 default => 3 end from in into out;", "p.trickle").Instantiate();
        var shaped = new Collector();
        q.Process("in", [Harness.Ev(Rec(ab, 1, 0)), Harness.Ev(Rec(["b"], 0)), Harness.Ev(Rec(ab, 5, 0))], 0, shaped);
        Assert.Equal(["1", "2", "3"], shaped.Data());
    }

    [Fact]
    public void String_cases_take_the_first_equal_case_and_fall_through_to_the_rest()
    {
        const string query = """
            select match event of
              case "a" => 1
              case "b" => 2
              case "a" => 3
              case "c" when event == "c" => 4
              case "d" => 5
              case 7 => 6
              default => 0
            end from in into out;
            """;
        Assert.Equal(["1", "2", "4", "5", "6", "0", "0"], Harness.Run(query, "\"a\"", "\"b\"", "\"c\"", "\"d\"", "7", "\"e\"", "{}").Data());
        // A binary equals the string of its UTF-8 (Tremor's ==), so it takes that string's case.
        var q = Query.Compile(query, "m.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", [Harness.Ev(Value.From("b"u8.ToArray()))], 0, output);
        Assert.Equal(["2"], output.Data());
        Assert.Contains("A match expression executed but no clause matched", Harness.ErrorOf(Assert.Single(Harness.Run("select match event of case \"a\" => 1 case \"b\" => 2 end from in into out;", "\"z\"").On("err"))));
    }

    [Fact]
    public void Group_keys_are_the_group_values_as_they_render()
    {
        Value[] values =
        [
            Value.Null, true, false, 1L, Value.From(1UL), 1.0, 1.5, -0.0, 0L, "1", "a", Value.From("a"u8.ToArray()), "YQ==",
            Value.FromUtf8("a"u8.ToArray()), Value.From(new List<Value> { "a", 1L }), Value.From(new List<Value> { "a", 1.0 }),
            Value.From(new List<Value> { "a" }), Harness.J("{\"k\":1,\"j\":2}"), Harness.J("{\"j\":2,\"k\":1}"), Harness.J("{\"k\":1.0,\"j\":2}"),
            Value.From(ulong.MaxValue), 1e15, 1000000000000000L, 1e14, 100000000000000L,
        ];
        var comparer = GroupKeyComparer.Instance;
        foreach (var a in values)
        {
            foreach (var b in values)
            {
                var alike = a.ToString() == b.ToString();
                Assert.True(alike == comparer.Equals(a, b), $"{a} and {b}: rendered alike {alike}");
                if (alike) Assert.Equal(comparer.GetHashCode(a), comparer.GetHashCode(b));
            }
        }
    }

    [Fact]
    public void Groups_forgotten_and_opened_again_start_from_fresh_windows()
    {
        var q = Query.Compile("""
            define window two from tumbling with size = 2 end;
            define window four from tumbling with size = 2 end;
            define window counted from tumbling state 0 script let state = state + 1; state == 3 end;
            select {"g": group[0], "w": window, "n": aggr::stats::count(), "all": aggr::win::collect_flattened(event.v), "hdr": aggr::stats::hdr(event.v, ["1"]).max}
            from in[two, four] group by event.g into out;
            select {"g": group[0], "all": aggr::win::collect_flattened(event.v)} from in[counted] group by event.g into out/state;
            """, "groups.trickle").Instantiate();
        var output = new Collector();
        var events = Enumerable.Range(1, 12).Select(i => Harness.Ev(Harness.J($"{{\"g\":\"{(i % 2 == 0 ? "x" : "y")}\",\"v\":{i}}}"))).ToArray();
        q.Process("in", events, 0, output);
        Assert.Equal([
            "{\"g\":\"y\",\"w\":\"two\",\"n\":2,\"all\":[1,3],\"hdr\":3}",
            "{\"g\":\"x\",\"w\":\"two\",\"n\":2,\"all\":[2,4],\"hdr\":4}",
            "{\"g\":\"y\",\"w\":\"two\",\"n\":2,\"all\":[5,7],\"hdr\":7}",
            "{\"g\":\"y\",\"w\":\"four\",\"n\":4,\"all\":[1,3,5,7],\"hdr\":7}",
            "{\"g\":\"x\",\"w\":\"two\",\"n\":2,\"all\":[6,8],\"hdr\":8}",
            "{\"g\":\"x\",\"w\":\"four\",\"n\":4,\"all\":[2,4,6,8],\"hdr\":8}",
            "{\"g\":\"y\",\"w\":\"two\",\"n\":2,\"all\":[9,11],\"hdr\":11}",
            "{\"g\":\"x\",\"w\":\"two\",\"n\":2,\"all\":[10,12],\"hdr\":12}",
        ], output.Data());
        // A state window's group starts again from its initial state each time it emitted all it held.
        Assert.Equal([
            "{\"g\":\"y\",\"all\":[1,3,5]}", "{\"g\":\"x\",\"all\":[2,4,6]}", "{\"g\":\"y\",\"all\":[7,9,11]}", "{\"g\":\"x\",\"all\":[8,10,12]}",
        ], output.Data("state"));
    }

    [Fact]
    public void An_event_sees_its_own_group_value_in_a_group_keyed_by_one_expression()
    {
        // 1 and 1.0 render alike, so they are one group; each event's `group` is still its own value.
        var output = Harness.Run("""
            define window w from tumbling with size = 2 end;
            select {"first": group[0], "each": aggr::win::collect_flattened(group[0])} from in[w] group by event.v into out;
            """, "{\"v\":1}", "{\"v\":1.0}");
        var r = Assert.Single(output.On("out")).Data;
        Assert.Equal(ValueKind.I64, r["first"].Kind);
        Assert.Equal([ValueKind.I64, ValueKind.F64], r["each"].AsArray()!.Select(v => v.Kind));
    }

    [Fact]
    public void Bucket_limits_each_array_of_dimensions_on_its_own()
    {
        var q = Query.Compile("""
            define script classify script let $class = "c", let $rate = 1, let $dimensions = [event.h, event.l]; event end;
            define operator bucket from grouper::bucket end;
            create script classify;
            create operator bucket;
            select event from in into classify;
            select event from classify into bucket;
            select event from bucket into out;
            select event from bucket/overflow into out/overflow;
            """, "bucket.trickle").Instantiate();
        var output = new Collector();
        var pairs = new[] { ("h1", "l1"), ("h1", "l2"), ("h2", "l1"), ("h1", "l1"), ("h2", "l2"), ("h2", "l1") };
        q.Process("in", [.. pairs.Select(p => Harness.Ev(Harness.J($"{{\"h\":\"{p.Item1}\",\"l\":\"{p.Item2}\"}}")))], 0, output);
        Assert.Equal(["{\"h\":\"h1\",\"l\":\"l1\"}", "{\"h\":\"h1\",\"l\":\"l2\"}", "{\"h\":\"h2\",\"l\":\"l1\"}", "{\"h\":\"h2\",\"l\":\"l2\"}"], output.Data());
        Assert.Equal(["{\"h\":\"h1\",\"l\":\"l1\"}", "{\"h\":\"h2\",\"l\":\"l1\"}"], output.Data("overflow"));
    }

    [Fact]
    public void A_forwarding_select_passes_the_event_itself()
    {
        var q = Query.Compile("select event from in into out;", "fwd.trickle").Instantiate();
        var output = new Collector();
        var e = Harness.Ev(Harness.J("{\"a\":1}"), Harness.J("{\"m\":1}"));
        q.Process("in", [e], 0, output);
        Assert.Same(e, Assert.Single(output.On("out")));
    }
}
