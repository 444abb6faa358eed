using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>ingest-ns</c> preprocessor: strips the 8-byte big-endian nanosecond timestamp that the <c>ingest-ns</c>
/// postprocessor puts in front of each chunk. Each chunk must be one prefixed payload, so frame the stream first
/// (e.g. <c>length-prefixed</c>); a chunk shorter than 8 bytes is an error.
/// </summary>
/// <remarks>
/// Tremor also makes that timestamp the event's ingest time. <see cref="IPreprocessor"/> returns bytes only and has no
/// way to hand a time back to the runtime, so the prefix is removed and the event keeps the ingest time its source
/// gave it.
/// </remarks>
public sealed class IngestNsPreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "ingest-ns";

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        if (data.Length < sizeof(ulong))
        {
            error = $"chunk of {data.Length} bytes is too short for the 8-byte ingest-ns prefix; on a byte stream, frame it first (e.g. preprocessors = [\"length-prefixed\", \"ingest-ns\"])";
            return false;
        }
        output.Add(data[sizeof(ulong)..]);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
    }
}
