using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BenchmarkDotNet.Attributes;
using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// The A side of <see cref="ActorHopBenchmarks"/> on Akka.Streams: one batch through a passthrough stage on an
/// asynchronous boundary (the hop an actor makes) and out to the caller, with the stream's own demand instead of
/// tremor's credits. Same operation and batch sizes, so the two read side by side: whether the data path between
/// connectors and pipelines would gain from being a stream (bench/streams-ab.sh runs both).
/// </summary>
[MemoryDiagnoser]
public class StreamsHopBenchmarks
{
    private ActorSystem _system = null!;
    private ISourceQueueWithComplete<Event[]> _queue = null!;
    private Event[] _batch = null!;
    private TaskCompletionSource _done = null!;

    [Params(64, 1024)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("bench", Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(TremorConfig.Reference));
        _queue = Source.Queue<Event[]>(8, OverflowStrategy.Backpressure)
            .Async()
            // A passthrough pipeline forwards the batch as it is (the actor does not copy it either).
            .Select(batch => batch)
            .Async()
            .To(Sink.ForEach<Event[]>(_ => _done.TrySetResult()))
            .Run(_system.Materializer());
        _batch = Enumerable.Range(0, BatchSize).Select(i => new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i) }).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _queue.Complete();
        _system.Terminate().Wait();
    }

    /// <summary>Offers one batch and waits until it arrived downstream.</summary>
    [Benchmark]
    public async Task OneHopPerBatch()
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.OfferAsync(_batch);
        await _done.Task;
    }
}
