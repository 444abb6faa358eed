using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Tremor.Actors.Configuration;
using Tremor.Actors.Links;
using Tremor.Actors.Pipelines;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// The cost of one actor hop per batch on the data path: a batch goes through a passthrough <see cref="PipelineActor"/>
/// to a receiver, which grants the credit back, as a sink connector would. One operation = one batch of
/// <see cref="BatchSize"/> events; divide by it for the cost per event. <see cref="Transactional"/> batches carry ack
/// weights, as a transactional source's do (a non-transactional batch carries none and should cost what it did).
/// </summary>
[MemoryDiagnoser]
public class ActorHopBenchmarks
{
    private ActorSystem _system = null!;
    private IActorRef _pipeline = null!;
    private IActorRef _receiver = null!;
    private Event[] _batch = null!;
    private TaskCompletionSource _done = null!;

    private long[]? _weights;

    [Params(64, 1024)]
    public int BatchSize { get; set; }

    [Params(false, true)]
    public bool Transactional { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("bench", Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(TremorConfig.Reference));
        var spec = new PipelineSpec("bench", "main", "passthrough", "tremor.flows.bench.pipelines.main", new PluginConfig("p", null));
        _pipeline = _system.ActorOf(PipelineActor.Props(spec, new PassthroughProgram(), new DataPathSettings(BatchSize, 8, TimeSpan.FromSeconds(5))));
        _receiver = _system.ActorOf(Props.Create(() => new Receiver(this)));
        _pipeline.Tell(new LinkOutput("out", _receiver, "in"));
        _pipeline.Tell(new Credit(1_000_000), _receiver);
        _batch = Enumerable.Range(0, BatchSize).Select(i => new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i), Transactional = Transactional }).ToArray();
        _weights = Transactional ? Enumerable.Repeat(AckWeights.PerEvent, BatchSize).ToArray() : null;
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    /// <summary>Sends one batch and waits until it arrived downstream.</summary>
    [Benchmark]
    public Task OneHopPerBatch()
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pipeline.Tell(new EventBatch("in", _batch, _weights), _receiver);
        return _done.Task;
    }

    private sealed class Receiver : ReceiveActor
    {
        public Receiver(ActorHopBenchmarks owner)
        {
            Receive<EventBatch>(_ =>
            {
                Sender.Tell(new Credit(1));
                owner._done.TrySetResult();
            });
            Receive<Credit>(_ => { });
        }
    }
}

/// <summary>
/// A transactional source's bookkeeping per pull: register a batch of events (one pull each, as the follow source
/// emits them), then return every event's weight in two halves (a fan-out to two sinks) until each pull settles.
/// </summary>
[MemoryDiagnoser]
public class AckLedgerBenchmarks
{
    private readonly Tremor.Actors.Connectors.AckLedger _ledger = new();
    private readonly List<EventId> _acked = [];
    private readonly List<EventId> _failed = [];
    private Event[] _batch = null!;
    private ulong _sequence;

    [Params(64, 1024)]
    public int BatchSize { get; set; }

    [IterationSetup]
    public void Setup() => _batch = new Event[BatchSize];

    [Benchmark]
    public int RegisterAndSettleTwoCopies()
    {
        for (var i = 0; i < _batch.Length; i++)
        {
            var n = _sequence++;
            _batch[i] = new Event { Id = new EventId(1, 0, n, n), Transactional = true };
        }
        var weights = _ledger.Register(_batch)!;
        _acked.Clear();
        for (var copy = 0; copy < 2; copy++)
        {
            var share = AckWeights.Share(weights, 2, copy);
            for (var i = 0; i < _batch.Length; i++) _ledger.Return(_batch[i].Id, share[i], false, _acked, _failed);
        }
        return _acked.Count;
    }
}
