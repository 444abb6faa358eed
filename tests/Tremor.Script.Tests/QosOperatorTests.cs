using Tremor.Pdk;

namespace Tremor.Script.Tests;

/// <summary>qos::backpressure, qos::percentile and debug::history, driven as the pipeline actor drives them.</summary>
public class QosOperatorTests
{
    private const ulong Ms = 1_000_000;

    private static QueryInstance Start(string operatorDefinition) => Query.Compile(operatorDefinition + """

        create operator op;
        select event from in into op;
        select event from op into out;
        select {"overflow": event} from op/overflow into out;
        """, "qos.trickle").Instantiate();

    private static List<string> Send(QueryInstance q, params (ulong IngestNs, int Value)[] events)
    {
        var output = new Collector();
        q.Process("in", [.. events.Select(e => Harness.At(e.IngestNs, e.Value))], 0, output);
        return output.Data();
    }

    [Fact]
    public void Backpressure_discard_passes_one_event_per_backoff_and_overflows_the_rest_until_a_healthy_delivery()
    {
        var q = Start("""define operator op from qos::backpressure with timeout = 100, steps = [1, 10, 100] end;""");

        Assert.Equal(["1", "2"], Send(q, (1 * Ms, 1), (2 * Ms, 2)));
        // A delivery slower than the timeout: back off 1 ms from now.
        q.Delivered(200 * Ms, failed: false, nowNs: 2 * Ms);
        Assert.Equal(["""{"overflow":3}""", "4", """{"overflow":5}"""], Send(q, (3 * Ms - 1, 3), (3 * Ms, 4), (3 * Ms + 1, 5)));
        // A failure steps up to 10 ms; the top step stays the top.
        q.Delivered(0, failed: true, nowNs: 10 * Ms);
        Assert.Equal(["""{"overflow":6}""", "7"], Send(q, (19 * Ms, 6), (20 * Ms, 7)));
        // A healthy delivery ends the backoff.
        q.Delivered(1 * Ms, failed: false, nowNs: 21 * Ms);
        Assert.Equal(["8", "9"], Send(q, (21 * Ms, 8), (21 * Ms, 9)));
        Assert.False(q.PausesUpstream);
    }

    [Fact]
    public void Backpressure_pause_lets_every_event_through_and_pauses_the_upstream_until_the_backoff_has_passed()
    {
        var q = Start("""define operator op from qos::backpressure with timeout = 100, steps = [50], method = "pause" end;""");

        q.Delivered(0, failed: true, nowNs: 1000 * Ms);
        Assert.True(q.PausesUpstream);
        Assert.Equal(["1", "2"], Send(q, (1001 * Ms, 1), (1002 * Ms, 2)));
        q.Tick(1050 * Ms, new Collector());
        Assert.True(q.PausesUpstream);
        q.Tick(1051 * Ms, new Collector());
        Assert.False(q.PausesUpstream);
    }

    [Fact]
    public void Percentile_lowers_the_share_it_passes_on_bad_deliveries_and_raises_it_on_good_ones()
    {
        var q = Start("""define operator op from qos::percentile with timeout = 100, step_down = 0.5, step_up = 0.25 end;""");
        // Which events pass depends only on ingest_ns: (ingest_ns % 65535) / 65535 against the share.
        (ulong, int) low = (6553, 1), high = (58981, 2);

        Assert.Equal(["1", "2"], Send(q, low, high));
        q.Delivered(0, failed: true, nowNs: 0);
        Assert.Equal(["1", """{"overflow":2}"""], Send(q, low, high));
        q.Delivered(500 * Ms, failed: false, nowNs: 0);
        Assert.Equal(["""{"overflow":1}""", """{"overflow":2}"""], Send(q, low, high));
        q.Delivered(1 * Ms, failed: false, nowNs: 0);
        q.Delivered(1 * Ms, failed: false, nowNs: 0);
        Assert.Equal(["1", """{"overflow":2}"""], Send(q, low, high));
    }

    [Fact]
    public void History_appends_each_operator_it_passes_to_the_metadata_trail()
    {
        var q = Query.Compile("""
            define operator history from debug::history
            args
              op = "first"
            with
              op = args.op,
              name = "trail"
            end;
            create operator h1 from history;
            create operator h2 from history with op = "second" end;
            select event from in into h1;
            select event from h1 into h2;
            select {"trail": $trail, "event": event} from h2 into out;
            """, "history.trickle").Instantiate();
        var output = new Collector();
        var e = new Event { Id = new EventId(0, 0, 0, 7), Data = Value.From(1), Meta = Value.NewRecord(0) };

        q.Process("in", [e], 0, output);

        Assert.Equal(["""{"trail":["evt: first(0:0:7)","evt: second(0:0:7)"],"event":1}"""], output.Data());
    }

    [Theory]
    [InlineData("define operator op from qos::backpressure with method = \"drop\" end;", "bad.trickle:1:48: `method` must be \"discard\" or \"pause\"")]
    [InlineData("define operator op from qos::backpressure with steps = [] end;", "bad.trickle:1:48: `steps` must be a non-empty array")]
    [InlineData("define operator op from qos::percentile with step_down = 2 end;", "bad.trickle:1:46: `step_down` must be a number above 0.0 and at most 1.0")]
    [InlineData("define operator op from debug::history with op = \"x\" end;", "bad.trickle:1:17: missing parameter `name`")]
    [InlineData("define operator op from debug::history args op = \"x\" with op = args.op, name = \"n\" end; create operator o from op with nope = 1 end;", "bad.trickle:1:120: operator `op` has no argument `nope`")]
    public void Operator_parameters_are_checked_where_they_are_written(string query, string expected)
    {
        Assert.StartsWith(expected, Harness.CompileError(query));
    }
}
