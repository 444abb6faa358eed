using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Encoders;
using K4os.Hash.xxHash;

namespace Tremor.Codecs;

/// <summary>
/// Writes one LZ4 frame (the format <c>lz4</c> and <c>compress</c> use) event by event: linked 64 KiB blocks, so
/// each event's block can use the events before it, and a block cut at every flush, which the library's frame stream
/// does not do. The end mark closes the frame.
/// </summary>
internal sealed class Lz4FrameWriter(LZ4Level level) : IDisposable
{
    private const int BlockSize = 64 * 1024;

    private ILZ4Encoder? _encoder;

    /// <summary>Compresses <paramref name="data"/>; full blocks are written, the rest waits for more or a flush.</summary>
    public void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_encoder is null)
        {
            WriteHeader(output);
            _encoder = LZ4Encoder.Create(chaining: true, level, BlockSize);
        }
        while (!data.IsEmpty)
        {
            var target = output.GetSpan(4 + LZ4Codec.MaximumOutputSize(BlockSize));
            var action = _encoder.TopupAndEncode(data, target[4..], forceEncode: false, allowCopy: true, out var loaded, out var encoded);
            data = data[loaded..];
            Block(action, encoded, target, output);
        }
    }

    /// <summary>Writes what waits as a block of its own, so everything written so far can be decompressed.</summary>
    public void Flush(IBufferWriter<byte> output)
    {
        if (_encoder is null) return;
        var target = output.GetSpan(4 + LZ4Codec.MaximumOutputSize(BlockSize));
        var action = _encoder.FlushAndEncode(target[4..], allowCopy: true, out var encoded);
        Block(action, encoded, target, output);
    }

    /// <summary>Flushes and closes the frame; a later write starts a new one.</summary>
    public void End(IBufferWriter<byte> output)
    {
        if (_encoder is null) return;
        Flush(output);
        output.Write((ReadOnlySpan<byte>)[0, 0, 0, 0]);
        Dispose();
    }

    public void Dispose()
    {
        _encoder?.Dispose();
        _encoder = null;
    }

    private static void Block(EncoderAction action, int encoded, Span<byte> target, IBufferWriter<byte> output)
    {
        if (action is not (EncoderAction.Encoded or EncoderAction.Copied) || encoded == 0) return;
        // The high bit marks a block stored uncompressed (it did not get smaller).
        BinaryPrimitives.WriteUInt32LittleEndian(target, (uint)encoded | (action == EncoderAction.Copied ? 0x8000_0000u : 0));
        output.Advance(4 + encoded);
    }

    private static void WriteHeader(IBufferWriter<byte> output)
    {
        // Magic; FLG: version 01, linked blocks, no checksums, no content size; BD: 64 KiB blocks; the header checksum.
        Span<byte> header = [0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0];
        header[6] = (byte)(XXH32.DigestOf(header[4..6]) >> 8);
        output.Write(header);
    }
}

/// <summary>
/// Reads LZ4 frames cut anywhere (a file or TCP read at a time): bytes are kept until a whole header or block is
/// there, then decoded with the library's block decoder. Frames follow one another; skippable frames are skipped.
/// </summary>
internal sealed class Lz4FrameReader : IDisposable
{
    private readonly ArrayBufferWriter<byte> _pending = new();
    private ILZ4Decoder? _decoder;
    private int _blockSize;
    private bool _blockChecksum;
    private bool _contentChecksum;
    private byte[] _block = [];

    /// <summary>Takes <paramref name="data"/> in and writes what decodes to <paramref name="output"/>; throws <see cref="InvalidDataException"/> on a corrupt frame.</summary>
    public void Read(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        _pending.Write(data);
        var bytes = _pending.WrittenSpan;
        var used = 0;
        while (true)
        {
            var step = _decoder is null ? Header(bytes[used..]) : Block(bytes[used..], output);
            if (step == 0) break;
            used += step;
        }
        var rest = bytes[used..].ToArray();
        _pending.ResetWrittenCount();
        _pending.Write(rest);
    }

    public void Dispose()
    {
        _decoder?.Dispose();
        _decoder = null;
    }

    /// <summary>Parses a frame header (or skips a skippable frame); the bytes used, 0 when more are needed.</summary>
    private int Header(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 4) return 0;
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if ((magic & 0xffff_fff0) == 0x184d_2a50)
        {
            if (bytes.Length < 8) return 0;
            var skip = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
            return skip > int.MaxValue - 8 || bytes.Length < 8 + (int)skip ? 0 : 8 + (int)skip;
        }
        if (magic != 0x184d_2204) throw new InvalidDataException($"not an LZ4 frame: magic 0x{magic:x8}");
        if (bytes.Length < 7) return 0;
        var flg = bytes[4];
        if (flg >> 6 != 1) throw new InvalidDataException($"LZ4 frame version {flg >> 6} is not 1");
        if ((flg & 1) != 0) throw new InvalidDataException("LZ4 frames with a dictionary id are not supported");
        var length = 7 + ((flg & 0x08) != 0 ? 8 : 0);
        if (bytes.Length < length) return 0;
        _blockSize = ((bytes[5] >> 4) & 7) switch
        {
            4 => 64 * 1024,
            5 => 256 * 1024,
            6 => 1024 * 1024,
            7 => 4 * 1024 * 1024,
            var other => throw new InvalidDataException($"LZ4 block size code {other} is not 4-7"),
        };
        _blockChecksum = (flg & 0x10) != 0;
        _contentChecksum = (flg & 0x04) != 0;
        _decoder = LZ4Decoder.Create(chaining: (flg & 0x20) == 0, _blockSize);
        if (_block.Length < _blockSize) _block = new byte[_blockSize];
        return length;
    }

    /// <summary>Decodes one block (or the end mark); the bytes used, 0 when more are needed.</summary>
    private int Block(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        if (bytes.Length < 4) return 0;
        var header = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (header == 0)
        {
            var end = 4 + (_contentChecksum ? 4 : 0);
            if (bytes.Length < end) return 0;
            Dispose();
            return end;
        }
        var size = (int)(header & 0x7fff_ffff);
        if (size > _blockSize) throw new InvalidDataException($"LZ4 block of {size} bytes is larger than the frame's {_blockSize}");
        var length = 4 + size + (_blockChecksum ? 4 : 0);
        if (bytes.Length < length) return 0;
        var block = bytes.Slice(4, size);
        if ((header & 0x8000_0000) != 0)
        {
            block.CopyTo(_block);
            _decoder!.Inject(_block, 0, size);
            output.Write(block);
        }
        else
        {
            var target = output.GetSpan(_blockSize);
            _decoder!.DecodeAndDrain(block, target, out var decoded);
            if (decoded <= 0) throw new InvalidDataException($"corrupt LZ4 block of {size} bytes");
            output.Advance(decoded);
        }
        return length;
    }
}
