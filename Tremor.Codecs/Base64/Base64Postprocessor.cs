using System.Buffers;
using System.Buffers.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>The <c>base64</c> postprocessor: writes each event as standard base64 with '=' padding.</summary>
public sealed class Base64Postprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "base64";

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        const int Chunk = 48 * 1024;
        while (!data.IsEmpty)
        {
            var part = data[..Math.Min(Chunk, data.Length)];
            Base64.EncodeToUtf8(part, output.GetSpan(Base64.GetMaxEncodedToUtf8Length(part.Length)), out _, out var written);
            output.Advance(written);
            data = data[part.Length..];
        }
        error = null;
        return true;
    }
}
