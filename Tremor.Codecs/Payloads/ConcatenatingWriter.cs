using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>An <see cref="IPayloadWriter"/> that writes payloads back to back into a plain buffer: for a caller of the one-payload form.</summary>
internal sealed class ConcatenatingWriter(IBufferWriter<byte> output) : IPayloadWriter
{
    private int _open;

    public int OpenLength => _open;

    public void Advance(int count)
    {
        output.Advance(count);
        _open += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => output.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => output.GetSpan(sizeHint);

    public void EndPayload() => _open = 0;
}
