using System.Buffers.Binary;
using System.Diagnostics;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>gelf-chunking</c> preprocessor: reassembles GELF messages split into UDP chunks (magic 0x1e 0x0f, 8-byte
/// message id, sequence number, sequence count ≤ 128, payload), as Tremor's. A datagram starting with <c>{</c> (plain
/// GELF JSON) passes through, one starting 0x1f 0x3c (Wayfair's uncompressed form) passes without those two bytes;
/// anything else is an error (put <c>decompress</c> first for compressed GELF). Chunks of a message that is not complete
/// within 5 seconds are dropped, as the GELF specification asks; at most <see cref="MaxPendingBytes"/> of incomplete
/// messages are kept, so a flood of first chunks cannot grow memory without bound. One instance per stream.
/// </summary>
public sealed class GelfChunkingPreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "gelf-chunking";

    /// <summary>Most chunks in one message (GELF specification).</summary>
    public const int MaxChunks = 128;

    /// <summary>Most bytes of incomplete messages held at once.</summary>
    public const int MaxPendingBytes = 64 * 1024 * 1024;

    private static readonly TimeSpan s_expiry = TimeSpan.FromSeconds(5);

    private readonly Func<TimeSpan> _clock;
    private readonly Dictionary<ulong, Pending> _pending = [];
    private long _pendingBytes;

    /// <summary>A preprocessor on the monotonic clock.</summary>
    public GelfChunkingPreprocessor()
        : this(static () => Stopwatch.GetElapsedTime(0))
    {
    }

    /// <summary>A preprocessor with its own clock (tests move time with it).</summary>
    internal GelfChunkingPreprocessor(Func<TimeSpan> clock)
    {
        _clock = clock;
    }

    private sealed class Pending(int count, TimeSpan started)
    {
        public byte[]?[] Chunks { get; } = new byte[]?[count];

        public int Stored { get; set; }

        public int Bytes { get; set; }

        public TimeSpan Started { get; } = started;
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        error = null;
        var span = data.Span;
        if (span.Length >= 2 && span[0] == 0x1f && span[1] == 0x3c)
        {
            output.Add(data[2..]);
            return true;
        }
        if (span.Length >= 2 && span[0] == (byte)'{')
        {
            output.Add(data);
            return true;
        }
        if (span.Length < 12 || span[0] != 0x1e || span[1] != 0x0f)
        {
            error = span.Length < 2
                ? $"a GELF datagram of {span.Length} bytes is too short"
                : $"not a GELF chunk ({span.Length} bytes starting 0x{span[0]:x2} 0x{span[1]:x2}; a chunk starts 0x1e 0x0f, plain GELF with '{{'); put decompress first for compressed GELF";
            return false;
        }
        var id = BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
        int sequence = span[10];
        int count = span[11];
        if (count == 0 || count > MaxChunks || sequence >= count)
        {
            error = $"GELF chunk {sequence} of {count} for message 0x{id:x16}: the sequence count must be 1 to {MaxChunks} and the number below it; chunk dropped";
            return false;
        }
        if (count == 1)
        {
            output.Add(data[12..]);
            return true;
        }
        var now = _clock();
        Expire(now);
        if (!_pending.TryGetValue(id, out var message))
        {
            if (_pendingBytes + span.Length > MaxPendingBytes)
            {
                error = $"GELF message 0x{id:x16} dropped: {_pendingBytes} bytes of incomplete messages are already waiting (limit {MaxPendingBytes})";
                return false;
            }
            message = new Pending(count, now);
            _pending[id] = message;
        }
        if (message.Chunks.Length != count)
        {
            Drop(id, message);
            error = $"GELF message 0x{id:x16}: chunk {sequence} says {count} chunks, an earlier one said {message.Chunks.Length}; message dropped";
            return false;
        }
        if (message.Chunks[sequence] is not null)
        {
            Drop(id, message);
            error = $"GELF message 0x{id:x16}: chunk {sequence} arrived twice; message dropped";
            return false;
        }
        var payload = span[12..].ToArray();
        message.Chunks[sequence] = payload;
        message.Stored++;
        message.Bytes += payload.Length;
        _pendingBytes += payload.Length;
        if (message.Stored < count) return true;
        Drop(id, message);
        var whole = new byte[message.Bytes];
        var at = 0;
        foreach (var chunk in message.Chunks)
        {
            chunk!.CopyTo(whole, at);
            at += chunk!.Length;
        }
        output.Add(whole);
        return true;
    }

    private void Drop(ulong id, Pending message)
    {
        _pending.Remove(id);
        _pendingBytes -= message.Bytes;
    }

    private void Expire(TimeSpan now)
    {
        if (_pending.Count == 0) return;
        List<ulong>? expired = null;
        foreach (var (id, message) in _pending)
        {
            if (now - message.Started > s_expiry) (expired ??= []).Add(id);
        }
        if (expired is null) return;
        foreach (var id in expired) Drop(id, _pending[id]);
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
        // Incomplete messages cannot be completed any more: nothing to emit.
        _pending.Clear();
        _pendingBytes = 0;
    }
}
