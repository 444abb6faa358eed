using System.Buffers;

namespace Tremor.Codecs;

/// <summary>A read-only stream over memory the caller points it at, reused chunk after chunk instead of a new <see cref="MemoryStream"/> each time.</summary>
internal sealed class ReadOnlyMemoryStream : Stream
{
    private ReadOnlyMemory<byte> _data;
    private int _position;

    /// <summary>Makes the stream read <paramref name="data"/> from its start.</summary>
    public void Reset(ReadOnlyMemory<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _data.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _data.Length - _position);
        _data.Span.Slice(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override int ReadByte() => _position < _data.Length ? _data.Span[_position++] : -1;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A write-only stream appending to the <see cref="IBufferWriter{T}"/> the caller points it at, so stream-based encoders write straight into the sink's buffer.</summary>
internal sealed class BufferWriterStream : Stream
{
    private IBufferWriter<byte>? _output;

    /// <summary>Makes the stream append to <paramref name="output"/>.</summary>
    public void Reset(IBufferWriter<byte>? output) => _output = output;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => (_output ?? throw new InvalidOperationException("No output set.")).Write(buffer);

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
