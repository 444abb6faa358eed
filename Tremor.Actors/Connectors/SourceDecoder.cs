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
    // The frames of the pull being decoded, and what each decoded to (indexed alike; kept between pulls).
    private ReadOnlyMemory<byte>[] _frames = new ReadOnlyMemory<byte>[256];
    private Value[] _values = new Value[256];
    private string?[] _decodeErrors = new string?[256];
    private int _frameCount;
    private readonly List<Work> _work = new(256);
    // Frames a preprocessor made in memory of its own, copied until the pull is decoded.
    private byte[] _kept = [];
    private int _keptUsed;
    private readonly IReadOnlyList<(IPreprocessorFactory Factory, PluginConfig Config)> _preprocessors;
    private readonly Dictionary<ulong, StreamState> _streams = [];
    private readonly List<ReadOnlyMemory<byte>> _a = new(64);
    private readonly List<ReadOnlyMemory<byte>> _b = new(64);
    private readonly string _alias;
    private ulong _sequence;

    /// <summary>A decoder for one source connector.</summary>
    /// <remarks>
    /// With <paramref name="secondCodec"/> (another instance of the same codec), a pull that brought many frames is
    /// decoded by two threads: decoding is the most expensive step of a source.
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
    /// <remarks>
    /// Two passes: the preprocessors (cheap, stateful per stream, so in order on this thread) cut the chunks into
    /// frames, then the codec decodes the frames, on two threads when there are many (decoding is the most expensive
    /// step of a source: a tcp_server's lines would otherwise all be decoded on this one thread). Events and errors
    /// come out in the order of the chunks either way.
    /// </remarks>
    public void Decode(SourceBatch batch, List<Event> events, List<Event> errors)
    {
        Begin();
        ulong now = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var chunk = batch[i];
            if (chunk.IsStreamEnd)
            {
                FinishStream(chunk.StreamId);
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
                _work.Add(new Work(chunk.IsError ? WorkKind.StructuredError : WorkKind.Structured, chunk.StreamId, chunk.PullId, ingest, chunk.Meta) { Structured = chunk.Structured });
                continue;
            }
            if (_preprocessors.Count == 0)
            {
                AddFrame(chunk.Data, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, frame: null);
                continue;
            }
            var stream = Stream(chunk.StreamId);
            if (!chunk.Meta.IsNull) stream.Meta = chunk.Meta;
            _a.Clear();
            _a.Add(chunk.Data);
            if (!RunChain(stream.Chain, 0, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, chunk.Data)) continue;
            // A frame that is a slice of the pulled chunk stays valid until the next pull; one in memory a
            // preprocessor owns is only promised until its next call, so it is copied before the next chunk runs.
            foreach (var piece in _a) AddFrame(Keep(piece, chunk.Data), chunk.StreamId, chunk.PullId, ingest, chunk.Meta, stream.Frames++);
        }
        Complete(events, errors);
    }

    private const int ParallelThreshold = 64;

    /// <summary>What one item of a pull becomes, in the pull's order: a frame to decode, an event as it is, or an error.</summary>
    private enum WorkKind : byte
    {
        Frame,
        Structured,
        StructuredError,
        PreprocessorError,
    }

    /// <summary>One item of a pull between the passes (<see cref="Input"/> indexes the frames to decode).</summary>
    private readonly record struct Work(WorkKind Kind, ulong StreamId, ulong PullId, ulong Ingest, Value Meta)
    {
        public Value Structured { get; init; }
        public int Input { get; init; }
        public ulong? Frame { get; init; }
        public string? Message { get; init; }
        public ReadOnlyMemory<byte> Raw { get; init; }
    }

    private void Begin()
    {
        _work.Clear();
        _frameCount = 0;
        _keptUsed = 0;
    }

    private void AddFrame(ReadOnlyMemory<byte> data, ulong streamId, ulong pullId, ulong ingest, Value meta, ulong? frame)
    {
        if (_frameCount == _frames.Length)
        {
            Array.Resize(ref _frames, _frames.Length * 2);
            Array.Resize(ref _values, _frames.Length);
            Array.Resize(ref _decodeErrors, _frames.Length);
        }
        _frames[_frameCount] = data;
        _work.Add(new Work(WorkKind.Frame, streamId, pullId, ingest, meta) { Input = _frameCount++, Frame = frame, Raw = data });
    }

    /// <summary>
    /// <paramref name="piece"/> itself when it lies inside <paramref name="pulled"/> (the source keeps that until the
    /// next pull), else a copy in this decoder's own block, valid until the next <see cref="Begin"/>.
    /// </summary>
    private ReadOnlyMemory<byte> Keep(ReadOnlyMemory<byte> piece, ReadOnlyMemory<byte> pulled)
    {
        if (piece.IsEmpty || pulled.Span.Overlaps(piece.Span, out var offset) && offset >= 0 && offset + piece.Length <= pulled.Length) return piece;
        if (_kept.Length - _keptUsed < piece.Length)
        {
            // The old block stays alive as long as frames of this pull point into it.
            _kept = new byte[Math.Max(KeptBlockSize, piece.Length)];
            _keptUsed = 0;
        }
        var copy = _kept.AsMemory(_keptUsed, piece.Length);
        piece.Span.CopyTo(copy.Span);
        _keptUsed += piece.Length;
        return copy;
    }

    private const int KeptBlockSize = 64 * 1024;

    /// <summary>Decodes the frames the first pass collected, then emits everything in order.</summary>
    private void Complete(List<Event> events, List<Event> errors)
    {
        if (_codec is not null && _frameCount > 0)
        {
            if (_secondCodec is not null && _frameCount >= ParallelThreshold) DecodeInParallel(_frameCount);
            else DecodeRange(_codec, 0, _frameCount);
        }
        foreach (var w in _work)
        {
            switch (w.Kind)
            {
                case WorkKind.Structured:
                    events.Add(NewEvent(w.StreamId, w.PullId, w.Ingest, w.Structured, w.Meta));
                    break;
                case WorkKind.StructuredError:
                    errors.Add(NewEvent(w.StreamId, w.PullId, w.Ingest, w.Structured, w.Meta));
                    break;
                case WorkKind.PreprocessorError:
                    errors.Add(ErrorEvent(w.StreamId, w.PullId, w.Ingest, w.Message!, w.Raw, w.Meta));
                    break;
                default:
                    if (_codec is null)
                    {
                        events.Add(NewEvent(w.StreamId, w.PullId, w.Ingest, Value.From(w.Raw.ToArray()), w.Meta));
                    }
                    else if (_decodeErrors[w.Input] is { } error)
                    {
                        errors.Add(ErrorEvent(w.StreamId, w.PullId, w.Ingest, $"codec: {error}", w.Raw, w.Meta, w.Frame));
                        _decodeErrors[w.Input] = null;
                    }
                    else
                    {
                        events.Add(NewEvent(w.StreamId, w.PullId, w.Ingest, _values[w.Input], w.Meta));
                    }
                    _values[w.Input] = default;
                    _frames[w.Input] = default;
                    break;
            }
        }
        _work.Clear();
    }

    private void DecodeRange(ICodec codec, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            if (codec.TryDecode(_frames[i], out var value, out var error)) _values[i] = value;
            else _decodeErrors[i] = error ?? "could not decode";
        }
    }

    private void DecodeInParallel(int n)
    {
        // The two threads claim frames from one counter rather than a fixed half each: when the helper starts late
        // (both cores busy, as on a small machine under load) this thread decodes on instead of waiting, and a helper
        // that starts after all the work is claimed is not waited for. The state is per batch, so a helper of an
        // earlier batch that starts very late finds its own batch done.
        var shared = new SharedDecode(n);
        var other = Task.Run(() =>
        {
            if (Interlocked.CompareExchange(ref shared.Helper, HelperRunning, HelperIdle) == HelperIdle) DecodeShared(_secondCodec!, shared);
        });
        DecodeShared(_codec!, shared);
        if (Interlocked.CompareExchange(ref shared.Helper, HelperNotNeeded, HelperIdle) == HelperRunning) other.GetAwaiter().GetResult();
    }

    private const int HelperIdle = 0;
    private const int HelperRunning = 1;
    private const int HelperNotNeeded = 2;
    private const int ChunksPerClaim = 8;

    private void DecodeShared(ICodec codec, SharedDecode shared)
    {
        int from;
        while ((from = Interlocked.Add(ref shared.Next, ChunksPerClaim) - ChunksPerClaim) < shared.Count)
        {
            DecodeRange(codec, from, Math.Min(from + ChunksPerClaim, shared.Count));
        }
    }

    /// <summary>One batch decoded by two threads: the next frame to claim and whether the helper thread runs.</summary>
    private sealed class SharedDecode(int count)
    {
        public readonly int Count = count;
        public int Next;
        public int Helper;
    }

    /// <summary>Flushes every stream's preprocessors: the source finished, its data is complete.</summary>
    public void FinishAll(List<Event> events, List<Event> errors)
    {
        Begin();
        foreach (var stream in _streams.Keys.ToList()) FinishStream(stream);
        Complete(events, errors);
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

    private void FinishStream(ulong streamId)
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
            if (!RunChain(chain, k + 1, streamId, ulong.MaxValue, now, stream.Meta, default)) continue;
            foreach (var piece in _a) AddFrame(Keep(piece, default), streamId, ulong.MaxValue, now, stream.Meta, stream.Frames++);
        }
    }

    private bool RunChain(IPreprocessor[] chain, int from, ulong streamId, ulong pullId, ulong ingest, Value meta, ReadOnlyMemory<byte> pulled)
    {
        for (var k = from; k < chain.Length; k++)
        {
            _b.Clear();
            foreach (var piece in _a)
            {
                if (!chain[k].TryProcess(piece, _b, out var error))
                {
                    _work.Add(new Work(WorkKind.PreprocessorError, streamId, pullId, ingest, meta)
                    {
                        Message = $"preprocessor '{_preprocessors[k].Factory.Name}': {error}",
                        Raw = Keep(piece, pulled),
                    });
                }
            }
            _a.Clear();
            _a.AddRange(_b);
            if (_a.Count == 0) return false;
        }
        return true;
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
