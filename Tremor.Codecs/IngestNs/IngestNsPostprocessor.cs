using System.Buffers;
using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>ingest-ns</c> postprocessor: writes an 8-byte big-endian timestamp (nanoseconds since the Unix epoch) in
/// front of each event's bytes, for the <c>ingest-ns</c> preprocessor at the other end to strip.
/// </summary>
/// <remarks>
/// Tremor writes the event's ingest time. <see cref="IPostprocessor"/> is handed the encoded bytes only, not the
/// event, so the timestamp written here is the wall-clock time at which the event was postprocessed (its egress
/// time), the closest time this stage can know.
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
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        var nanoseconds = (ulong)(_clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        var span = output.GetSpan(sizeof(ulong) + data.Length);
        BinaryPrimitives.WriteUInt64BigEndian(span, nanoseconds);
        data.CopyTo(span[sizeof(ulong)..]);
        output.Advance(sizeof(ulong) + data.Length);
        error = null;
        return true;
    }
}
