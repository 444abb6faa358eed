using Tremor.Pdk;

namespace Tremor.Script.Tests;

public class OperatorTests
{
    private static (QueryInstance, Collector) Start(string query) => (Query.Compile(query, "ops.trickle").Instantiate(), new Collector());

    /// <summary>A grouper::bucket between in and out, its overflow on out/overflow.</summary>
    private static (QueryInstance, Collector) StartBucket() => Start("""
        define operator bucket from grouper::bucket end;
        create operator bucket;
        select event from in into bucket;
        select event from bucket into out;
        select event from bucket/overflow into out/overflow;
        """);

    [Fact]
    public void Batch_by_count_and_timeout()
    {
        var (q, output) = Start("""
            define operator batch from generic::batch with count = 3, timeout = nanos::from_millis(100) end;
            create operator batch;
            select event from in into batch;
            select event from batch into out;
            """);
        Assert.Equal(TimeSpan.FromMilliseconds(50), q.TickInterval);
        var events = Enumerable.Range(1, 5).Select(i => Harness.Ev(i)).ToArray();
        q.Process("in", events, 0, output);
        Assert.Equal(["[1,2,3]"], output.Data());
        Assert.Equal(events[0].Id, output.On("out")[0].Id);
        q.Tick(99_999_999, output);
        Assert.Single(output.All);
        q.Tick(100_000_000, output);
        Assert.Equal(["[1,2,3]", "[4,5]"], output.Data());
        q.Process("in", [Harness.Ev(6)], 200_000_000, output);
        q.Finish(200_000_000, output);
        Assert.Equal(["[1,2,3]", "[4,5]", "[6]"], output.Data());
    }

    [Fact]
    public void Counter_wraps_events_with_their_count()
    {
        var (q, output) = Start("define operator c from generic::counter end; create operator c; select event from in into c; select event from c into out;");
        q.Process("in", [Harness.Ev("a"), Harness.Ev("b")], 0, output);
        Assert.Equal(["{\"count\":1,\"event\":\"a\"}", "{\"count\":2,\"event\":\"b\"}"], output.Data());
    }

    [Fact]
    public void Bucket_rate_limits_per_class_and_dimension_over_one_second()
    {
        var (q, output) = StartBucket();
        Event Ev(string cls, long rate, string? dim) =>
            Harness.Ev(cls, Harness.J(dim is null ? $"{{\"class\":\"{cls}\",\"rate\":{rate}}}" : $"{{\"class\":\"{cls}\",\"rate\":{rate},\"dimensions\":\"{dim}\"}}"));
        q.Process("in", [Ev("a", 2, null), Ev("a", 2, null), Ev("a", 2, null), Ev("a", 2, "x"), Ev("b", 1, null)], 0, output);
        Assert.Equal(4, output.On("out").Count);
        Assert.Single(output.On("overflow"));
        // 0.5 s later the first second is still full; 1 s later it has slid past.
        q.Process("in", [Ev("a", 2, null)], 500_000_000, output);
        Assert.Equal(2, output.On("overflow").Count);
        q.Process("in", [Ev("a", 2, null)], 1_000_000_000, output);
        Assert.Equal(5, output.On("out").Count);
    }

    [Fact]
    public void Bucket_frees_a_slot_s_events_as_they_slide_out_of_the_second()
    {
        var (q, output) = StartBucket();
        var ev = Harness.Ev("e", Harness.J("{\"class\":\"c\",\"rate\":3}"));
        void At(ulong ms, int count) => q.Process("in", Enumerable.Repeat(ev, count).ToArray(), ms * 1_000_000, output);
        At(0, 1);
        At(300, 3);
        Assert.Equal(3, output.On("out").Count);
        Assert.Single(output.On("overflow"));
        At(950, 1);
        Assert.Equal(2, output.On("overflow").Count);
        // At 1.05 s the first 100 ms slot (one event) has slid out: one more passes, the next does not.
        At(1050, 2);
        Assert.Equal(4, output.On("out").Count);
        Assert.Equal(3, output.On("overflow").Count);
        // At 1.35 s the 0.3 s slot (two events passed) has slid out too: two more pass.
        At(1350, 3);
        Assert.Equal(6, output.On("out").Count);
        Assert.Equal(4, output.On("overflow").Count);
        // Two seconds later the whole window is empty again.
        At(3500, 4);
        Assert.Equal(9, output.On("out").Count);
    }

    [Fact]
    public void Bucket_without_class_or_rate_sends_to_err()
    {
        var (q, output) = Start("define operator b from grouper::bucket end; create operator b; select event from in into b; select event from b into out;");
        q.Process("in", [Harness.Ev(1, Harness.J("{\"class\":\"a\"}"))], 0, output);
        Assert.Equal("grouper::bucket: the event has no `$rate` (a non-negative integer); set it in a script before the bucket", Harness.ErrorOf(Assert.Single(output.On("err"))));
        Assert.Equal(1, q.ErrorCount);
    }

    [Fact]
    public void Roundrobin_and_passthrough_and_backpressure()
    {
        var (q, output) = Start("""
            define operator rr from qos::roundrobin with outputs = ["a", "b"] end;
            define operator p from passthrough end;
            define operator bp from qos::backpressure with timeout = 100 end;
            create operator rr;
            create operator p;
            create operator bp;
            select event from in into p;
            select event from p into bp;
            select event from bp into rr;
            select event from rr/a into out/a;
            select event from rr/b into out/b;
            """);
        q.Process("in", [Harness.Ev(1), Harness.Ev(2), Harness.Ev(3)], 0, output);
        Assert.Equal(["1", "3"], output.Data("a"));
        Assert.Equal(["2"], output.Data("b"));
    }

    [Fact]
    public void Old_style_operator_definitions_are_accepted()
    {
        var (q, output) = Start("define generic::batch operator b with count = 2 end; create operator b; select event from in into b; select event from b into out;");
        q.Process("in", [Harness.Ev(1), Harness.Ev(2)], 0, output);
        Assert.Equal(["[1,2]"], output.Data());
    }
}
