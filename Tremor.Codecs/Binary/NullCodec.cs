using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>null</c> codec: every payload decodes to <c>null</c> and every event encodes to no bytes. Tremor's drops the
/// payload instead; the PDK's decoder has no "no event" answer, so the event stays, with nothing in it. Stateless.
/// </summary>
public sealed class NullCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "null";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        value = Value.Null;
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
    }
}
