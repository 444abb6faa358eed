namespace Tremor.Pdk.Tests;

public sealed class ValueTests
{
    [Fact]
    public void Scalars_keep_their_kind_and_value()
    {
        Assert.Equal(ValueKind.Null, default(Value).Kind);
        Assert.True(Value.From(true).AsBool());
        Assert.True(Value.From(-5L).TryGetI64(out var i) && i == -5);
        Assert.Equal(ValueKind.U64, Value.From(ulong.MaxValue).Kind);
        Assert.Equal(ValueKind.I64, Value.From(7UL).Kind);
        Assert.True(Value.From(1.5).TryGetF64(out var f) && f == 1.5);
        Assert.Equal("x", Value.From("x").AsString());
        Assert.Null(Value.From(1L).AsString());
    }

    [Fact]
    public void Records_keep_insertion_order_and_replace_in_place()
    {
        var r = new ValueRecord();
        for (var k = 0; k < 20; k++) r.Set($"k{k}", k);
        r.Set("k3", "three");
        Assert.Equal(20, r.Count);
        Assert.Equal("three", r["k3"].AsString());
        Assert.Equal(Enumerable.Range(0, 20).Select(k => $"k{k}"), r.Select(kv => kv.Key));
        Assert.True(r.Remove("k0"));
        Assert.False(r.ContainsKey("k0"));
        Assert.Equal(19L, r["k19"].RawI64);
        Assert.Equal("k1", r.KeyAt(0));
    }

    [Fact]
    public void Equality_is_structural_and_numbers_compare_by_value()
    {
        var a = Value.NewRecord();
        a.AsRecord()!.Set("x", Value.From(new List<Value> { 1, "two", 3.0 }));
        var b = Value.NewRecord();
        b.AsRecord()!.Set("x", Value.From(new List<Value> { 1.0, "two", 3 }));
        Assert.Equal(a, b);
        Assert.NotEqual(Value.From("1"), Value.From(1L));
        Assert.Equal("{\"x\":[1,\"two\",3]}", a.ToString());
    }

    [Fact]
    public void Durations_read_like_hocon()
    {
        Assert.True(DurationText.TryParse("250ms", out var d) && d == TimeSpan.FromMilliseconds(250));
        Assert.True(DurationText.TryParse("2s", out d) && d == TimeSpan.FromSeconds(2));
        Assert.True(DurationText.TryParse("1.5m", out d) && d == TimeSpan.FromSeconds(90));
        Assert.False(DurationText.TryParse("soon", out _));
        var config = new PluginConfig("tremor.x", new ValueRecord { ["interval"] = "fast" });
        var e = Assert.Throws<ConfigException>(() => config.GetDuration("interval"));
        Assert.Equal("tremor.x.interval: expected a duration such as 500ms or 2s, found '\"fast\"'", e.Message);
    }
}
