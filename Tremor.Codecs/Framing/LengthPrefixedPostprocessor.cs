using System.Buffers;
using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>The <c>length-prefixed</c> postprocessor: writes each event as a 4-byte big-endian length then its bytes.</summary>
public sealed class LengthPrefixedPostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "length-prefixed";

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        var span = output.GetSpan(4 + data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)data.Length);
        data.CopyTo(span[4..]);
        output.Advance(4 + data.Length);
        error = null;
        return true;
    }
}
