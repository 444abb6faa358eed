using System.Buffers;
using System.Runtime.CompilerServices;

namespace Tremor.Codecs;

/// <summary>
/// A cursor over an <see cref="IBufferWriter{T}"/> that asks it for memory only when the current span runs out, so
/// encoders write small tokens without a call into the writer per token. Call <see cref="Flush"/> when done.
/// </summary>
internal ref struct Utf8Output
{
    private const int MinimumRequest = 4096;

    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _position;

    public Utf8Output(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _position = 0;
    }

    /// <summary>At least <paramref name="size"/> writable bytes at the cursor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Reserve(int size)
    {
        if (_span.Length - _position < size) Grow(size);
        return _span[_position..];
    }

    /// <summary>Moves the cursor past <paramref name="count"/> bytes written into the last reserved span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count) => _position += count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte b)
    {
        if (_position >= _span.Length) Grow(1);
        _span[_position++] = b;
    }

    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= MinimumRequest)
        {
            bytes.CopyTo(Reserve(bytes.Length));
            _position += bytes.Length;
            return;
        }
        Flush();
        _output.Write(bytes);
    }

    /// <summary>Commits everything written to the underlying writer.</summary>
    public void Flush()
    {
        if (_position > 0) _output.Advance(_position);
        _position = 0;
        _span = default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int size)
    {
        Flush();
        _span = _output.GetSpan(Math.Max(size, MinimumRequest));
    }
}
