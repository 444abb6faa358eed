using System.Diagnostics;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>The events a payload carries, by their number in the order they entered the chain; empty when <see cref="First"/> &gt; <see cref="Last"/>.</summary>
/// <param name="First">The first event carried.</param>
/// <param name="Last">The last event carried.</param>
public readonly record struct CarriedRange(long First, long Last)
{
    /// <summary>No event (a stream's trailer).</summary>
    public static CarriedRange None => new(0, -1);

    /// <summary>True when no event is carried.</summary>
    public bool IsEmpty => First > Last;

    /// <summary>The events of both (ranges stay contiguous: every postprocessor keeps the order of its input).</summary>
    public CarriedRange Union(CarriedRange other) =>
        IsEmpty ? other : other.IsEmpty ? this : new(Math.Min(First, other.First), Math.Max(Last, other.Last));
}

/// <summary>What a <see cref="PayloadChain"/> call produced: complete payloads (back to back in <see cref="Bytes"/>) and failures.</summary>
public sealed class ChainOutput
{
    private readonly PooledBufferWriter _bytes = new(4096);

    /// <summary>The payloads, in order: where their bytes are and which events they carry.</summary>
    public List<(int Start, int Length, CarriedRange Carries)> Payloads { get; } = [];

    /// <summary>Events a postprocessor refused, with the reason naming it.</summary>
    public List<(CarriedRange Events, string Reason)> Failures { get; } = [];

    /// <summary>The bytes of <see cref="Payloads"/>, valid until the next <see cref="Reset"/>.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes.WrittenMemory;

    /// <summary>Forgets what the last call produced.</summary>
    public void Reset()
    {
        _bytes.Reset();
        Payloads.Clear();
        Failures.Clear();
    }

    internal void Add(ReadOnlySpan<byte> payload, CarriedRange carries)
    {
        var start = _bytes.WrittenCount;
        payload.CopyTo(_bytes.GetSpan(payload.Length));
        _bytes.Advance(payload.Length);
        Payloads.Add((start, payload.Length, carries));
    }
}

/// <summary>
/// Runs encoded events through postprocessors of which some are <see cref="IPayloadPostprocessor"/>s: each stage writes
/// into a <see cref="IPayloadWriter"/> of its own, whose ended payloads are the next stage's inputs, and whose open
/// payload is what that stage holds. Every payload knows the events it carries (which inputs wrote into it), so the
/// runtime can settle an event once the payloads that carried it were delivered. A plain <see cref="IPostprocessor"/>
/// in the chain makes one payload per input. Not thread-safe: one chain per sink stream.
/// </summary>
public sealed class PayloadChain
{
    private readonly IPostprocessor[] _stages;
    private readonly string[] _names;
    private readonly StageWriter[] _writers;
    private readonly Func<TimeSpan> _clock;
    private ulong _lastIngestNs;

    /// <summary>A chain of <paramref name="stages"/> (in order, with the names errors use) on the monotonic clock, or <paramref name="clock"/>.</summary>
    public PayloadChain(IReadOnlyList<(IPostprocessor Processor, string Name)> stages, Func<TimeSpan>? clock = null)
    {
        _stages = stages.Select(s => s.Processor).ToArray();
        _names = stages.Select(s => s.Name).ToArray();
        _clock = clock ?? (static () => Stopwatch.GetElapsedTime(0));
        _writers = _stages.Select(_ => new StageWriter(_clock)).ToArray();
    }

    /// <summary>True when a chain of these postprocessors needs this class: one of them is an <see cref="IPayloadPostprocessor"/>.</summary>
    public static bool IsNeeded(IEnumerable<IPostprocessor> stages) => stages.Any(static s => s is IPayloadPostprocessor);

    /// <summary>The first event some stage still holds, or <see cref="long.MaxValue"/>: every event before it is in a complete payload (or failed).</summary>
    public long HeldFrom
    {
        get
        {
            var from = long.MaxValue;
            foreach (var w in _writers)
            {
                if (!w.OpenRange.IsEmpty) from = Math.Min(from, w.OpenRange.First);
            }
            return from;
        }
    }

    /// <summary>How long until the first stage's <see cref="IPayloadPostprocessor.MaxHold"/> runs out; null when nothing held has a deadline.</summary>
    public TimeSpan? FlushDueIn()
    {
        TimeSpan? due = null;
        var now = _clock();
        for (var s = 0; s < _stages.Length; s++)
        {
            if (Deadline(s) is not { } deadline) continue;
            var left = deadline - now;
            if (left < TimeSpan.Zero) left = TimeSpan.Zero;
            if (due is null || left < due) due = left;
        }
        return due;
    }

    /// <summary>Runs event number <paramref name="number"/> (numbers rise by one per event) through the chain.</summary>
    public void Process(ReadOnlySpan<byte> data, long number, ulong ingestNs, ChainOutput output)
    {
        _lastIngestNs = ingestNs;
        Run(0, data, ingestNs, new CarriedRange(number, number), output);
    }

    /// <summary>
    /// Flushes the stages whose hold ran out (<paramref name="endOfStream"/> false: the timer), or every stage in order
    /// with their stream's end (<paramref name="endOfStream"/> true: the sink drains), so what one stage lets go
    /// passes through the stages after it.
    /// </summary>
    public void Flush(bool endOfStream, ChainOutput output)
    {
        var now = _clock();
        for (var s = 0; s < _stages.Length; s++)
        {
            var w = _writers[s];
            if (!endOfStream && !(Deadline(s) is { } deadline && deadline <= now)) continue;
            var before = w.Begin(CarriedRange.None);
            var ok = true;
            string? error = null;
            if (_stages[s] is IPayloadPostprocessor p)
            {
                try
                {
                    ok = p.TryFlush(w, endOfStream, out error);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    (ok, error) = (false, e.Message);
                }
            }
            if (!ok)
            {
                w.Rollback(before);
                output.Failures.Add((w.OpenRange, $"postprocessor '{_names[s]}' could not flush: {error}"));
                w.DiscardOpen();
            }
            if (w.IsOpen) w.EndPayload();
            Forward(s, _lastIngestNs, output);
        }
    }

    private TimeSpan? Deadline(int s) =>
        _stages[s] is IPayloadPostprocessor { MaxHold: { } hold } && _writers[s].OpenedAt is { } opened ? opened + hold : null;

    private void Run(int s, ReadOnlySpan<byte> data, ulong ingestNs, CarriedRange carries, ChainOutput output)
    {
        if (s == _stages.Length)
        {
            output.Add(data, carries);
            return;
        }
        var w = _writers[s];
        var before = w.Begin(carries);
        bool ok;
        string? error;
        try
        {
            if (_stages[s] is IPayloadPostprocessor p)
            {
                ok = p.TryProcess(data, ingestNs, w, out error);
            }
            else
            {
                ok = _stages[s].TryProcess(data, ingestNs, w, out error);
                if (ok)
                {
                    // One payload per input, also an empty one: the event is carried even when it made no bytes.
                    w.Advance(0);
                    w.EndPayload();
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            (ok, error) = (false, e.Message);
        }
        w.EndInput();
        if (!ok)
        {
            w.Rollback(before);
            output.Failures.Add((carries, $"postprocessor '{_names[s]}': {error}"));
            return;
        }
        Forward(s, ingestNs, output);
    }

    /// <summary>Hands what stage <paramref name="s"/> ended to the next stage; its buffer then keeps only the open payload.</summary>
    private void Forward(int s, ulong ingestNs, ChainOutput output)
    {
        var w = _writers[s];
        if (w.Ended.Count == 0) return;
        foreach (var (start, length, carries) in w.Ended)
        {
            // The next stage writes into its own writer, so this stage's buffer stays put meanwhile.
            Run(s + 1, w.Bytes.Slice(start, length), ingestNs, carries, output);
        }
        w.Compact();
    }

    /// <summary>One stage's writer: ended payloads not yet forwarded, then the open payload, in one pooled buffer.</summary>
    private sealed class StageWriter(Func<TimeSpan> clock) : IPayloadWriter
    {
        private readonly PooledBufferWriter _buffer = new(4096);
        private int _openStart;
        private CarriedRange _current = CarriedRange.None;

        public List<(int Start, int Length, CarriedRange Carries)> Ended { get; } = [];

        public CarriedRange OpenRange { get; private set; } = CarriedRange.None;

        public TimeSpan? OpenedAt { get; private set; }

        public ReadOnlySpan<byte> Bytes => _buffer.WrittenSpan;

        public int OpenLength => _buffer.WrittenCount - _openStart;

        public bool IsOpen => OpenLength > 0 || !OpenRange.IsEmpty;

        public void Advance(int count)
        {
            var wasOpen = IsOpen;
            _buffer.Advance(count);
            if (_current.IsEmpty) return;
            if (!wasOpen || OpenedAt is null) OpenedAt = clock();
            OpenRange = OpenRange.Union(_current);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

        public void EndPayload()
        {
            // Nothing written and no event carried: there is no payload to end.
            if (!IsOpen) return;
            Ended.Add((_openStart, OpenLength, OpenRange));
            _openStart = _buffer.WrittenCount;
            OpenRange = CarriedRange.None;
            OpenedAt = null;
        }

        /// <summary>The next writes are for <paramref name="carries"/>; returns the state to roll back to.</summary>
        public Snapshot Begin(CarriedRange carries)
        {
            _current = carries;
            return new Snapshot(_openStart, _buffer.WrittenCount, OpenRange, OpenedAt, Ended.Count);
        }

        public void EndInput() => _current = CarriedRange.None;

        public void Rollback(Snapshot s)
        {
            _current = CarriedRange.None;
            _openStart = s.OpenStart;
            _buffer.Truncate(s.Written);
            OpenRange = s.OpenRange;
            OpenedAt = s.OpenedAt;
            Ended.RemoveRange(s.Ended, Ended.Count - s.Ended);
        }

        public void DiscardOpen()
        {
            _buffer.Truncate(_openStart);
            OpenRange = CarriedRange.None;
            OpenedAt = null;
        }

        /// <summary>Forgets the forwarded payloads and moves the open one to the front.</summary>
        public void Compact()
        {
            Ended.Clear();
            var open = OpenLength;
            if (_openStart > 0 && open > 0)
            {
                // The array stays the same (it already holds more than this), and CopyTo is a memmove.
                var held = _buffer.WrittenSpan.Slice(_openStart, open);
                _buffer.Reset();
                held.CopyTo(_buffer.GetSpan(open));
                _buffer.Advance(open);
            }
            else if (open == 0)
            {
                _buffer.Reset();
            }
            _openStart = 0;
        }

        public readonly record struct Snapshot(int OpenStart, int Written, CarriedRange OpenRange, TimeSpan? OpenedAt, int Ended);
    }
}
