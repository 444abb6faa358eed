using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// What the length-prefixed preprocessors share: after a header that declares a length (read by the subclass, byte by
/// byte if it spans chunks), that many payload bytes are one frame. A frame inside one chunk is emitted as a slice of
/// the input; a frame that spans chunks is filled into a region of exactly its length and emitted once complete, so
/// it is copied once. A declared length over <c>max-length</c> is an error and that many bytes are skipped, which
/// keeps the stream in step when the sender was honest about a frame that is merely too large. A frame cut off by the
/// end of the stream is dropped (finishing has no way to report it). One instance per stream.
/// </summary>
public abstract class LengthFramePreprocessor : IPreprocessor
{
    /// <summary>The default <c>max-length</c>, the same bound as <c>separate</c>'s: 8 MiB.</summary>
    public const int DefaultMaxLength = SeparatePreprocessor.DefaultMaxLength;

    private readonly ByteArena _arena = new();
    private Memory<byte> _frame;
    private int _filled;
    private bool _inFrame;
    private long _skip;

    /// <summary>A preprocessor that refuses frames longer than <paramref name="maxLength"/> bytes.</summary>
    protected LengthFramePreprocessor(int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        MaxLength = maxLength;
    }

    /// <summary>The largest frame accepted.</summary>
    public int MaxLength { get; }

    /// <summary>How a header read ended.</summary>
    protected enum HeaderStatus
    {
        /// <summary>The chunk ended inside the header; the subclass keeps what it read.</summary>
        NeedMore,

        /// <summary>The header is complete: the frame length is known.</summary>
        Complete,

        /// <summary>The header is not one; the rest of the chunk is dropped.</summary>
        Malformed,
    }

    /// <summary>
    /// Reads header bytes from <paramref name="span"/> at <paramref name="position"/>, advancing it; on
    /// <see cref="HeaderStatus.Complete"/> sets <paramref name="length"/> and forgets the header for the next frame, on
    /// <see cref="HeaderStatus.Malformed"/> sets <paramref name="error"/> and forgets what was read.
    /// </summary>
    protected abstract HeaderStatus ReadHeader(ReadOnlySpan<byte> span, ref int position, out long length, out string? error);

    /// <summary>Forgets a partially read header (the stream ended).</summary>
    protected abstract void ResetHeader();

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        error = null;
        var errors = 0;
        var span = data.Span;
        var position = 0;
        while (position < span.Length)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, span.Length - position);
                _skip -= skipped;
                position += skipped;
                continue;
            }
            if (_inFrame)
            {
                var take = Math.Min(_frame.Length - _filled, span.Length - position);
                span.Slice(position, take).CopyTo(_frame.Span[_filled..]);
                _filled += take;
                position += take;
                if (_filled == _frame.Length)
                {
                    output.Add(_frame);
                    _frame = default;
                    _inFrame = false;
                }
                continue;
            }
            switch (ReadHeader(span, ref position, out var length, out var headerError))
            {
                case HeaderStatus.NeedMore:
                    continue;
                case HeaderStatus.Malformed:
                    Report(ref error, ref errors, $"{headerError} (byte {position - 1} of this chunk); the rest of this chunk is dropped");
                    return Done(ref error, errors);
            }
            if (length > MaxLength)
            {
                Report(ref error, ref errors, $"frame of {length} bytes exceeds max-length {MaxLength}; its bytes are skipped (raise max-length if frames this big are expected)");
                _skip = length;
                continue;
            }
            var frameLength = (int)length;
            if (span.Length - position >= frameLength)
            {
                output.Add(data.Slice(position, frameLength));
                position += frameLength;
                continue;
            }
            _frame = _arena.Allocate(frameLength);
            _filled = 0;
            _inFrame = true;
        }
        return Done(ref error, errors);
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
        _frame = default;
        _filled = 0;
        _inFrame = false;
        _skip = 0;
        ResetHeader();
    }

    private static void Report(ref string? error, ref int errors, string message)
    {
        if (errors++ == 0) error = message;
    }

    private static bool Done(ref string? error, int errors)
    {
        if (errors > 1) error += $" (and {errors - 1} more error(s) in this chunk)";
        return errors == 0;
    }
}
