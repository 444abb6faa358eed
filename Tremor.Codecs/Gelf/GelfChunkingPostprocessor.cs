using System.Buffers;
using System.Buffers.Binary;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>gelf-chunking</c> postprocessor: cuts each event into GELF chunks of at most <c>chunk-size</c> bytes (default
/// 8192, as Tremor's; the 12-byte header included), each its own payload (one UDP datagram): magic 0x1e 0x0f, an
/// 8-byte message id, the sequence number and the sequence count. An event that would need more than 128 chunks
/// (the GELF limit) fails with the sizes, so the user can raise <c>chunk-size</c> or compress first. Message ids
/// start at a random number per instance, so two senders (or a restarted one) do not mix their chunks at the receiver.
/// </summary>
public sealed class GelfChunkingPostprocessor : IPayloadPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "gelf-chunking";

    /// <summary>Tremor's chunk size.</summary>
    public const int DefaultChunkSize = 8192;

    /// <summary>The header before each chunk's data.</summary>
    public const int HeaderSize = 12;

    private const string ChunkSizeKey = "chunk-size";

    private readonly int _chunkSize;
    private ulong _messageId = (ulong)Random.Shared.NextInt64();

    /// <summary>Chunks of at most <paramref name="chunkSize"/> bytes, header included.</summary>
    public GelfChunkingPostprocessor(int chunkSize = DefaultChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, HeaderSize + 1);
        _chunkSize = chunkSize;
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public GelfChunkingPostprocessor(PluginConfig config)
        : this(ProcessorConfig.ReadBytes(config, ChunkSizeKey, DefaultChunkSize, min: HeaderSize + 1))
    {
        config.RejectUnknownKeys(ChunkSizeKey);
    }

    /// <inheritdoc />
    public TimeSpan? MaxHold => null;

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IPayloadWriter output, out string? error)
    {
        var room = _chunkSize - HeaderSize;
        var count = Math.Max(1, (data.Length + room - 1) / room);
        if (count > GelfChunkingPreprocessor.MaxChunks)
        {
            error = $"an event of {data.Length} bytes needs {count} GELF chunks of chunk-size {_chunkSize}; GELF allows {GelfChunkingPreprocessor.MaxChunks} (raise chunk-size, or compress before gelf-chunking)";
            return false;
        }
        var id = _messageId++;
        for (var i = 0; i < count; i++)
        {
            var part = data.Slice(i * room, Math.Min(room, data.Length - (i * room)));
            var span = output.GetSpan(HeaderSize + part.Length);
            span[0] = 0x1e;
            span[1] = 0x0f;
            BinaryPrimitives.WriteUInt64BigEndian(span[2..], id);
            span[10] = (byte)i;
            span[11] = (byte)count;
            part.CopyTo(span[HeaderSize..]);
            output.Advance(HeaderSize + part.Length);
            output.EndPayload();
        }
        error = null;
        return true;
    }

    /// <inheritdoc />
    public bool TryFlush(IPayloadWriter output, bool endOfStream, out string? error)
    {
        error = null;
        return true;
    }

    /// <summary>Not used by the runtime (it calls the payload form); the chunks back to back, for a caller that knows no payloads.</summary>
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        var writer = new ConcatenatingWriter(output);
        return TryProcess(data, 0, writer, out error);
    }
}
