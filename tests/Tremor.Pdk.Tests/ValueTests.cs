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
    public void A_value_is_two_words_and_a_scalar_never_reads_as_an_object_of_the_same_number()
    {
        // Two words per value: the arrays of a decoded event's records are most of what decoding allocates.
        Assert.Equal(16, System.Runtime.CompilerServices.Unsafe.SizeOf<Value>());
        // A scalar whose bits equal a kind's number stays that scalar, and an object keeps its kind.
        foreach (var kind in Enum.GetValues<ValueKind>())
        {
            var n = (long)kind;
            Assert.Equal(ValueKind.I64, Value.From(n).Kind);
            Assert.Equal(ValueKind.F64, Value.From(BitConverter.Int64BitsToDouble(n)).Kind);
            Assert.Null(Value.From(n).AsString());
            Assert.Null(Value.From(n).AsRecord());
            Assert.False(Value.From(n).IsNull);
        }
        Assert.Equal(ValueKind.Bool, Value.From(false).Kind);
        Assert.False(Value.From(false).IsNull);
        Assert.False(Value.From("").TryGetI64(out _));
        Assert.False(Value.NewRecord().TryGetBool(out _));
        Assert.False(Value.NewArray().AsBool());
        Assert.Equal(ValueKind.String, Value.FromUtf8("é"u8.ToArray()).Kind);
        Assert.Equal(ValueKind.Bytes, Value.From(new byte[] { 8 }).Kind);
        Assert.Equal(ValueKind.Array, Value.NewArray().Kind);
        Assert.Equal(ValueKind.Record, Value.NewRecord().Kind);
        Assert.True(Value.Null.IsNull);
        Assert.Equal(Value.From(long.MaxValue), Value.From((ulong)long.MaxValue));
        Assert.NotEqual(Value.From(8L), Value.From(new byte[] { 8 }));
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
