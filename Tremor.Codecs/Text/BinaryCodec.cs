using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>binary</c> codec: an event's bytes become a bytes value unchanged. Encoding writes bytes as they are, a string
/// as its UTF-8, and any other value as its JSON text.
/// </summary>
public sealed class BinaryCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "binary";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        value = Value.From(data.ToArray());
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        switch (value.Kind)
        {
            case ValueKind.Bytes:
                output.Write(value.AsBytes());
                break;
            case ValueKind.String:
                if (value.TryGetUtf8(out var utf8)) output.Write(utf8);
                else StringCodec.WriteUtf8(value.AsString()!, output);
                break;
            default:
                JsonEncoder.Encode(value, output);
                break;
        }
    }
}
