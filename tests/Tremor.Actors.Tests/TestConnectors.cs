using System.Collections.Concurrent;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>A scriptable source: emits <see cref="Total"/> events (JSON bytes, or forever when null), records acks and fails.</summary>
public sealed class TestSourceFactory : IConnectorFactory
{
    public string Type { get; init; } = "test-source";
    public string Description => "test source";
    public ConnectorKinds Kinds => ConnectorKinds.Source;
    public string? DefaultCodec => "json";

    public int? Total { get; init; } = 100;
    public bool Transactional { get; init; }
    public int FailConnects { get; init; }
    public int ChunksPerPull { get; init; } = 10;
    public Func<long, string>? Payload { get; init; }

    /// <summary>As a real transactional source (a queue with acks): what fails is emitted again, and the source finishes only once everything was acked.</summary>
    public bool ReplayFailed { get; init; }

    /// <summary>
    /// As a broker with a prefetch window: at most this many events unsettled; with the window full a pull waits until
    /// the runtime cancels it, for only an ack or fail opens the window again.
    /// </summary>
    public int? Window { get; init; }

    public int ConnectAttempts;
    public long Pulls;
    public long Emitted;
    public readonly ConcurrentBag<ulong> Acked = [];
    public readonly ConcurrentBag<ulong> Failed = [];

    public IConnector Create(ConnectorContext context) => new Source(this);

    private sealed class Source(TestSourceFactory f) : ConnectorBase, ISource
    {
        private readonly List<byte[]> _keep = [];
        private readonly Dictionary<ulong, byte[]> _unacked = [];
        private readonly Queue<byte[]> _replay = new();

        public bool IsTransactional => f.Transactional;

        public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref f.ConnectAttempts);
            return ValueTask.FromResult(n > f.FailConnects);
        }

        private int _unsettled;

        public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref f.Pulls);
            _keep.Clear();
            if (f.Window is { } window && _unsettled >= window)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return Emit(batch);
        }

        private PullStatus Emit(SourceBatch batch)
        {
            for (var i = 0; i < f.ChunksPerPull && !batch.IsFull && !(f.Window is { } w && _unsettled >= w); i++)
            {
                byte[] bytes;
                lock (_unacked)
                {
                    if (!_replay.TryDequeue(out bytes!))
                    {
                        if (f.Total is { } total && f.Emitted >= total) return Done(batch);
                        var n = f.Emitted++;
                        bytes = Encoding.UTF8.GetBytes(f.Payload?.Invoke(n) ?? $"{{\"n\":{n}}}");
                    }
                    _keep.Add(bytes);
                    var id = batch.Add(bytes);
                    if (f.ReplayFailed) _unacked[id] = bytes;
                    _unsettled++;
                }
            }
            return f.Total is { } t && f.Emitted >= t && !f.ReplayFailed ? PullStatus.Finished : PullStatus.Data;
        }

        private PullStatus Done(SourceBatch batch)
        {
            if (!f.ReplayFailed) return PullStatus.Finished;
            // Everything was emitted; finished only once nothing can come back to be replayed.
            return _unacked.Count == 0 && _replay.Count == 0 ? PullStatus.Finished : batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
        }

        public void Ack(ulong streamId, ulong pullId)
        {
            f.Acked.Add(pullId);
            _unsettled--;
            lock (_unacked) _unacked.Remove(pullId);
        }

        public void Fail(ulong streamId, ulong pullId)
        {
            f.Failed.Add(pullId);
            _unsettled--;
            lock (_unacked)
            {
                if (_unacked.Remove(pullId, out var bytes)) _replay.Enqueue(bytes);
            }
        }
    }
}

/// <summary>A scriptable sink: records the value of field <c>n</c> of every event it accepted; can throw, fail or wait on a gate.</summary>
public sealed class TestSinkFactory : IConnectorFactory
{
    public TestSinkFactory(string type = "test-sink") => Type = type;

    public string Type { get; }
    public string Description => "test sink";
    public ConnectorKinds Kinds => ConnectorKinds.Sink;
    public string? DefaultCodec => "json";

    /// <summary>Batch calls (1-based) on which the sink throws instead of accepting.</summary>
    public HashSet<int> ThrowOn { get; init; } = [];
    public bool AlwaysThrow { get; init; }

    /// <summary>Throws on any batch holding an event whose <c>n</c> is in this set (a poison event).</summary>
    public HashSet<long> PoisonOn { get; init; } = [];
    public bool FailAll { get; init; }

    /// <summary>Batch calls (1-based) the sink answers as full: it took nothing (PDK 1.3).</summary>
    public HashSet<int> FullOn { get; init; } = [];

    /// <summary>Batch calls (1-based) the sink answers as failed.</summary>
    public HashSet<int> FailOn { get; init; } = [];

    /// <summary>Every payload's bytes, per call (1-based), when <see cref="KeepPayloads"/> is set.</summary>
    public readonly ConcurrentQueue<(int Call, string Payload)> Payloads = new();
    public bool KeepPayloads { get; init; }

    /// <summary>When set, every batch waits for one release of this semaphore.</summary>
    public SemaphoreSlim? Gate { get; init; }

    /// <summary>Calls (counted from 1) that throw once past the gate: the plugin dies in the middle of the call.</summary>
    public HashSet<int> ThrowAfterGateOn { get; init; } = [];

    /// <summary>When set, connecting waits for one release of this semaphore (batches gather in the outbox meanwhile).</summary>
    public SemaphoreSlim? ConnectGate { get; init; }

    /// <summary>Every connect fails (as a client whose server is not there).</summary>
    public bool NeverConnects { get; init; }

    public int Calls;
    public int Instances;
    public int Ends;
    /// <summary>The most events one batch brought.</summary>
    public int MaxBatch;
    /// <summary>Every event received, in order, when <see cref="KeepEvents"/> is set.</summary>
    public readonly ConcurrentQueue<Event> Events = new();
    public bool KeepEvents { get; init; }
    public readonly ConcurrentDictionary<long, int> Received = new();
    public long ReceivedCount => Received.Count;

    public IConnector Create(ConnectorContext context)
    {
        Interlocked.Increment(ref Instances);
        return new Sink(this);
    }

    private sealed class Sink(TestSinkFactory f) : ConnectorBase, ISink
    {
        public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
        {
            if (f.ConnectGate is { } gate) await gate.WaitAsync(cancellationToken);
            return !f.NeverConnects;
        }

        public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref f.Calls);
            if (f.AlwaysThrow || f.ThrowOn.Contains(call)) throw new InvalidOperationException($"test sink broke on call {call}");
            foreach (var e in batch.Events)
            {
                if (e.Event.Data["n"].TryGetI64(out var p) && f.PoisonOn.Contains(p)) throw new InvalidOperationException($"poison event n={p}");
            }
            if (f.Gate is { } gate) await gate.WaitAsync(cancellationToken);
            if (f.ThrowAfterGateOn.Contains(call)) throw new InvalidOperationException($"test sink broke in call {call}");
            if (f.FullOn.Contains(call)) return SinkReply.Full($"test sink is full on call {call}");
            if (batch.Count > f.MaxBatch) f.MaxBatch = batch.Count;
            foreach (var e in batch.Events)
            {
                if (f.KeepPayloads) f.Payloads.Enqueue((call, Encoding.UTF8.GetString(e.Payload.Span)));
                if (f.KeepEvents) f.Events.Enqueue(e.Event);
                // Error events (quarantine) carry the original event under "event".
                var data = e.Event.Data["event"].IsNull ? e.Event.Data : e.Event.Data["event"];
                data["n"].TryGetI64(out var n);
                f.Received.AddOrUpdate(n, 1, (_, c) => c + 1);
            }
            if (f.FailOn.Contains(call)) return SinkReply.Failed($"test sink fails call {call}");
            return f.FailAll ? SinkReply.Failed("test sink fails everything") : SinkReply.Acked;
        }

        public ValueTask OnEndAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref f.Ends);
            return ValueTask.CompletedTask;
        }
    }
}
