using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Encodes events for a sink: codec, then postprocessors, all payloads back to back in a reused buffer. Owned
/// by the connector actor; used by one thread at a time; the batch <see cref="Encode"/> returns is valid until the
/// call after next (two buffers in turn: the next batch is encoded while the plugin still has the current one). A sink of
/// several streams (<see cref="IConnectorFactory.SinkStreamMeta"/>) gets a postprocessor chain per stream, so what
/// <c>collect</c> or <c>streaming-compress</c> holds for one connection never goes out on another.
/// </summary>
internal sealed class SinkEncoder
{
    private readonly ICodec _codec;
    private readonly IPostprocessor[] _postprocessors;
    private readonly string[] _postprocessorNames;
    // Two of each, used in turn: a pipelined sink has at most two encoded batches out (one in the call, one ready).
    private readonly PooledBufferWriter[] _buffers = [new(64 * 1024), new(64 * 1024)];
    private readonly List<SinkEvent>[] _eventLists = [new(256), new(256)];
    private int _turn;
    private readonly PooledBufferWriter _scratchA = new(4096);
    private readonly PooledBufferWriter _scratchB = new(4096);
    private readonly List<(int Start, int Length)> _spans = new(256);
    private readonly IReadOnlyList<(IPostprocessorFactory Factory, PluginConfig Config)> _postprocessorSpecs;
    private readonly Func<TimeSpan>? _clock;
    private readonly string[]? _streamMeta;
    /// <summary>How many ended sink streams are remembered, so replies that come after the end do not keep a chain.</summary>
    private const int EndedKept = 4096;

    private readonly Dictionary<Value, Stream> _streams = [];
    private readonly HashSet<Value> _ended = [];
    private readonly Queue<Value> _endedOrder = new();
    private readonly ChainOutput _chainOutput = new();
    private readonly PooledBufferWriter _staged = new(4096);
    private readonly List<(Event Event, string Reason)> _refused = new(1);
    private int _nextLane;

    /// <summary>
    /// An encoder with a codec and postprocessors (in order); <paramref name="streamMeta"/> is the metadata path naming
    /// an event's sink stream (null: the sink writes one stream).
    /// </summary>
    public SinkEncoder(ICodec codec, IReadOnlyList<(IPostprocessorFactory Factory, PluginConfig Config)> postprocessors, Func<TimeSpan>? clock = null, IReadOnlyList<string>? streamMeta = null)
    {
        _codec = codec;
        _postprocessorSpecs = postprocessors;
        _clock = clock;
        _streamMeta = streamMeta is { Count: > 0 } ? [.. streamMeta] : null;
        _postprocessors = postprocessors.Select(p => p.Factory.Create(p.Config)).ToArray();
        _postprocessorNames = postprocessors.Select(p => p.Factory.Name).ToArray();
        if (PayloadChain.IsNeeded(_postprocessors))
        {
            Ledger = new PayloadLedger();
            // A sink of one stream runs the postprocessors made above; one of several streams makes them per stream.
            if (_streamMeta is null) _streams[default] = new Stream(default, new PayloadChain(_postprocessors.Zip(_postprocessorNames).ToArray(), clock), _nextLane++);
        }
    }

    /// <summary>Sink streams with a postprocessor chain of their own now (1 for a sink of one stream).</summary>
    public int Streams => _streams.Count;

    /// <summary>
    /// Set when a postprocessor makes payloads that are not one per event (<see cref="IPayloadPostprocessor"/>): then
    /// events go through <see cref="Stage"/>, payloads go to the sink under payload ids, and this tells which events
    /// an answer settles. Null for the plain one-payload-per-event path (<see cref="Encode"/>).
    /// </summary>
    public PayloadLedger? Ledger { get; }

    /// <summary>How long until a postprocessor's hold runs out (flush then with <see cref="Flush"/>); null: no deadline.</summary>
    public TimeSpan? FlushDueIn
    {
        get
        {
            TimeSpan? due = null;
            foreach (var stream in _streams.Values)
            {
                if (stream.Chain.FlushDueIn() is { } d && (due is null || d < due)) due = d;
            }
            return due;
        }
    }

    /// <summary>
    /// Encodes <paramref name="events"/> (with the ack weight each carries) once, into payloads that the returned
    /// batch owns (kept for retries: a postprocessor with state cannot run twice over the same events). Events the
    /// codec refuses are listed in <paramref name="failed"/>; events settled already (refused by a postprocessor, or carried by no payload) in
    /// <paramref name="settled"/>. Only when <see cref="Ledger"/> is set.
    /// </summary>
    public SinkBatch Stage(Event[] events, long[]? weights, List<(Event Event, long Weight, string Reason)> failed, List<(Event Event, long Weight, string? Error)> settled)
    {
        var payloads = new List<(int Start, int Length, EventId Id, Event Event)>();
        _staged.Reset();
        var bytes = _staged;
        Stream? current = null;
        _chainOutput.Reset();
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            var weight = weights?[i] ?? 0;
            _scratchA.Reset();
            _refused.Clear();
            if (!TryEncode(e, _scratchA, _refused))
            {
                failed.Add((e, weight, _refused[0].Reason));
                continue;
            }
            var stream = StreamOf(e);
            if (current is not null && current != stream)
            {
                // Output stays in event order: what one stream's chain made goes out before the next stream's.
                Finish(current, payloads, bytes, settled);
                _chainOutput.Reset();
            }
            current = stream;
            stream.LastEvent = e;
            stream.Chain.Process(_scratchA.WrittenSpan, Ledger!.Register(e, weight, stream.Lane), e.IngestNs, _chainOutput);
        }
        if (current is not null) Finish(current, payloads, bytes, settled);
        return Batch(payloads, bytes);
    }

    /// <summary>
    /// Takes in what <paramref name="stream"/>'s chain made; a stream whose source side already ended (replies that
    /// came after the peer finished sending) is ended at once too, so nothing waits for it and its chain is dropped.
    /// </summary>
    private void Finish(Stream stream, List<(int Start, int Length, EventId Id, Event Event)> payloads, PooledBufferWriter bytes, List<(Event Event, long Weight, string? Error)> settled)
    {
        Staged(stream, payloads, bytes, settled);
        if (!_ended.Contains(stream.Key)) return;
        _chainOutput.Reset();
        End(stream, payloads, bytes, settled);
    }

    private void End(Stream stream, List<(int Start, int Length, EventId Id, Event Event)> payloads, PooledBufferWriter bytes, List<(Event Event, long Weight, string? Error)> settled)
    {
        _streams.Remove(stream.Key);
        stream.Chain.Flush(endOfStream: true, _chainOutput);
        Staged(stream, payloads, bytes, settled);
        Ledger!.CloseLane(stream.Lane);
    }

    private Stream StreamOf(Event e)
    {
        var key = default(Value);
        if (_streamMeta is not null)
        {
            key = e.Meta;
            foreach (var segment in _streamMeta) key = key[segment];
            key = StreamKey(key);
        }
        if (!_streams.TryGetValue(key, out var stream))
        {
            var postprocessors = _postprocessorSpecs.Select(p => (p.Factory.Create(p.Config), p.Factory.Name)).ToArray();
            _streams[key] = stream = new Stream(key, new PayloadChain(postprocessors, _clock), _nextLane++);
        }
        return stream;
    }

    /// <summary>A connection number is the same stream whether a pipeline kept it unsigned or made it signed.</summary>
    private static Value StreamKey(Value key) => key.TryGetU64(out var n) ? Value.From(n) : key;

    /// <summary>
    /// The sink stream <paramref name="key"/> (the value of <see cref="IConnectorFactory.SinkStreamMeta"/>) ended: what
    /// its postprocessors hold goes out with the stream's end (where the sink answers it, or fails it when the stream
    /// is gone), and its chain is dropped; so is the chain of every later event for it, once that event went through.
    /// Only when <see cref="Ledger"/> is set.
    /// </summary>
    public SinkBatch EndStream(Value key, List<(Event Event, long Weight, string? Error)> settled)
    {
        var payloads = new List<(int Start, int Length, EventId Id, Event Event)>();
        _staged.Reset();
        if (_streamMeta is null || key.IsNull) return Batch(payloads, _staged);
        key = StreamKey(key);
        if (_ended.Add(key))
        {
            // Connection numbers are not reused: only the recent ones can still get replies.
            _endedOrder.Enqueue(key);
            if (_endedOrder.Count > EndedKept) _ended.Remove(_endedOrder.Dequeue());
        }
        if (_streams.TryGetValue(key, out var stream))
        {
            _chainOutput.Reset();
            End(stream, payloads, _staged, settled);
        }
        return Batch(payloads, _staged);
    }

    /// <summary>
    /// What the postprocessors hold, as payloads: those whose hold ran out, or everything and the end of the stream
    /// (<paramref name="endOfStream"/>: the sink drains). Only when <see cref="Ledger"/> is set.
    /// </summary>
    public SinkBatch Flush(bool endOfStream, List<(Event Event, long Weight, string? Error)> settled)
    {
        var payloads = new List<(int Start, int Length, EventId Id, Event Event)>();
        _staged.Reset();
        var bytes = _staged;
        foreach (var stream in _streams.Values)
        {
            _chainOutput.Reset();
            stream.Chain.Flush(endOfStream, _chainOutput);
            Staged(stream, payloads, bytes, settled);
        }
        return Batch(payloads, bytes);
    }

    /// <summary>Takes what <paramref name="stream"/>'s chain made into <see cref="_chainOutput"/> into the ledger and the batch being built.</summary>
    private void Staged(Stream stream, List<(int Start, int Length, EventId Id, Event Event)> payloads, PooledBufferWriter bytes, List<(Event Event, long Weight, string? Error)> settled)
    {
        var ledger = Ledger!;
        foreach (var (range, reason) in _chainOutput.Failures) ledger.Fail(range, reason, stream.Lane);
        var offset = bytes.WrittenCount;
        var made = _chainOutput.Bytes.Span;
        made.CopyTo(bytes.GetSpan(made.Length));
        bytes.Advance(made.Length);
        foreach (var (start, length, carries) in _chainOutput.Payloads)
        {
            var (id, last) = ledger.AddPayload(carries, stream.Lane);
            // A payload carrying no event (a stream's trailer) goes where the stream's last event went.
            payloads.Add((offset + start, length, id, last ?? stream.LastEvent ?? new Event { Id = id }));
        }
        ledger.Release(stream.Chain.HeldFrom, settled, stream.Lane);
    }

    /// <summary>The payloads of one call as a batch that owns its bytes (kept for retries), back to back as a byte-stream sink writes them.</summary>
    private static SinkBatch Batch(List<(int Start, int Length, EventId Id, Event Event)> payloads, PooledBufferWriter bytes)
    {
        var owned = bytes.WrittenSpan.ToArray();
        var events = new List<SinkEvent>(payloads.Count);
        foreach (var (start, length, id, e) in payloads) events.Add(new SinkEvent(id, e.IngestNs, owned.AsMemory(start, length), e));
        return new SinkBatch(events, owned);
    }

    /// <summary>A sink stream's postprocessor chain, its lane in the ledger, and the last event it took (where a trailer goes).</summary>
    private sealed class Stream(Value key, PayloadChain chain, int lane)
    {
        public Value Key { get; } = key;

        public PayloadChain Chain { get; } = chain;

        public int Lane { get; } = lane;

        public Event? LastEvent { get; set; }
    }

    /// <summary>
    /// Encodes <paramref name="events"/>; events that fail a postprocessor are left out and listed in
    /// <paramref name="failed"/> with the reason.
    /// </summary>
    public SinkBatch Encode(Event[] events, List<(Event Event, string Reason)> failed) => Encode(events, failed, null, int.MaxValue, out _);

    /// <summary>
    /// Encodes <paramref name="events"/>, the batches of one coalesced call (<paramref name="partEnds"/>: where each
    /// ends), and keeps only as many whole batches as fit in <paramref name="maxBytes"/> (at least the first):
    /// <paramref name="parts"/> says how many, and the failures of the rest are taken out of <paramref name="failed"/>.
    /// </summary>
    public SinkBatch Encode(Event[] events, List<(Event Event, string Reason)> failed, IReadOnlyList<int>? partEnds, int maxBytes, out int parts)
    {
        var failedBefore = failed.Count;
        var batch = EncodeAll(events, failed);
        parts = partEnds?.Count ?? 1;
        if (partEnds is null || parts == 1 || batch.Bytes.Length <= maxBytes) return batch;
        // Payloads lie back to back in event order, and each event left out has one failure, in order: walk the
        // events once, counting what each prefix of batches holds.
        int encoded = 0, refused = 0, bytes = 0, i = 0;
        int keptEncoded = 0, keptRefused = 0, keptBytes = 0;
        for (var p = 0; p < partEnds.Count; p++)
        {
            for (; i < partEnds[p]; i++)
            {
                var (start, length) = _spans[i];
                if (start < 0)
                {
                    refused++;
                    continue;
                }
                encoded++;
                bytes = start + length;
            }
            if (p > 0 && bytes > maxBytes)
            {
                parts = p;
                break;
            }
            (keptEncoded, keptRefused, keptBytes) = (encoded, refused, bytes);
        }
        if (parts == partEnds.Count) return batch;
        var sinkEvents = (List<SinkEvent>)batch.Events;
        sinkEvents.RemoveRange(keptEncoded, sinkEvents.Count - keptEncoded);
        failed.RemoveRange(failedBefore + keptRefused, failed.Count - failedBefore - keptRefused);
        return new SinkBatch(sinkEvents, batch.Bytes[..keptBytes]);
    }

    private SinkBatch EncodeAll(Event[] events, List<(Event Event, string Reason)> failed)
    {
        _turn ^= 1;
        var buffer = _buffers[_turn];
        var sinkEvents = _eventLists[_turn];
        buffer.Reset();
        _spans.Clear();
        sinkEvents.Clear();
        foreach (var e in events)
        {
            var start = buffer.WrittenCount;
            if (_postprocessors.Length == 0)
            {
                if (!TryEncode(e, buffer, failed))
                {
                    buffer.Truncate(start);
                    _spans.Add((-1, 0));
                    continue;
                }
                _spans.Add((start, buffer.WrittenCount - start));
                continue;
            }
            _scratchA.Reset();
            if (!TryEncode(e, _scratchA, failed))
            {
                _spans.Add((-1, 0));
                continue;
            }
            var input = _scratchA;
            var output = _scratchB;
            string? error = null;
            for (var k = 0; k < _postprocessors.Length; k++)
            {
                var last = k == _postprocessors.Length - 1;
                var target = last ? buffer : output;
                if (!last) output.Reset();
                if (!_postprocessors[k].TryProcess(input.WrittenSpan, e.IngestNs, target, out var reason))
                {
                    error = $"postprocessor '{_postprocessorNames[k]}': {reason}";
                    break;
                }
                (input, output) = (output, input);
            }
            if (error is not null)
            {
                buffer.Truncate(start);
                failed.Add((e, error));
                _spans.Add((-1, 0));
                continue;
            }
            _spans.Add((start, buffer.WrittenCount - start));
        }
        var memory = buffer.WrittenMemory;
        for (var i = 0; i < events.Length; i++)
        {
            var (start, length) = _spans[i];
            if (start < 0) continue;
            var e = events[i];
            sinkEvents.Add(new SinkEvent(e.Id, e.IngestNs, memory.Slice(start, length), e));
        }
        return new SinkBatch(sinkEvents, memory);
    }

    /// <summary>
    /// A value the codec cannot write in its format (a record into graphite, a syslog event without a facility) fails
    /// that event with the codec's reason; the rest of the batch is still sent.
    /// </summary>
    private bool TryEncode(Event e, PooledBufferWriter output, List<(Event Event, string Reason)> failed)
    {
        try
        {
            _codec.Encode(e.Data, output);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failed.Add((e, ex is CodecEncodeException ? ex.Message : $"codec could not encode the event: {ex.Message}"));
            return false;
        }
    }
}
