using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Event;
using Akka.TestKit;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// A process-isolated sink whose input is saturated (full batches arriving) holds its call for more batches
/// (<c>linger</c>, <c>linger-batches</c>): the real C plugins in their host process, counted by the plugin itself
/// (c-blackhole logs its calls when destroyed). A partial batch is never held, a lone full one goes once the linger
/// passed, a drain, an end of stream or a pause sends what is held at once, and a crash with batches held loses none.
/// </summary>
public sealed partial class LingerTests : TremorTestKit
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-linger-").FullName;
    private readonly TestProbe _logs;

    public LingerTests()
    {
        // c-blackhole says how many calls it got in an info line when its instance is destroyed.
        Sys.EventStream.SetLogLevel(LogLevel.InfoLevel);
        _logs = CreateTestProbe();
        Sys.EventStream.Subscribe(_logs.Ref, typeof(Info));
        new PluginDiscovery(Catalog, new PluginSettings([], new Dictionary<string, string>(), false)).DiscoverAll([]);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_dir, recursive: true);
    }

    private string OutputFile => Path.Combine(_dir, "out.jsonl");

    private static Event Event(long n)
    {
        var record = new ValueRecord();
        record.Set("n", n);
        return new Event { Id = new EventId(1, 0, (ulong)n, (ulong)n), Data = Value.From(record) };
    }

    /// <summary>Batch <paramref name="b"/>: events b*10 .. b*10+count-1 (full at the tests' batch size of 10).</summary>
    private static EventBatch Batch(int b, int count = 10) => new("in", Enumerable.Range(b * 10, count).Select(n => Event(n)).ToArray());

    private (IActorRef Connector, TestProbe Upstream, TestProbe Flow) StartSink(string type, string settings, string config = "")
    {
        var spec = Connector(type, $"isolation = process\n{settings}\nrestart {{ min-backoff = 5ms, max-backoff = 20ms, max-restarts = 5 }}\nconfig {{ path = \"{OutputFile}\"\n{config} }}");
        var factory = Catalog.Connector(spec.Type, $"{spec.Path}.type", spec.Isolation);
        var flow = CreateTestProbe();
        var upstream = CreateTestProbe();
        var connector = Sys.ActorOf(ConnectorActor.Props(spec, factory, Catalog, Services, DataPath(batchSize: 10, credits: 8), flow.Ref));
        connector.Tell(new LinkInput(upstream.Ref));
        upstream.ExpectMsg<Credit>();
        connector.Tell(new ConnectorActor.Start());
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Running }, TimeSpan.FromSeconds(10));
        return (connector, upstream, flow);
    }

    private List<long> Delivered() =>
        File.Exists(OutputFile)
            ? File.ReadLines(OutputFile).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("n").GetInt64()).ToList()
            : [];

    /// <summary>Stops the connector (its plugin instance is destroyed) and returns c-blackhole's own count of calls and events.</summary>
    private (long Calls, long Events) StopAndCount(IActorRef connector)
    {
        Sys.Stop(connector);
        var line = _logs.FishForMessage<Info>(i => i.Message.ToString()!.Contains("c-blackhole: ", StringComparison.Ordinal), TimeSpan.FromSeconds(20)).Message.ToString()!;
        var m = Totals().Match(line);
        Assert.True(m.Success, line);
        return (long.Parse(m.Groups[2].Value), long.Parse(m.Groups[1].Value));
    }

    [GeneratedRegex(@"c-blackhole: (\d+) events, \d+ bytes in (\d+) batches")]
    private static partial Regex Totals();

    [Fact]
    public void Full_batches_arriving_one_by_one_reach_the_isolated_sink_in_fewer_calls()
    {
        // A linger far longer than the test: only the count of batches (or spent credit) lets a call go.
        var (connector, upstream, _) = StartSink("c-blackhole", "linger = 1m\nlinger-batches = 4");

        for (var b = 0; b < 8; b++) connector.Tell(Batch(b), upstream.Ref);

        AwaitAssert(() => Assert.Equal(80, Delivered().Count), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 80).Select(n => (long)n), Delivered());
        for (var b = 0; b < 8; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        // Eight batches, each arriving after the last was handled: two calls of four, not eight (or five) calls.
        Assert.Equal((2, 80), StopAndCount(connector));
    }

    [Fact]
    public void A_lone_event_to_an_isolated_sink_goes_at_once()
    {
        // A partial batch says the input ran dry: it is not held, however long the linger.
        var (connector, upstream, _) = StartSink("c-blackhole", "linger = 1m");

        connector.Tell(Batch(0, count: 1), upstream.Ref);

        AwaitAssert(() => Assert.Equal([0L], Delivered()), TimeSpan.FromSeconds(10));
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.Equal((1, 1), StopAndCount(connector));
    }

    [Fact]
    public void A_full_batch_with_nothing_behind_it_goes_once_the_linger_passed()
    {
        var (connector, upstream, _) = StartSink("c-blackhole", "linger = 50ms");

        // Full: held for company that never comes; the linger's timer sends it.
        connector.Tell(Batch(0), upstream.Ref);

        AwaitAssert(() => Assert.Equal(10, Delivered().Count), TimeSpan.FromSeconds(10));
        upstream.ExpectMsg<Credit>(c => c.Batches == 1);
        Assert.Equal((1, 10), StopAndCount(connector));
    }

    [Theory]
    [InlineData("drain")]
    [InlineData("end-of-stream")]
    [InlineData("pause")]
    public void A_drain_an_end_or_a_pause_sends_what_a_call_holds_at_once(string what)
    {
        var (connector, upstream, _) = StartSink("c-blackhole", "linger = 1m\nlinger-batches = 4");

        // Three full batches: held for a fourth (and the linger is longer than the test).
        for (var b = 0; b < 3; b++) connector.Tell(Batch(b), upstream.Ref);
        connector.Tell(what switch
        {
            "drain" => new ConnectorActor.Drain(),
            "end-of-stream" => EndOfStream.Instance,
            _ => new ConnectorActor.Pause(),
        }, upstream.Ref);

        AwaitAssert(() => Assert.Equal(30, Delivered().Count), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 30).Select(n => (long)n), Delivered());
        // An upstream that ended is granted nothing more; the others get each batch's credit back.
        if (what != "end-of-stream") for (var b = 0; b < 3; b++) upstream.ExpectMsg<Credit>(c => c.Batches == 1, TimeSpan.FromSeconds(10));
        // All three in one call: they were held together until then.
        Assert.Equal((1, 30), StopAndCount(connector));
    }

    [Fact]
    public void Held_batches_past_the_bytes_bound_of_a_call_follow_in_the_next_ones_in_order()
    {
        // Half of 400 bytes: two batches of ten {"n":N} (70-80 bytes each) fit in a call, three do not.
        var (connector, upstream, _) = StartSink("c-blackhole", "linger = 1m\nlinger-batches = 4\nmax-region-size = 400");

        for (var b = 0; b < 8; b++) connector.Tell(Batch(b), upstream.Ref);
        connector.Tell(EndOfStream.Instance, upstream.Ref);

        AwaitAssert(() => Assert.Equal(80, Delivered().Count), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 80).Select(n => (long)n), Delivered());
        var (calls, events) = StopAndCount(connector);
        Assert.Equal(80, events);
        Assert.True(calls >= 4, $"{calls} calls of at most two batches for eight");
    }

    [Fact]
    public void A_crash_of_the_isolated_plugin_with_batches_held_loses_none_and_keeps_the_order()
    {
        // c-crasher segfaults on event 25 (in the first call of four batches) and writes a batch only when it got through.
        var (connector, upstream, flow) = StartSink("c-crasher", "linger = 1m\nlinger-batches = 4\nquarantine-after = 1", "mode = segfault, marker = \":25}\"");

        for (var b = 0; b < 6; b++) connector.Tell(Batch(b), upstream.Ref);
        // Batches 4 and 5 are held (two of four) while the host dies with 0-3 in its call, and through the bisection.
        flow.FishForMessage(m => m is ConnectorActor.StateChanged { State: ConnectorState.Restarting }, TimeSpan.FromSeconds(10));
        var expected = Enumerable.Range(0, 60).Select(n => (long)n).Where(n => n != 25).ToList();
        AwaitAssert(() => Assert.Equal(expected[..39], Delivered()), TimeSpan.FromSeconds(20));
        connector.Tell(EndOfStream.Instance, upstream.Ref);

        // Exactly once (a call that died wrote nothing) and in the order accepted.
        AwaitAssert(() => Assert.Equal(expected, Delivered()), TimeSpan.FromSeconds(10));
    }
}

/// <summary>The linger's settings are checked where they are read, with the key path and what to do.</summary>
public sealed class LingerConfigTests
{
    private static ConfigException Refused(string settings, string dataPath = "") =>
        Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(
            TremorConfig.Parse($"{dataPath}\ntremor.flows.f {{ connectors {{ a {{ type = c-blackhole, isolation = process\n{settings} }}\n b {{ type = metronome }} }}\n links = [\"b -> a\"] }}", "test.conf"),
            "test.conf"));

    [Fact]
    public void By_default_no_call_is_held_and_a_linger_waits_for_four_batches()
    {
        var settings = TremorConfig.ReadSettings(TremorConfig.Parse("tremor.flows.f { connectors { a { type = c-blackhole, isolation = process }\n b { type = metronome } }\n links = [\"b -> a\"] }", "test.conf"), "test.conf");
        var isolation = settings.Flows.Single().Connectors.Single(c => c.Name == "a").Isolation;
        Assert.Equal(TimeSpan.Zero, isolation.Linger);
        Assert.Equal(4, isolation.LingerBatches);
    }

    [Theory]
    [InlineData("linger = -1", "tremor.flows.f.connectors.a.linger: must be 0 (never hold a call) or longer, found -1ms")]
    [InlineData("linger = soon", "tremor.flows.f.connectors.a.linger: expected a duration such as 500ms or 2s, found")]
    [InlineData("linger = 2ms\nlinger-batches = 0", "tremor.flows.f.connectors.a.linger-batches: must be between 1 and 8 (the most batches one call into the plugin host carries), found 0")]
    [InlineData("linger = 2ms\nlinger-batches = 9", "tremor.flows.f.connectors.a.linger-batches: must be between 1 and 8 (the most batches one call into the plugin host carries), found 9")]
    public void A_linger_out_of_range_is_refused_naming_the_key(string settings, string expected) =>
        Assert.StartsWith(expected, Refused(settings).Message);

    [Fact]
    public void A_linger_for_more_batches_than_the_credits_is_refused_naming_both()
    {
        var error = Refused("linger = 2ms\nlinger-batches = 6", "tremor.data-path.credits = 4");
        Assert.Equal("tremor.flows.f.connectors.a.linger-batches: is 6, more batches than the sink's upstreams may send before it answers (tremor.data-path.credits = 4); lower it to at most 4, or raise credits", error.Message);
        // Off, the count is not used: nothing to refuse.
        TremorConfig.ReadSettings(TremorConfig.Parse("tremor.data-path.credits = 4\ntremor.flows.f { connectors { a { type = c-blackhole, isolation = process, linger = 0, linger-batches = 6 }\n b { type = metronome } }\n links = [\"b -> a\"] }", "test.conf"), "test.conf");
    }
}

/// <summary>When a lingering call goes, without actors or time: <see cref="SinkLinger"/> and <see cref="SinkOutbox{TUpstream}"/>.</summary>
public sealed class SinkLingerTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    [Fact]
    public void Only_a_saturated_input_with_more_on_its_way_holds_a_call_and_only_until_the_linger_passed()
    {
        var linger = new SinkLinger(batchSize: 10, batches: 4, TimeSpan.FromMilliseconds(2));
        Assert.Equal(0, linger.HoldBelow(0, waitingSince: 0, moreCanCome: true, int.MaxValue)); // nothing arrived yet
        linger.Arrived(10);
        Assert.Equal(40, linger.HoldBelow(1 * Ms, waitingSince: 0, moreCanCome: true, int.MaxValue));
        Assert.Equal(0, linger.HoldBelow(2 * Ms, waitingSince: 0, moreCanCome: true, int.MaxValue)); // waited linger
        Assert.Equal(0, linger.HoldBelow(1 * Ms, waitingSince: 0, moreCanCome: false, int.MaxValue)); // credit spent
        Assert.Equal(0, linger.HoldBelow(1 * Ms, waitingSince: null, moreCanCome: true, int.MaxValue)); // nothing waits
        Assert.Equal(25, linger.HoldBelow(1 * Ms, waitingSince: 0, moreCanCome: true, eventsThatFit: 25)); // bytes bound
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), linger.Remaining(Ms / 2, 0));
        linger.Arrived(9);
        Assert.Equal(0, linger.HoldBelow(1 * Ms, waitingSince: 0, moreCanCome: true, int.MaxValue)); // ran dry
        linger.Arrived(10);
        linger.Release();
        Assert.Equal(0, linger.HoldBelow(1 * Ms, waitingSince: 0, moreCanCome: true, int.MaxValue)); // an upstream ended
        Assert.False(new SinkLinger(10, 4, TimeSpan.Zero).Enabled);
        Assert.False(new SinkLinger(10, 1, TimeSpan.FromMilliseconds(2)).Enabled);
    }

    private static OutboxBatch<string> Batch(string upstream, int events) =>
        new([upstream], Enumerable.Range(0, events).Select(_ => new Event()).ToArray(), null, bisecting: false);

    [Fact]
    public void The_outbox_holds_until_the_waiting_batches_reach_the_count_then_sends_them_in_one_call()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", 10), acceptedAt: 7);
        outbox.Add(Batch("b", 10), acceptedAt: 9);
        Assert.Equal(7, outbox.WaitingSince);
        Assert.Null(outbox.TakeNext(coalesceUpTo: 80, depth: 2, holdBelow: 30));
        outbox.Add(Batch("c", 10), acceptedAt: 11);
        var call = outbox.TakeNext(coalesceUpTo: 80, depth: 2, holdBelow: 30);
        Assert.NotNull(call);
        Assert.Equal(["a", "b", "c"], call.CreditTo);
        Assert.Null(outbox.WaitingSince);
    }

    [Fact]
    public void A_batch_retried_after_a_crash_is_never_held()
    {
        var outbox = new SinkOutbox<string>();
        outbox.Add(Batch("a", 10));
        var first = outbox.TakeNext(80, depth: 1)!;
        outbox.Crashed(quarantineAfter: 3);
        // Still in flight after the crash: sent again alone, never held for company.
        Assert.Same(first, outbox.InFlight);
        Assert.Equal(1, first.Failures);
        outbox.Add(Batch("b", 10));
        Assert.Null(outbox.TakeNext(80, depth: 2, holdBelow: 40)); // nothing goes behind a suspect batch
        Assert.Same(first, outbox.Answered(first.Sequence));
        Assert.Null(outbox.TakeNext(80, depth: 2, holdBelow: 40)); // "b" is an ordinary batch: held
        Assert.NotNull(outbox.TakeNext(80, depth: 2)); // and goes once nothing holds it
    }
}
