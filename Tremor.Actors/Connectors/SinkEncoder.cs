using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// Encodes events for a sink: codec, then postprocessors, all payloads back to back in one reused buffer. Owned
/// by the connector actor; used by one thread at a time; the batch it returns is valid until the next call.
/// </summary>
public sealed class SinkEncoder
{
    private readonly ICodec _codec;
    private readonly IPostprocessor[] _postprocessors;
    private readonly string[] _postprocessorNames;
    private readonly PooledBufferWriter _buffer = new(64 * 1024);
    private readonly PooledBufferWriter _scratchA = new(4096);
    private readonly PooledBufferWriter _scratchB = new(4096);
    private readonly List<(int Start, int Length)> _spans = new(256);
    private readonly List<SinkEvent> _events = new(256);

    /// <summary>An encoder with a codec and postprocessors (in order).</summary>
    public SinkEncoder(ICodec codec, IReadOnlyList<(IPostprocessorFactory Factory, PluginConfig Config)> postprocessors)
    {
        _codec = codec;
        _postprocessors = postprocessors.Select(p => p.Factory.Create(p.Config)).ToArray();
        _postprocessorNames = postprocessors.Select(p => p.Factory.Name).ToArray();
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
