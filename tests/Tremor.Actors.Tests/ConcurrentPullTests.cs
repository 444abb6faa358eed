using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Tremor.Actors.Connectors;
using Tremor.Actors.Metrics;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// A connector whose sink feeds its own source, as the wal does, through a store kept in the factory (so it outlives a
/// crashed instance, as a log on disk). Records its calls, and counts calls that overlapped and pulls cut short.
/// </summary>
public sealed class LoopbackFactory : IConnectorFactory
{
    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _stored = new();
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inCall;
    private int _pulling;

    public string Type => "loopback";
    public string Description => "a sink that feeds its own source";
    public ConnectorKinds Kinds => ConnectorKinds.Source | ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    /// <summary>What the instance declares: its pull may run beside its other calls.</summary>
    public bool Concurrent { get; init; }

    /// <summary>The pull (counted from 1) that throws once data is there, leaving the data stored.</summary>
    public int? ThrowOnPull { get; init; }

    public int Instances;
    public int Pulls;
    public int CancelledPulls;
    /// <summary>Calls that started while another call of the instance was in progress (a waiting pull included).</summary>
    public int Overlaps;
    /// <summary>Sink batches taken while a pull of the instance was in progress.</summary>
    public int SinkCallsDuringPull;
    /// <summary>Every call, in the order the instance saw them: pull, pulled, batch, pause.</summary>
    public readonly ConcurrentQueue<string> Calls = new();

    public IConnector Create(ConnectorContext context)
    {
        Interlocked.Increment(ref Instances);
        return new Loopback(this);
    }

    private void Enter(string call)
    {
        if (Interlocked.Increment(ref _inCall) > 1) Interlocked.Increment(ref Overlaps);
        Calls.Enqueue(call);
    }

    private void Exit(string? call = null)
    {
        if (call is not null) Calls.Enqueue(call);
        Interlocked.Decrement(ref _inCall);
    }

    private sealed class Loopback(LoopbackFactory f) : ConnectorBase, ISource, ISink
    {
        public bool IsTransactional => false;

        public bool PullsConcurrently => f.Concurrent;

        public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
        {
            var pull = Interlocked.Increment(ref f.Pulls);
            f.Enter("pull");
            Volatile.Write(ref f._pulling, 1);
            try
            {
                while (true)
                {
                    Task appended;
                    lock (f._lock)
                    {
                        appended = f._appended.Task;
                        if (f._stored.Count > 0 && pull == f.ThrowOnPull) throw new InvalidOperationException($"loopback broke in pull {pull}");
                        while (!batch.IsFull && f._stored.TryDequeue(out var bytes)) batch.Add(bytes);
                    }
                    if (batch.Count > 0) return PullStatus.Data;
                    await appended.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (!cancellationToken.IsCancellationRequested) continue;
                    Interlocked.Increment(ref f.CancelledPulls);
                    return PullStatus.Empty;
                }
            }
            finally
            {
                Volatile.Write(ref f._pulling, 0);
                f.Exit("pulled");
            }
        }

        public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            f.Enter("batch");
            if (Volatile.Read(ref f._pulling) == 1) Interlocked.Increment(ref f.SinkCallsDuringPull);
            lock (f._lock)
            {
                foreach (var e in batch.Events) f._stored.Enqueue(e.Payload.ToArray());
                f._appended.TrySetResult();
                f._appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            f.Exit();
            return ValueTask.FromResult(SinkReply.Acked);
        }

        public override ValueTask OnPauseAsync(CancellationToken cancellationToken)
        {
            f.Enter("pause");
            f.Exit();
            return ValueTask.CompletedTask;
        }

        public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Ack(ulong streamId, ulong pullId)
        {
        }

        public void Fail(ulong streamId, ulong pullId)
        {
        }
    }
}

/// <summary>
/// A connector whose source pulls beside its other calls (<see cref="ISource.PullsConcurrently"/>): its proxy serves
/// sink batches while a pull waits, keeps its answers in order, holds lifecycle calls until the pull ends, and fails
/// as before when the pull throws; a connector without the declaration still gets one call at a time.
/// </summary>
public sealed class ConcurrentPullTests : TremorTestKit
{
    private const string Loop = """
        connectors {
          feed { type = test-source }
          loop { type = loopback, restart { min-backoff = 10ms, max-backoff = 50ms } }
          snk { type = test-sink }
        }
        pipelines { into { type = passthrough }, out { type = passthrough } }
        links = ["feed -> into", "into -> loop", "loop -> out", "out -> snk"]
        """;

    private IActorRef Proxy(LoopbackFactory loop, SupervisorStrategy? supervision = null)
    {
        var context = new ConnectorContext(new DetachedPluginHost("loop"), new PluginConfig("loop", null));
        var decoder = new SourceDecoder("loop", 1, transactional: false, new JsonCodec(), [], new JsonCodec());
        var metrics = RuntimeMetrics.Get(Sys).RegisterConnector("loop", loop.Type, loop.Kinds);
        var props = PluginProxy.Props(loop, context, decoder, Services, metrics, CancellationToken.None);
        return supervision is null ? ChildActorOf(props) : ChildActorOf(props, supervision);
    }

    private static SinkBatch Batch(params int[] ns)
    {
        var events = new List<SinkEvent>();
        foreach (var n in ns)
        {
            var id = new EventId(1, 0, (ulong)n, 0);
            events.Add(new SinkEvent(id, 0, Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), new Event { Id = id, Data = Value.From((long)n) }));
        }
        return new SinkBatch(events, ReadOnlyMemory<byte>.Empty);
    }

    private static long N(Event e) => e.Data["n"].TryGetI64(out var n) ? n : -1;

    [Fact]
    public void Sink_batches_are_answered_in_order_while_the_pull_waits_and_the_pull_brings_what_they_stored()
    {
        var loop = new LoopbackFactory { Concurrent = true };
        var proxy = Proxy(loop);
        Assert.True(ExpectMsg<PluginProxy.InstanceCreated>().PullsConcurrently);

        proxy.Tell(new PluginProxy.Pull(100, CancellationToken.None), TestActor);
        AwaitCondition(() => loop.Calls.Contains("pull"), TimeSpan.FromSeconds(10), "the pull started");
        proxy.Tell(new PluginProxy.Deliver(1, Batch(1, 2)), TestActor);
        proxy.Tell(new PluginProxy.Deliver(2, Batch(3)), TestActor);
        proxy.Tell(new PluginProxy.Deliver(3, Batch(4, 5)), TestActor);

        // The first batch is answered before the pull it woke (the pull waited for it); answers keep the order sent.
        Assert.Equal(1, ExpectMsg<PluginProxy.Delivered>().Sequence);
        var sequences = new List<long>();
        var pulled = new List<long>();
        while (sequences.Count < 2 || pulled.Count == 0)
        {
            switch (ExpectMsg<object>())
            {
                case PluginProxy.Delivered d: sequences.Add(d.Sequence); break;
                case PluginProxy.Pulled p: pulled.AddRange(p.Events.Select(N)); break;
            }
        }
        Assert.Equal([2, 3], sequences);
        // Pull again until everything stored came out, in the order it was delivered.
        while (pulled.Count < 5)
        {
            proxy.Tell(new PluginProxy.Pull(100, CancellationToken.None), TestActor);
            pulled.AddRange(ExpectMsg<PluginProxy.Pulled>().Events.Select(N));
        }
        Assert.Equal([1, 2, 3, 4, 5], pulled);
        // The first sink call ran while the first pull was still waiting: it started before that pull ended.
        var calls = loop.Calls.ToList();
        Assert.True(calls.IndexOf("batch") < calls.IndexOf("pulled"), string.Join(",", calls));
        Assert.True(loop.SinkCallsDuringPull >= 1);
        Assert.Equal(0, loop.CancelledPulls);
    }

    [Fact]
    public void A_hook_waits_for_the_pull_in_flight_and_what_was_sent_after_the_hook_waits_behind_it()
    {
        var loop = new LoopbackFactory { Concurrent = true };
        var proxy = Proxy(loop);
        ExpectMsg<PluginProxy.InstanceCreated>();
        using var cancel = new CancellationTokenSource();

        proxy.Tell(new PluginProxy.Pull(100, cancel.Token), TestActor);
        AwaitCondition(() => loop.Calls.Contains("pull"), TimeSpan.FromSeconds(10), "the pull started");
        proxy.Tell(new PluginProxy.Hook(PluginProxy.HookKind.Pause), TestActor);
        proxy.Tell(new PluginProxy.Deliver(1, Batch(1)), TestActor);
        // The connector actor cuts the pull short for a hook, as before.
        cancel.Cancel();

        var pulled = ExpectMsg<PluginProxy.Pulled>();
        Assert.Empty(pulled.Events);
        Assert.Equal(PluginProxy.HookKind.Pause, ExpectMsg<PluginProxy.HookDone>().Kind);
        Assert.Equal(1, ExpectMsg<PluginProxy.Delivered>().Sequence);
        Assert.Equal(["pull", "pulled", "pause", "batch"], loop.Calls.ToList());
        Assert.Equal(0, loop.Overlaps);
    }

    [Fact]
    public void A_concurrent_pull_that_throws_fails_the_proxy()
    {
        var loop = new LoopbackFactory { Concurrent = true, ThrowOnPull = 1 };
        var proxy = Proxy(loop, new OneForOneStrategy(_ => Directive.Stop));
        ExpectMsg<PluginProxy.InstanceCreated>();
        Watch(proxy);

        proxy.Tell(new PluginProxy.Pull(100, CancellationToken.None), TestActor);
        AwaitCondition(() => loop.Calls.Contains("pull"), TimeSpan.FromSeconds(10), "the pull started");
        proxy.Tell(new PluginProxy.Deliver(1, Batch(1)), TestActor);

        // The batch was taken (the connector's store keeps it); the pull it woke throws and the proxy dies.
        Assert.Equal(1, ExpectMsg<PluginProxy.Delivered>().Sequence);
        ExpectTerminated(proxy);
    }

    [Fact]
    public void In_a_flow_a_declaring_connector_takes_sink_batches_while_its_pull_waits_and_no_pull_is_cut_short()
    {
        var loop = new LoopbackFactory { Concurrent = true };
        var sink = new TestSinkFactory { KeepEvents = true };
        Register(new TestSourceFactory { Total = null });
        Register(loop);
        Register(sink);
        var (world, exit) = Deploy(Flow("f", Loop));

        AwaitCondition(() => sink.ReceivedCount >= 100, TimeSpan.FromSeconds(30), "events went through the loopback");
        Assert.True(Volatile.Read(ref loop.SinkCallsDuringPull) > 0);
        Assert.Equal(0, Volatile.Read(ref loop.CancelledPulls));
        // In the order they went in.
        var received = sink.Events.Take(100).Select(N).ToList();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), received);
        DrainsAndEnds(world, exit);
    }

    [Fact]
    public void In_a_flow_a_connector_without_the_declaration_still_gets_one_call_at_a_time()
    {
        var loop = new LoopbackFactory { Concurrent = false };
        var sink = new TestSinkFactory();
        Register(new TestSourceFactory { Total = null });
        Register(loop);
        Register(sink);
        var (world, exit) = Deploy(Flow("f", Loop));

        AwaitCondition(() => sink.ReceivedCount >= 100, TimeSpan.FromSeconds(30), "events went through the loopback");
        Assert.Equal(0, Volatile.Read(ref loop.Overlaps));
        Assert.Equal(0, Volatile.Read(ref loop.SinkCallsDuringPull));
        // Waiting pulls were cut short for the sink batches instead.
        Assert.True(Volatile.Read(ref loop.CancelledPulls) > 0);
        DrainsAndEnds(world, exit);
    }

    [Fact]
    public async Task In_a_flow_a_concurrent_pull_that_throws_restarts_the_instance_and_no_event_is_lost()
    {
        var loop = new LoopbackFactory { Concurrent = true, ThrowOnPull = 3 };
        var sink = new TestSinkFactory();
        Register(new TestSourceFactory { Total = 200 });
        Register(loop);
        Register(sink);
        var (world, exit) = Deploy(Flow("f", Loop));

        AwaitCondition(() => sink.ReceivedCount == 200, TimeSpan.FromSeconds(30), "every event went through the loopback");
        var status = await ConnectorStatus("f.loop");
        Assert.Equal(1, status.Restarts);
        Assert.Contains("loopback broke in pull 3", status.LastError);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), sink.Received.Keys.Order());
        DrainsAndEnds(world, exit);
    }

    /// <summary>A drain cuts the waiting pull short (a concurrent one too) and the run ends.</summary>
    private static void DrainsAndEnds(IActorRef world, Task<int> exit)
    {
        world.Tell(new World.ShutdownRequested(0, "test"));
        Assert.True(exit.Wait(TimeSpan.FromSeconds(30)), "the flow drained and the run ended");
    }
}
