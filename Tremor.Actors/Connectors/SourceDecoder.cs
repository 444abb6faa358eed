using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
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
    // What the parallel path decodes: a chunk's bytes, or a frame copied into _frameBytes.
    private ReadOnlyMemory<byte>[] _inputs = new ReadOnlyMemory<byte>[256];
    // Whether an input is memory that never changes (a slice of a chunk the source added with AddImmutable), so the
    // codec may keep slices of it in the value.
    private bool[] _immutable = new bool[256];
    private Frame[] _frames = new Frame[256];
    private byte[] _frameBytes = new byte[64 * 1024];
    private readonly DecodeHelpers _helpers;
    private readonly IReadOnlyList<(IPreprocessorFactory Factory, PluginConfig Config)> _preprocessors;
    private readonly Dictionary<ulong, StreamState> _streams = [];
    private readonly List<ReadOnlyMemory<byte>> _a = new(64);
    private readonly List<ReadOnlyMemory<byte>> _b = new(64);
    private readonly string _alias;
    private ulong _sequence;

    /// <summary>A decoder for one source connector.</summary>
    /// <remarks>
    /// With <paramref name="secondCodec"/> (another instance of the same codec), large batches are decoded by two
    /// threads: decoding is the most expensive step of a source. The second thread is taken from
    /// <paramref name="helpers"/>, the runtime's bound on them, so sources together never run more decode threads
    /// than there are cores (a private bound of two decode threads when none is given).
    /// </remarks>
    public SourceDecoder(string alias, uint sourceId, bool transactional, ICodec? codec, IReadOnlyList<(IPreprocessorFactory, PluginConfig)> preprocessors, ICodec? secondCodec = null, DecodeHelpers? helpers = null)
    {
        _helpers = helpers ?? new DecodeHelpers(2);
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
        if (_secondCodec is not null && _codec is not null && batch.Count > 0 && AllPlainData(batch))
        {
            if (_preprocessors.Count > 0)
            {
                DecodeFramed(batch, events, errors);
                return;
            }
            if (batch.Count >= ParallelThreshold)
            {
                DecodePlain(batch, events, errors);
                return;
            }
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
                DecodeOne(chunk.Data, chunk.IsImmutable, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, events, errors);
                continue;
            }
            var stream = Stream(chunk.StreamId);
            if (!chunk.Meta.IsNull) stream.Meta = chunk.Meta;
            _a.Clear();
            _a.Add(chunk.Data);
            if (!RunChain(stream.Chain, 0, chunk.StreamId, chunk.PullId, ingest, chunk.Meta, errors)) continue;
            var whole = chunk.IsImmutable ? ArrayOf(chunk.Data) : default;
            foreach (var piece in _a) DecodeOne(piece, IsSliceOf(piece, whole), chunk.StreamId, chunk.PullId, ingest, chunk.Meta, events, errors, stream.Frames++);
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

    /// <summary>Chunks without preprocessors: each chunk is one event's bytes, decoded in place.</summary>
    private void DecodePlain(SourceBatch batch, List<Event> events, List<Event> errors)
    {
        var n = batch.Count;
        EnsureRoom(n);
        for (var i = 0; i < n; i++)
        {
            var chunk = batch[i];
            _inputs[i] = chunk.Data;
            _immutable[i] = chunk.IsImmutable;
        }
        DecodeInputs(n);
        var now = RuntimeServices.NowNs();
        for (var i = 0; i < n; i++)
        {
            var chunk = batch[i];
            Emit(i, chunk.StreamId, chunk.PullId, chunk.IngestNs == 0 ? now : chunk.IngestNs, chunk.Meta, chunk.Data, null, events, errors);
        }
    }

    /// <summary>
    /// Chunks through preprocessors (a <c>base64</c> line, a 64 KiB chunk that <c>separate</c> cuts into lines): the
    /// chains run here in order, since their state is per stream, and what they frame is decoded by two threads. A
    /// frame that is a slice of its chunk (most lines <c>separate</c> cuts from a socket read) is decoded where it
    /// lies: a chunk's bytes stay valid while its pull is decoded (<see cref="DecodePlain"/> decodes chunks in place
    /// too), and a preprocessor cannot change them. Any other frame may alias memory its preprocessor reuses on its
    /// next call, so it is copied into one buffer of this decoder first.
    /// </summary>
    private void DecodeFramed(SourceBatch batch, List<Event> events, List<Event> errors)
    {
        var now = RuntimeServices.NowNs();
        var frames = 0;
        var used = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var chunk = batch[i];
            var ingest = chunk.IngestNs == 0 ? now : chunk.IngestNs;
            var whole = ArrayOf(chunk.Data);
            var stream = Stream(chunk.StreamId);
            if (!chunk.Meta.IsNull) stream.Meta = chunk.Meta;
            _a.Clear();
            _a.Add(chunk.Data);
            // A preprocessor's error keeps its place among the frames: it becomes an err event in the same order as
            // when every chunk is decoded on one thread (its bytes copied: the preprocessor may reuse them).
            var chain = stream.Chain;
            for (var k = 0; k < chain.Length && _a.Count > 0; k++)
            {
                _b.Clear();
                foreach (var piece in _a)
                {
                    if (chain[k].TryProcess(piece, _b, out var error)) continue;
                    EnsureRoom(frames + 1);
                    _frames[frames++] = new Frame(chunk.StreamId, chunk.PullId, ingest, chunk.Meta, null, $"preprocessor '{_preprocessors[k].Factory.Name}': {error}", piece.ToArray());
                }
                _a.Clear();
                _a.AddRange(_b);
            }
            EnsureRoom(frames + _a.Count);
            foreach (var piece in _a)
            {
                var frame = new Frame(chunk.StreamId, chunk.PullId, ingest, chunk.Meta, stream.Frames++, null, default);
                if (IsSliceOf(piece, whole))
                {
                    frame = frame with { InPlace = piece, Immutable = chunk.IsImmutable };
                }
                else
                {
                    if (_frameBytes.Length < used + piece.Length) Array.Resize(ref _frameBytes, Math.Max(_frameBytes.Length * 2, used + piece.Length));
                    piece.Span.CopyTo(_frameBytes.AsSpan(used));
                    frame = frame with { Offset = used, Length = piece.Length };
                    used += piece.Length;
                }
                _frames[frames++] = frame;
            }
        }
        for (var i = 0; i < frames; i++)
        {
            ref readonly var f = ref _frames[i];
            _inputs[i] = f.PreprocessorError is not null ? ReadOnlyMemory<byte>.Empty
                : f.Length > 0 ? _frameBytes.AsMemory(f.Offset, f.Length)
                : f.InPlace;
            // A frame copied into _frameBytes is overwritten by the next pull's frames: never kept.
            _immutable[i] = f.Immutable;
        }
        // Few frames: the helper would cost more than it saves. A preprocessor error's slot decodes nothing (empty),
        // and what the codec said of it is dropped below.
        DecodeInputs(frames, parallel: frames >= ParallelThreshold);
        for (var i = 0; i < frames; i++)
        {
            var f = _frames[i];
            if (f.PreprocessorError is { } error)
            {
                errors.Add(ErrorEvent(f.StreamId, f.PullId, f.Ingest, error, f.FailedBytes, f.Meta));
                _decodeErrors[i] = null;
                _values[i] = default;
            }
            else
            {
                Emit(i, f.StreamId, f.PullId, f.Ingest, f.Meta, _inputs[i], f.Number, events, errors);
            }
            _frames[i] = default;
            _inputs[i] = default;
            _immutable[i] = false;
        }
    }

    /// <summary>
    /// A framed piece of a chunk waiting to be decoded (or a preprocessor's error in its place): a slice of its chunk
    /// (<see cref="InPlace"/>) or copied into the decoder's frame buffer (<see cref="Offset"/>, <see cref="Length"/>).
    /// </summary>
    private readonly record struct Frame(ulong StreamId, ulong PullId, ulong Ingest, Value Meta, ulong? Number, string? PreprocessorError, ReadOnlyMemory<byte> FailedBytes)
    {
        public ReadOnlyMemory<byte> InPlace { get; init; }

        /// <summary>True when <see cref="InPlace"/> lies in a chunk the source added as immutable.</summary>
        public bool Immutable { get; init; }

        public int Offset { get; init; }

        public int Length { get; init; }
    }

    /// <summary>The array a chunk's bytes lie in, or an empty segment when they are not in an array (then nothing is decoded in place).</summary>
    private static ArraySegment<byte> ArrayOf(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment) ? segment : default;

    /// <summary>Whether <paramref name="piece"/> lies within <paramref name="chunk"/>'s bytes (the same array, inside its range).</summary>
    private static bool IsSliceOf(ReadOnlyMemory<byte> piece, ArraySegment<byte> chunk) =>
        chunk.Array is not null
        && MemoryMarshal.TryGetArray(piece, out var segment)
        && ReferenceEquals(segment.Array, chunk.Array)
        && segment.Offset >= chunk.Offset
        && segment.Offset + segment.Count <= chunk.Offset + chunk.Count;

    private void EnsureRoom(int n)
    {
        if (_values.Length >= n) return;
        var size = Math.Max(n, _values.Length * 2);
        Array.Resize(ref _values, size);
        Array.Resize(ref _decodeErrors, size);
        Array.Resize(ref _inputs, size);
        Array.Resize(ref _immutable, size);
        Array.Resize(ref _frames, size);
    }

    /// <summary>The decoded value (or the codec's error) of input <paramref name="i"/> as an event, and its slot cleared.</summary>
    private void Emit(int i, ulong streamId, ulong pullId, ulong ingest, Value meta, ReadOnlyMemory<byte> data, ulong? frame, List<Event> events, List<Event> errors)
    {
        if (_decodeErrors[i] is { } error)
        {
            errors.Add(ErrorEvent(streamId, pullId, ingest, $"codec: {error}", data, meta, frame));
            _decodeErrors[i] = null;
        }
        else
        {
            events.Add(NewEvent(streamId, pullId, ingest, _values[i], meta));
        }
        _values[i] = default;
    }

    /// <summary>
    /// Decodes <c>_inputs[0..n)</c> into <c>_values</c> / <c>_decodeErrors</c>, on this thread and, when the runtime
    /// has a helper to spare (<see cref="DecodeHelpers"/>), on a second one.
    /// </summary>
    private void DecodeInputs(int n, bool parallel = true)
    {
        // The two threads claim inputs from one counter rather than a fixed half each: when the helper starts late
        // (both cores busy, as on a small machine under load) this thread decodes on instead of waiting, and a helper
        // that starts after all the work is claimed is not waited for. The state is per batch, so a helper of an
        // earlier batch that starts very late finds its own batch done.
        var shared = new SharedDecode(this, n);
        _helpers.Enter();
        try
        {
            var helped = parallel && _helpers.TryHelp(shared);
            DecodeShared(_codec!, shared);
            // The helper may still be decoding its last claim (a few inputs); one that has not started is not waited for.
            if (helped && Interlocked.CompareExchange(ref shared.Helper, HelperNotNeeded, HelperIdle) != HelperIdle)
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref shared.Helper) != HelperFinished) spin.SpinOnce(sleep1Threshold: -1);
                // A codec that throws on the helper throws here, as it would on this thread: the proxy fails.
                shared.Error?.Throw();
            }
        }
        finally
        {
            _helpers.Leave();
        }
    }

    private const int HelperIdle = 0;
    private const int HelperRunning = 1;
    private const int HelperNotNeeded = 2;
    private const int HelperFinished = 3;
    private const int ChunksPerClaim = 8;

    private void DecodeShared(ICodec codec, SharedDecode shared)
    {
        int from;
        while ((from = Interlocked.Add(ref shared.Next, ChunksPerClaim) - ChunksPerClaim) < shared.Count)
        {
            var to = Math.Min(from + ChunksPerClaim, shared.Count);
            for (var i = from; i < to; i++)
            {
                if (codec.TryDecode(_inputs[i], _immutable[i], out var value, out var error)) _values[i] = value;
                else _decodeErrors[i] = error ?? "could not decode";
            }
        }
    }

    /// <summary>One batch decoded by two threads: the next input to claim and whether the helper thread runs.</summary>
    private sealed class SharedDecode(SourceDecoder decoder, int count) : IDecodeWork
    {
        public readonly int Count = count;
        public int Next;
        public int Helper;
        public ExceptionDispatchInfo? Error;

        /// <summary>On the helper thread: its share, unless the decoder's own thread already claimed everything.</summary>
        public void Help()
        {
            if (Interlocked.CompareExchange(ref Helper, HelperRunning, HelperIdle) != HelperIdle) return;
            try
            {
                decoder.DecodeShared(decoder._secondCodec!, this);
            }
            catch (Exception e)
            {
                Error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                Volatile.Write(ref Helper, HelperFinished);
            }
        }
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
            // What a preprocessor flushes at a stream's end is its own buffer's, never kept.
            foreach (var piece in _a) DecodeOne(piece, false, streamId, ulong.MaxValue, now, stream.Meta, events, errors, stream.Frames++);
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

    private void DecodeOne(ReadOnlyMemory<byte> data, bool immutable, ulong streamId, ulong pullId, ulong ingest, Value meta, List<Event> events, List<Event> errors, ulong? frame = null)
    {
        if (_codec is null)
        {
            events.Add(NewEvent(streamId, pullId, ingest, Value.From(data.ToArray()), meta));
            return;
        }
        if (_codec.TryDecode(data, immutable, out var value, out var error))
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
