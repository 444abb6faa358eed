using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Turns a source's chunks into events: per-stream preprocessor chains, then the codec. Bytes that cannot be
/// preprocessed or decoded become error events for the <c>err</c> port. Owned by the connector actor so its state
/// (partial lines, sequence numbers) survives a restart of the plugin instance; used by one thread at a time.
/// </summary>
internal sealed class SourceDecoder
{
    private readonly ICodec? _codec;
    private readonly ICodec? _secondCodec;
    private Value[] _values = new Value[256];
    private string?[] _decodeErrors = new string?[256];
    private readonly IReadOnlyList<(IPreprocessorFactory Factory, PluginConfig Config)> _preprocessors;
    private readonly Dictionary<ulong, StreamState> _streams = [];
    private readonly List<ReadOnlyMemory<byte>> _a = new(64);
    private readonly List<ReadOnlyMemory<byte>> _b = new(64);
    private readonly string _alias;
    private ulong _sequence;

    /// <summary>A decoder for one source connector.</summary>
    /// <remarks>
    /// With <paramref name="secondCodec"/> (another instance of the same codec), large batches of plain chunks are
    /// decoded by two threads, half each: decoding is the most expensive step of a source.
    /// </remarks>
    public SourceDecoder(string alias, uint sourceId, bool transactional, ICodec? codec, IReadOnlyList<(IPreprocessorFactory, PluginConfig)> preprocessors, ICodec? secondCodec = null)
    {
        _secondCodec = secondCodec;
        _alias = alias;
        SourceId = sourceId;
        Transactional = transactional;
        _codec = codec;
        _preprocessors = preprocessors;
    }

    /// <summary>The source's number in event ids.</summary>
    public uint SourceId { get; }

    /// <summary>Whether events want acks (set by the plugin proxy that uses this decoder, once its instance exists).</summary>
    public bool Transactional { get; set; }

    /// <summary>What a stream's preprocessors held when the source stopped: the start of a frame whose rest was never read.</summary>
    public readonly record struct UnfinishedFrame(ulong StreamId, long Bytes);

    /// <summary>Decodes every chunk of <paramref name="batch"/> into <paramref name="events"/> and <paramref name="errors"/>.</summary>
    public void Decode(SourceBatch batch, List<Event> events, List<Event> errors)
    {
        if (_secondCodec is not null && _preprocessors.Count == 0 && batch.Count >= ParallelThreshold && AllPlainData(batch))
        {
            DecodeInParallel(batch, events, errors);
            return;
        }
        ulong now = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var chunk = batch[i];
            if (chunk.IsStreamEnd)
            {
                FinishStream(chunk.StreamId, events, errors);
                continue;
            }
            var ingest = chunk.IngestNs;
            if (ingest == 0)
            {
                if (now == 0) now = RuntimeServices.NowNs();
                ingest = now;
            }
            if (chunk.IsStructured || _codec is null && _preprocessors.Count == 0 && chunk.Data.IsEmpty)
            {
                (chunk.IsError ? errors : events).Add(NewEvent(chunk.StreamId, chunk.PullId, ingest, chunk.Structured, chunk.Meta));
                continue;
            }
            if (_preprocessors.Count == 0)
            {
                DecodeOne(chunk.Data, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, events, errors);
                continue;
            }
            var stream = Stream(chunk.StreamId);
            if (!chunk.Meta.IsNull) stream.Meta = chunk.Meta;
            _a.Clear();
            _a.Add(chunk.Data);
            if (!RunChain(stream.Chain, 0, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, errors)) continue;
            foreach (var piece in _a) DecodeOne(piece, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, events, errors, stream.Frames++);
        }
    }

    private const int ParallelThreshold = 64;

    private static bool AllPlainData(SourceBatch batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var c = batch[i];
            if (c.IsStructured || c.IsStreamEnd) return false;
        }
        return true;
    }

    private void DecodeInParallel(SourceBatch batch, List<Event> events, List<Event> errors)
    {
        var n = batch.Count;
        if (_values.Length < n)
        {
            _values = new Value[n];
            _decodeErrors = new string?[n];
        }
        // The two threads claim chunks from one counter rather than a fixed half each: when the helper starts late
        // (both cores busy, as on a small machine under load) this thread decodes on instead of waiting, and a helper
        // that starts after all the work is claimed is not waited for. The state is per batch, so a helper of an
        // earlier batch that starts very late finds its own batch done.
        var shared = new SharedDecode(batch, n);
        var other = Task.Run(() =>
        {
            if (Interlocked.CompareExchange(ref shared.Helper, HelperRunning, HelperIdle) == HelperIdle) DecodeShared(_secondCodec!, shared);
        });
        DecodeShared(_codec!, shared);
        if (Interlocked.CompareExchange(ref shared.Helper, HelperNotNeeded, HelperIdle) == HelperRunning) other.GetAwaiter().GetResult();
        var now = RuntimeServices.NowNs();
        for (var i = 0; i < n; i++)
        {
            var chunk = batch[i];
            var ingest = chunk.IngestNs == 0 ? now : chunk.IngestNs;
            if (_decodeErrors[i] is { } error)
            {
                errors.Add(ErrorEvent(chunk.StreamId, chunk.PullId, ingest, $"codec: {error}", chunk.Data, chunk.Meta));
                _decodeErrors[i] = null;
            }
            else
            {
                events.Add(NewEvent(chunk.StreamId, chunk.PullId, ingest, _values[i], chunk.Meta));
            }
            _values[i] = default;
        }
    }

    private const int HelperIdle = 0;
    private const int HelperRunning = 1;
    private const int HelperNotNeeded = 2;
    private const int ChunksPerClaim = 8;

    private void DecodeShared(ICodec codec, SharedDecode shared)
    {
        var batch = shared.Batch;
        int from;
        while ((from = Interlocked.Add(ref shared.Next, ChunksPerClaim) - ChunksPerClaim) < shared.Count)
        {
            var to = Math.Min(from + ChunksPerClaim, shared.Count);
            for (var i = from; i < to; i++)
            {
                if (codec.TryDecode(batch[i].Data, out var value, out var error)) _values[i] = value;
                else _decodeErrors[i] = error ?? "could not decode";
            }
        }
    }

    /// <summary>One batch decoded by two threads: the next chunk to claim and whether the helper thread runs.</summary>
    private sealed class SharedDecode(SourceBatch batch, int count)
    {
        public readonly SourceBatch Batch = batch;
        public readonly int Count = count;
        public int Next;
        public int Helper;
    }

    /// <summary>Flushes every stream's preprocessors: the source finished, its data is complete.</summary>
    public void FinishAll(List<Event> events, List<Event> errors)
    {
        foreach (var stream in _streams.Keys.ToList()) FinishStream(stream, events, errors);
    }

    /// <summary>
    /// Forgets every stream without decoding what its preprocessors hold: the source stopped (a drain) before the
    /// end of its data, so a partial line is the start of one whose rest was not read, not an event. Returns what was
    /// dropped, for the log.
    /// </summary>
    public IReadOnlyList<UnfinishedFrame> Abandon()
    {
        List<UnfinishedFrame>? dropped = null;
        foreach (var (streamId, stream) in _streams)
        {
            long bytes = 0;
            foreach (var stage in stream.Chain)
            {
                _a.Clear();
                stage.Finish(_a);
                foreach (var piece in _a) bytes += piece.Length;
            }
            if (bytes > 0) (dropped ??= []).Add(new UnfinishedFrame(streamId, bytes));
        }
        _streams.Clear();
        _a.Clear();
        return dropped ?? (IReadOnlyList<UnfinishedFrame>)[];
    }

    private void FinishStream(ulong streamId, List<Event> events, List<Event> errors)
    {
        if (!_streams.Remove(streamId, out var stream)) return;
        var chain = stream.Chain;
        var now = RuntimeServices.NowNs();
        // Flush stage by stage: what stage k emits on finish still goes through stages k+1..n.
        for (var k = 0; k < chain.Length; k++)
        {
            _a.Clear();
            chain[k].Finish(_a);
            if (_a.Count == 0) continue;
            if (!RunChain(chain, k + 1, streamId, ulong.MaxValue, now, stream.Meta, errors)) continue;
            foreach (var piece in _a) DecodeOne(piece, streamId, ulong.MaxValue, now, stream.Meta, events, errors, stream.Frames++);
        }
    }

    private bool RunChain(IPreprocessor[] chain, int from, ulong streamId, ulong pullId, ulong ingest, Value meta, List<Event> errors)
    {
        for (var k = from; k < chain.Length; k++)
        {
            _b.Clear();
            foreach (var piece in _a)
            {
                if (!chain[k].TryProcess(piece, _b, out var error))
                {
                    errors.Add(ErrorEvent(streamId, pullId, ingest, $"preprocessor '{_preprocessors[k].Factory.Name}': {error}", piece, meta));
                }
            }
            _a.Clear();
            _a.AddRange(_b);
            if (_a.Count == 0) return false;
        }
        return true;
    }

    private void DecodeOne(ReadOnlyMemory<byte> data, ulong streamId, ulong pullId, ulong ingest, Value meta, List<Event> events, List<Event> errors, ulong? frame = null)
    {
        if (_codec is null)
        {
            events.Add(NewEvent(streamId, pullId, ingest, Value.From(data.ToArray()), meta));
            return;
        }
        if (_codec.TryDecode(data, out var value, out var error))
        {
            events.Add(NewEvent(streamId, pullId, ingest, value, meta));
        }
        else
        {
            errors.Add(ErrorEvent(streamId, pullId, ingest, $"codec: {error}", data, meta, frame));
        }
    }

    private StreamState Stream(ulong streamId)
    {
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            var chain = new IPreprocessor[_preprocessors.Count];
            for (var k = 0; k < chain.Length; k++) chain[k] = _preprocessors[k].Factory.Create(_preprocessors[k].Config);
            stream = new StreamState(chain);
            _streams[streamId] = stream;
        }
        return stream;
    }

    /// <summary>A framed stream: its preprocessor chain, the metadata of its last chunk (a connection's peer: what the
    /// chain flushes at the end gets it too), and how many frames it produced (an error's position).</summary>
    private sealed class StreamState(IPreprocessor[] chain)
    {
        public IPreprocessor[] Chain { get; } = chain;

        public Value Meta { get; set; }

        public ulong Frames { get; set; }
    }

    private Event NewEvent(ulong streamId, ulong pullId, ulong ingest, Value data, Value meta) => new()
    {
        Id = new EventId(SourceId, streamId, pullId, _sequence++),
        IngestNs = ingest,
        Data = data,
        Meta = meta,
        Transactional = Transactional,
    };

    /// <summary>
    /// An event for the <c>err</c> port: the reason, where (source, stream, pull, and the frame's number in its stream
    /// when preprocessors frame it: the line number from 0 with <c>separate</c>) and the bytes that failed, copied (the
    /// source reuses its buffers), so a dead-letter sink can keep and replay them. It keeps the chunk's metadata (e.g.
    /// which peer sent the bad bytes).
    /// </summary>
    private Event ErrorEvent(ulong streamId, ulong pullId, ulong ingest, string message, ReadOnlyMemory<byte> raw, Value meta, ulong? frame = null)
    {
        var record = new ValueRecord(6);
        record.Append("error", message);
        record.Append("source", _alias);
        record.Append("stream_id", Value.From(streamId));
        // A stream's last frames, flushed at its end, belong to no pull.
        if (pullId != ulong.MaxValue) record.Append("pull_id", Value.From(pullId));
        if (frame is { } f) record.Append("frame", Value.From(f));
        record.Append("raw", Value.From(raw.ToArray()));
        return new Event
        {
            Id = new EventId(SourceId, streamId, pullId, _sequence++),
            IngestNs = ingest,
            Data = Value.From(record),
            Meta = meta,
            Transactional = false,
        };
    }
}
