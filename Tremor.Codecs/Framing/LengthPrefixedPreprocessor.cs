using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>length-prefixed</c> preprocessor: a stream of frames, each a 4-byte big-endian length then that many bytes
/// (what the <c>length-prefixed</c> postprocessor writes). Frames may span chunks; see
/// <see cref="LengthFramePreprocessor"/> for limits and errors.
/// </summary>
/// <remarks>Options: <c>max-length</c> (bytes, default 8 MiB).</remarks>
public sealed class LengthPrefixedPreprocessor : LengthFramePreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "length-prefixed";

    private uint _header;
    private int _headerBytes;

    /// <summary>A preprocessor refusing frames over <paramref name="maxLength"/> bytes.</summary>
    public LengthPrefixedPreprocessor(int maxLength = DefaultMaxLength)
        : base(maxLength)
    {
    }

    /// <summary>A preprocessor from its flow configuration.</summary>
    public LengthPrefixedPreprocessor(PluginConfig config)
        : this(ProcessorConfig.ReadBytes(config, "max-length", DefaultMaxLength))
    {
        config.RejectUnknownKeys("max-length");
    }

    /// <inheritdoc />
    protected override HeaderStatus ReadHeader(ReadOnlySpan<byte> span, ref int position, out long length, out string? error)
    {
        error = null;
        if (_headerBytes == 0 && span.Length - position >= 4)
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(span[position..]);
            position += 4;
            return HeaderStatus.Complete;
        }
        while (_headerBytes < 4 && position < span.Length)
        {
            _header = (_header << 8) | span[position++];
            _headerBytes++;
        }
        length = _header;
        if (_headerBytes < 4) return HeaderStatus.NeedMore;
        ResetHeader();
        return HeaderStatus.Complete;
    }

    /// <inheritdoc />
    protected override void ResetHeader()
    {
        _header = 0;
        _headerBytes = 0;
    }
}
