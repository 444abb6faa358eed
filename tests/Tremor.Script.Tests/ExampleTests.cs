using Tremor.Pdk;

namespace Tremor.Script.Tests;

/// <summary>The example queries in Tremor.Script/examples over the 100 records of data.json.</summary>
public class ExampleTests
{
    private static readonly List<Value> Records = Harness.DataJson();

    private static (Query, QueryInstance, Collector) RunExample(string file, ulong nowNs = 0)
    {
        var q = Query.Compile(File.ReadAllText(Harness.ExamplePath(file)), file);
        var instance = q.Instantiate();
        var output = new Collector();
        instance.Process("in", [.. Records.Select(r => Harness.Ev(r))], nowNs, output);
        return (q, instance, output);
    }

    [Fact]
    public void Data_json_has_100_records() => Assert.Equal(100, Records.Count);

    [Fact]
    public void Filter_keeps_the_37_error_records()
    {
        var (_, instance, output) = RunExample("filter.trickle");
        Assert.Equal(37, output.On("out").Count);
        Assert.All(output.On("out"), e => Assert.Equal("error", e.Data["short_message"].AsString()!.ToLowerInvariant()));
        Assert.Equal(0, instance.ErrorCount);
    }

    [Fact]
    public void Transform_reshapes_the_44_records_with_abool()
    {
        var (_, _, output) = RunExample("transform.trickle");
        Assert.Equal(44, output.On("out").Count);
        var first = output.On("out")[0].Data;
        Assert.Equal(["app", "level", "host", "tag1", "tag_count", "summary"], first.AsRecord()!.Select(kv => kv.Key));
        Assert.Matches("^app[0-9]/logger[0-9]: aint=[0-9]+$", first["summary"].AsString());
    }

    [Fact]
    public void Rollup_emits_per_application_windows_and_flushes_on_finish()
    {
        var (q, instance, output) = RunExample("rollup.trickle");
        Assert.Equal(["in"], q.InputPorts);
        Assert.Equal(["out", "rate", "err"], q.OutputPorts);
        // app4 21, app2 20, app6 16, app3 16, app5 14, app1 13: one full ten-window each, two for app4 and app2.
        Assert.Equal(8, output.On("out").Count);
        instance.Finish(0, output);
        var all = output.On("out");
        Assert.Equal(100, all.Where(e => e.Data["window"].AsString() == "ten").Sum(e => e.Data["count"].RawI64));
        Assert.Equal(100, Assert.Single(output.On("rate")).Data["events_per_second"].RawI64);
        var app4 = all.Where(e => e.Data["application"].AsString() == "app4").ToList();
        Assert.Equal(["ten", "ten", "ten", "thirty"], app4.Select(e => e.Data["window"].AsString()));
        Assert.Equal(21, app4[3].Data["count"].RawI64);
        Assert.Equal(21, app4[3].Data["levels"].AsArray()!.Count);
        var expectedSum = Records.Where(r => r["application"].AsString() == "app4").Sum(r => r["aint"].RawI64);
        Assert.Equal(expectedSum, app4[3].Data["aint"]["sum"].RawF64);
    }

    [Fact]
    public void Logging_throughput_classifies_and_rate_limits()
    {
        var (q, instance, output) = RunExample("logging-throughput.trickle");
        Assert.Equal(["out", "overflow", "err"], q.OutputPorts);
        Assert.Equal(0, instance.ErrorCount);
        Assert.Empty(output.On("overflow"));
        var classes = output.On("out").GroupBy(e => e.Meta["class"].AsString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int>
        {
            ["applog_app1"] = 13,
            ["applog_app2"] = 20,
            ["applog_app3"] = 16,
            ["applog_app4"] = 21,
            ["applog_app5"] = 14,
            ["applog_app6"] = 2,
            ["default"] = 2,
            ["edilog"] = 1,
            ["syslog_app1"] = 3,
            ["tag1"] = 8,
        }, classes);
        Assert.All(output.On("out"), e => Assert.True(e.Meta["rate"].RawI64 > 0));
        // The input events are untouched: classification lives in new events' metadata.
        Assert.All(Records, r => Assert.Equal(ValueKind.Record, r.Kind));
    }

    [Fact]
    public void Logging_throughput_overflows_once_a_class_exceeds_its_rate()
    {
        var (_, instance, output) = RunExample("logging-throughput.trickle");
        // 150 more rounds of the same records within the same second. "default" has no dimensions and a rate of 250:
        // 2 records a round make 302, so 52 overflow; applog_app3 (rate 18750) never does.
        for (var round = 0; round < 150; round++) instance.Process("in", [.. Records.Select(r => Harness.Ev(r))], 1, output);
        var overflow = output.On("overflow").GroupBy(e => e.Meta["class"].AsString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(52, overflow["default"]);
        Assert.True(overflow["applog_app4"] > 0);
        Assert.False(overflow.ContainsKey("applog_app3"));
        Assert.Equal(15100, output.On("out").Count + output.On("overflow").Count);
    }
}
