using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Encodes events for a sink: codec, then postprocessors, all payloads back to back in one reused buffer. Owned
/// by the connector actor; used by one thread at a time; the batch it returns is valid until the next call.
/// </summary>
internal sealed class SinkEncoder
{
    private readonly ICodec _codec;
    private readonly IPostprocessor[] _postprocessors;
    private readonly string[] _postprocessorNames;
    private readonly PooledBufferWriter _buffer = new(64 * 1024);
    private readonly PooledBufferWriter _scratchA = new(4096);
    private readonly PooledBufferWriter _scratchB = new(4096);
    private readonly List<(int Start, int Length)> _spans = new(256);
    private readonly List<SinkEvent> _events = new(256);
    private readonly PayloadChain? _chain;
    private readonly ChainOutput _chainOutput = new();
    private readonly List<(Event Event, string Reason)> _refused = new(1);
    private Event? _lastEvent;

    /// <summary>An encoder with a codec and postprocessors (in order).</summary>
    public SinkEncoder(ICodec codec, IReadOnlyList<(IPostprocessorFactory Factory, PluginConfig Config)> postprocessors, Func<TimeSpan>? clock = null)
    {
        _codec = codec;
        _postprocessors = postprocessors.Select(p => p.Factory.Create(p.Config)).ToArray();
        _postprocessorNames = postprocessors.Select(p => p.Factory.Name).ToArray();
        if (PayloadChain.IsNeeded(_postprocessors))
        {
            _chain = new PayloadChain(_postprocessors.Zip(_postprocessorNames).ToArray(), clock);
            Ledger = new PayloadLedger();
        }
    }

    /// <summary>
    /// Set when a postprocessor makes payloads that are not one per event (<see cref="IPayloadPostprocessor"/>): then
    /// events go through <see cref="Stage"/>, payloads go to the sink under payload ids, and this tells which events
    /// an answer settles. Null for the plain one-payload-per-event path (<see cref="Encode"/>).
    /// </summary>
    public PayloadLedger? Ledger { get; }

    /// <summary>How long until a postprocessor's hold runs out (flush then with <see cref="Flush"/>); null: no deadline.</summary>
    public TimeSpan? FlushDueIn => _chain?.FlushDueIn();

    /// <summary>
    /// Encodes <paramref name="events"/> (with the ack weight each carries) once, into payloads that the returned
    /// batch owns (kept for retries: a postprocessor with state cannot run twice over the same events). Events the
    /// codec refuses are listed in <paramref name="failed"/>; events settled already (refused by a postprocessor, or carried by no payload) in
    /// <paramref name="settled"/>. Only when <see cref="Ledger"/> is set.
    /// </summary>
    public SinkBatch Stage(Event[] events, long[]? weights, List<(Event Event, long Weight, string Reason)> failed, List<(Event Event, long Weight, string? Error)> settled)
    {
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
            _lastEvent = e;
            _chain!.Process(_scratchA.WrittenSpan, Ledger!.Register(e, weight), e.IngestNs, _chainOutput);
        }
        return Staged(settled);
    }

    /// <summary>
    /// What the postprocessors hold, as payloads: those whose hold ran out, or everything and the end of the stream
    /// (<paramref name="endOfStream"/>: the sink drains). Only when <see cref="Ledger"/> is set.
    /// </summary>
    public SinkBatch Flush(bool endOfStream, List<(Event Event, long Weight, string? Error)> settled)
    {
        _chainOutput.Reset();
        _chain!.Flush(endOfStream, _chainOutput);
        return Staged(settled);
    }

    private SinkBatch Staged(List<(Event Event, long Weight, string? Error)> settled)
    {
        var ledger = Ledger!;
        foreach (var (range, reason) in _chainOutput.Failures) ledger.Fail(range, reason);
        var bytes = _chainOutput.Bytes.ToArray();
        var payloads = new List<SinkEvent>(_chainOutput.Payloads.Count);
        foreach (var (start, length, carries) in _chainOutput.Payloads)
        {
            var (id, last) = ledger.AddPayload(carries);
            // A payload carrying no event (a stream's trailer) goes where the last event went.
            var e = last ?? _lastEvent ?? new Event { Id = id };
            payloads.Add(new SinkEvent(id, e.IngestNs, bytes.AsMemory(start, length), e));
        }
        ledger.Release(_chain!.HeldFrom, settled);
        return new SinkBatch(payloads, bytes);
    }

    /// <summary>
    /// Encodes <paramref name="events"/>; events that fail a postprocessor are left out and listed in
    /// <paramref name="failed"/> with the reason.
    /// </summary>
    public SinkBatch Encode(Event[] events, List<(Event Event, string Reason)> failed)
    {
        _buffer.Reset();
        _spans.Clear();
        _events.Clear();
        foreach (var e in events)
        {
            var start = _buffer.WrittenCount;
            if (_postprocessors.Length == 0)
            {
                if (!TryEncode(e, _buffer, failed))
                {
                    _buffer.Truncate(start);
                    _spans.Add((-1, 0));
                    continue;
                }
                _spans.Add((start, _buffer.WrittenCount - start));
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
                var target = last ? _buffer : output;
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
                _buffer.Truncate(start);
                failed.Add((e, error));
                _spans.Add((-1, 0));
                continue;
            }
            _spans.Add((start, _buffer.WrittenCount - start));
        }
        var memory = _buffer.WrittenMemory;
        for (var i = 0; i < events.Length; i++)
        {
            var (start, length) = _spans[i];
            if (start < 0) continue;
            var e = events[i];
            _events.Add(new SinkEvent(e.Id, e.IngestNs, memory.Slice(start, length), e));
        }
        return new SinkBatch(_events, memory);
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
