using System.Buffers;
using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>ingest-ns</c> postprocessor: writes an 8-byte big-endian timestamp (nanoseconds since the Unix epoch) in
/// front of each event's bytes, for the <c>ingest-ns</c> preprocessor at the other end to strip.
/// </summary>
/// <remarks>
/// As in Tremor, the event's ingest time is written (the runtime passes it, PDK 1.1). Called without one (the
/// one-argument form, or an ingest time of 0), the wall-clock time of postprocessing is written instead.
/// </remarks>
public sealed class IngestNsPostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "ingest-ns";

    private readonly TimeProvider _clock;

    /// <summary>A postprocessor stamping the system clock's time.</summary>
    public IngestNsPostprocessor()
        : this(TimeProvider.System)
    {
    }

    /// <summary>A postprocessor stamping <paramref name="clock"/>'s time.</summary>
    public IngestNsPostprocessor(TimeProvider clock)
    {
        _clock = clock;
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error) =>
        TryProcess(data, 0, output, out error);

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IBufferWriter<byte> output, out string? error)
    {
        var nanoseconds = ingestNs != 0 ? ingestNs : (ulong)(_clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        var span = output.GetSpan(sizeof(ulong) + data.Length);
        BinaryPrimitives.WriteUInt64BigEndian(span, nanoseconds);
        data.CopyTo(span[sizeof(ulong)..]);
        output.Advance(sizeof(ulong) + data.Length);
        error = null;
        return true;
    }
}
