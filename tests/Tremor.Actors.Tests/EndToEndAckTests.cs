using Tremor.Actors.Connectors;
using Tremor.Actors.Links;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>A transactional source hears of an event once: acked when every sink it reached delivered it, failed when one did not.</summary>
public sealed class EndToEndAckTests : TremorTestKit
{
    private const string FanOut = """
        connectors {
          src { type = test-source }
          a { type = test-sink }
          b { type = other-sink }
        }
        pipelines { main { type = passthrough } }
        links = ["src -> main", "main -> a", "main -> b"]
        """;

    private static IEnumerable<ulong> Pulls(int n) => Enumerable.Range(0, n).Select(i => (ulong)i);

    [Fact]
    public async Task Fan_out_to_two_sinks_that_both_deliver_acks_each_event_once()
    {
        var source = new TestSourceFactory { Total = 200, Transactional = true };
        var a = new TestSinkFactory();
        var b = new TestSinkFactory("other-sink");
        Register(source);
        Register(a);
        Register(b);
        var (_, exit) = Deploy(Flow("f", FanOut));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        // Once per event, not once per sink.
        AwaitAssert(() => Assert.Equal(Pulls(200), source.Acked.Order()));
        Assert.Empty(source.Failed);
    }

    [Fact]
    public async Task Fan_out_where_one_sink_fails_fails_each_event_and_acks_none()
    {
        var source = new TestSourceFactory { Total = 100, Transactional = true };
        var a = new TestSinkFactory();
        var b = new TestSinkFactory("other-sink") { FailAll = true };
        Register(source);
        Register(a);
        Register(b);
        var (_, exit) = Deploy(Flow("f", FanOut));
        await exit.WaitAsync(TimeSpan.FromSeconds(30));
        AwaitAssert(() => Assert.Equal(Pulls(100), source.Failed.Order()));
        // The sink that delivered does not ack them behind the failure's back.
        Assert.Empty(source.Acked);
        Assert.Equal(100, a.ReceivedCount);
    }

    [Fact]
    public async Task An_event_is_acked_only_once_the_slower_of_two_sinks_delivered_it()
    {
        var gate = new SemaphoreSlim(0);
        var source = new TestSourceFactory { Total = 10, Transactional = true, ChunksPerPull = 10 };
        var a = new TestSinkFactory();
        var b = new TestSinkFactory("other-sink") { Gate = gate };
        Register(source);
        Register(a);
        Register(b);
        var (_, exit) = Deploy(Flow("f", FanOut));
        // Sink a delivered everything (its acks went back), sink b holds its batch.
        AwaitAssert(() => Assert.Equal(10, a.ReceivedCount), TimeSpan.FromSeconds(20));
        AwaitAssert(() => Assert.Equal(1, Volatile.Read(ref b.Calls)), TimeSpan.FromSeconds(20));
        var status = await ConnectorStatus("f.a");
        Assert.Equal(10, status.EventsIn);
        Assert.Empty(source.Acked);
        gate.Release(100);
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        AwaitAssert(() => Assert.Equal(Pulls(10), source.Acked.Order()));
    }

    [Fact]
    public async Task An_asynchronous_sink_acking_during_the_call_and_after_it_acks_each_event_once_with_a_second_sink()
    {
        var source = new TestSourceFactory { Total = 200, Transactional = true, ChunksPerPull = 20 };
        var a = new TestSinkFactory();
        Register(source);
        Register(a);
        Register(new AsyncAckSinkFactory());
        var (_, exit) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              a { type = test-sink }
              b { type = async-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> a", "main -> b"]
            """), DataPath(batchSize: 20, credits: 2));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        AwaitAssert(() => Assert.Equal(Pulls(200), source.Acked.Order()));
        Assert.Empty(source.Failed);
    }

    [Fact]
    public async Task An_event_a_query_filters_out_is_acked_and_one_it_passes_is_acked_after_its_sink()
    {
        var source = new TestSourceFactory { Total = 100, Transactional = true };
        var sink = new TestSinkFactory();
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", """"
            connectors {
              src { type = test-source }
              snk { type = test-sink }
            }
            pipelines {
              main { query = """select event from in where event.n % 2 == 0 into out;""" }
            }
            links = ["src -> main", "main -> snk"]
            """"));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i * 2), sink.Received.Keys.Order());
        AwaitAssert(() => Assert.Equal(Pulls(100), source.Acked.Order()));
        Assert.Empty(source.Failed);
    }

    [Fact]
    public async Task Events_a_window_takes_are_acked_and_its_output_settles_only_its_last_event()
    {
        var source = new TestSourceFactory { Total = 100, Transactional = true };
        var sink = new TestSinkFactory { FailAll = true };
        Register(source);
        Register(sink);
        var (_, exit) = Deploy(Flow("f", """"
            connectors {
              src { type = test-source }
              snk { type = test-sink }
            }
            pipelines {
              main {
                query = """
                  define window ten from tumbling with size = 10 end;
                  select { "n": aggr::stats::count() } from in[ten] into out;
                """
              }
            }
            links = ["src -> main", "main -> snk"]
            """"));
        await exit.WaitAsync(TimeSpan.FromSeconds(30));
        // Each window's output carries its tenth event's id: the sink's failure fails that one; the nine the window
        // took before it were acknowledged when it took them (window state is memory, a crash loses it either way).
        var last = Enumerable.Range(0, 10).Select(w => (ulong)(w * 10 + 9)).ToList();
        AwaitAssert(() => Assert.Equal(last, source.Failed.Order()));
        AwaitAssert(() => Assert.Equal(Pulls(100).Except(last), source.Acked.Order()));
    }
}

/// <summary>
/// A sink that answers later through the host: half of each batch acked during the call (before its Pending reply
/// reaches the runtime), the rest from another thread afterwards.
/// </summary>
public sealed class AsyncAckSinkFactory : IConnectorFactory
{
    public string Type => "async-sink";
    public string Description => "acks asynchronously";
    public ConnectorKinds Kinds => ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    public IConnector Create(ConnectorContext context) => new Sink(context.Host);

    private sealed class Sink(IPluginHost host) : ConnectorBase, ISink
    {
        private readonly List<Task> _later = [];

        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            var ids = batch.Events.Select(e => e.Id).ToList();
            var half = ids.Count / 2;
            host.Ack(ids[..half]);
            var rest = ids[half..];
            lock (_later) _later.Add(Task.Run(() => host.Ack(rest), CancellationToken.None));
            return ValueTask.FromResult(SinkReply.Pending);
        }

        public async ValueTask OnEndAsync(CancellationToken cancellationToken)
        {
            Task[] later;
            lock (_later) later = [.. _later];
            await Task.WhenAll(later);
        }
    }
}

/// <summary>The source side's bookkeeping, without actors.</summary>
public sealed class AckLedgerTests
{
    private static Event Transactional(ulong pull, ulong sequence) =>
        new() { Id = new EventId(1, 0, pull, sequence), Transactional = true };

    [Fact]
    public void A_pull_is_acked_once_every_share_of_its_events_came_back()
    {
        var ledger = new AckLedger();
        var events = new[] { Transactional(0, 0), Transactional(0, 1) };
        var weights = ledger.Register(events)!;
        var shares = Enumerable.Range(0, 3).Select(i => AckWeights.Share(weights, 3, i)).ToList();
        List<EventId> acked = [], failed = [];
        foreach (var share in shares.Take(2))
        {
            for (var i = 0; i < events.Length; i++) ledger.Return(events[i].Id, share[i], false, acked, failed);
        }
        Assert.Empty(acked);
        ledger.Return(events[0].Id, shares[2][0], false, acked, failed);
        Assert.Empty(acked);
        ledger.Return(events[1].Id, shares[2][1], false, acked, failed);
        Assert.Equal([events[0].Id], acked);
        Assert.Empty(failed);
        Assert.Equal(0, ledger.Count);
    }

    [Fact]
    public void The_first_failed_copy_fails_the_pull_and_later_copies_change_nothing()
    {
        var ledger = new AckLedger();
        var e = Transactional(4, 10);
        var weights = ledger.Register([e])!;
        List<EventId> acked = [], failed = [];
        ledger.Return(e.Id, AckWeights.Share(weights, 2, 0)[0], true, acked, failed);
        ledger.Return(e.Id, AckWeights.Share(weights, 2, 1)[0], false, acked, failed);
        Assert.Equal([e.Id], failed);
        Assert.Empty(acked);
    }

    [Fact]
    public void A_copy_from_before_a_new_plugin_instance_does_not_settle_the_new_instances_pull_of_the_same_id()
    {
        var ledger = new AckLedger();
        var old = Transactional(0, 3);
        ledger.Register([old]);
        ledger.Clear();
        var current = Transactional(0, 50);
        var weights = ledger.Register([current])!;
        List<EventId> acked = [], failed = [];
        ledger.Return(old.Id, weights[0], false, acked, failed);
        Assert.Empty(acked);
        ledger.Return(current.Id, weights[0], false, acked, failed);
        Assert.Equal([current.Id], acked);
    }

    [Fact]
    public void Events_owed_no_ack_carry_no_weights()
    {
        var ledger = new AckLedger();
        Assert.Null(ledger.Register([new Event { Id = new EventId(1, 0, 0, 0) }]));
        Assert.Equal(0, ledger.Count);
    }
}
