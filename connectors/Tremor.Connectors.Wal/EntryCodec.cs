using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using MessagePack;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>
/// What the wal and kv keep of an event. Two formats, told apart by the first byte:
/// <list type="bullet">
/// <item><b>encoded</b> (the wal since its entries keep the flow's bytes): <c>0xc1</c> (a byte MessagePack never
/// uses, so no structured entry starts with it), the sequence and ingest_ns as little-endian u64, the length of the
/// metadata (u32, 0 for none), the metadata as MessagePack, then the payload the wal's codec made of the event, as it
/// is. The source side hands the payload back to the same codec: one encode and one decode per event, by the
/// runtime's codecs, and a copy in between.</item>
/// <item><b>structured</b>: MessagePack <c>[sequence, ingest_ns, data, meta]</c>, the value with its kinds (integers
/// signed or unsigned, floats, strings, bytes, arrays, records in key order). What kv writes, and what a wal wrote
/// before: such entries are still read and emitted as structured events.</item>
/// </list>
/// The sequence numbers entries in write order, across restarts, so a cut can say how many entries it dropped.
/// </summary>
internal static class EntryCodec
{
    /// <summary>The first byte of an encoded entry.</summary>
    public const byte EncodedMarker = 0xc1;

    /// <summary>Marker, sequence, ingest_ns, metadata length.</summary>
    public const int EncodedHeader = 1 + 8 + 8 + 4;

    /// <summary>An encoded entry: the event's <paramref name="payload"/> as its codec made it, and its metadata.</summary>
    public static void WriteEncoded(ArrayBufferWriter<byte> output, ulong sequence, ulong ingestNs, ReadOnlySpan<byte> payload, Value meta)
    {
        var start = output.WrittenCount;
        var header = output.GetSpan(EncodedHeader);
        header[0] = EncodedMarker;
        BinaryPrimitives.WriteUInt64LittleEndian(header[1..], sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(header[9..], ingestNs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[17..], 0);
        output.Advance(EncodedHeader);
        if (!meta.IsNull)
        {
            var writer = new MessagePackWriter(output);
            WriteValue(ref writer, meta);
            writer.Flush();
            // Patched through what was written: the header's span may be stale once the buffer grew.
            var metaLength = output.WrittenCount - start - EncodedHeader;
            BinaryPrimitives.WriteUInt32LittleEndian(MemoryMarshal.AsMemory(output.WrittenMemory).Span[(start + 17)..], (uint)metaLength);
        }
        payload.CopyTo(output.GetSpan(payload.Length));
        output.Advance(payload.Length);
    }

    /// <summary>True when <paramref name="entry"/> is an encoded entry (else a structured one).</summary>
    public static bool IsEncoded(ReadOnlySpan<byte> entry) => entry.Length > 0 && entry[0] == EncodedMarker;

    /// <summary>Reads an encoded entry: the payload is a slice of <paramref name="entry"/>. Throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static (ulong Sequence, ulong IngestNs, ReadOnlyMemory<byte> Payload, Value Meta) ReadEncoded(ReadOnlyMemory<byte> entry)
    {
        var span = entry.Span;
        if (span.Length < EncodedHeader || span[0] != EncodedMarker) throw new InvalidDataException($"not a wal entry: {span.Length} bytes, shorter than its {EncodedHeader}-byte header or without its marker");
        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(span[1..]);
        var ingest = BinaryPrimitives.ReadUInt64LittleEndian(span[9..]);
        var metaLength = BinaryPrimitives.ReadUInt32LittleEndian(span[17..]);
        if (metaLength > span.Length - EncodedHeader) throw new InvalidDataException($"not a wal entry: metadata of {metaLength} bytes in an entry of {span.Length}");
        var meta = Value.Null;
        if (metaLength > 0)
        {
            var reader = new MessagePackReader(entry.Slice(EncodedHeader, (int)metaLength));
            meta = ReadValue(ref reader, 0);
        }
        return (sequence, ingest, entry[(EncodedHeader + (int)metaLength)..], meta);
    }

    public static void Write(IBufferWriter<byte> output, ulong sequence, ulong ingestNs, Value data, Value meta)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(4);
        writer.Write(sequence);
        writer.Write(ingestNs);
        WriteValue(ref writer, data);
        WriteValue(ref writer, meta);
        writer.Flush();
    }

    /// <summary>Reads an entry back; throws <see cref="MessagePackSerializationException"/> when it is not one.</summary>
    public static (ulong Sequence, ulong IngestNs, Value Data, Value Meta) Read(ReadOnlyMemory<byte> entry)
    {
        var reader = new MessagePackReader(entry);
        if (reader.ReadArrayHeader() != 4) throw new MessagePackSerializationException("not a wal entry: expected [sequence, ingest_ns, data, meta]");
        var sequence = reader.ReadUInt64();
        var ingest = reader.ReadUInt64();
        var data = ReadValue(ref reader, 0);
        var meta = ReadValue(ref reader, 0);
        return (sequence, ingest, data, meta);
    }

    /// <summary>The sequence of an entry of either format, without decoding its value.</summary>
    public static ulong ReadSequence(ReadOnlyMemory<byte> entry)
    {
        if (IsEncoded(entry.Span))
        {
            if (entry.Length < EncodedHeader) throw new InvalidDataException($"not a wal entry: {entry.Length} bytes, shorter than its {EncodedHeader}-byte header");
            return BinaryPrimitives.ReadUInt64LittleEndian(entry.Span[1..]);
        }
        var reader = new MessagePackReader(entry);
        if (reader.ReadArrayHeader() != 4) throw new MessagePackSerializationException("not a wal entry: expected [sequence, ingest_ns, data, meta]");
        return reader.ReadUInt64();
    }

    public static void WriteValue(ref MessagePackWriter writer, Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null: writer.WriteNil(); break;
            case ValueKind.Bool: writer.Write(value.AsBool()); break;
            case ValueKind.I64: writer.Write(value.RawI64); break;
            case ValueKind.U64: writer.Write(unchecked((ulong)value.RawI64)); break;
            case ValueKind.F64: writer.Write(value.RawF64); break;
            case ValueKind.String:
                // A string still held as the UTF-8 it was decoded from goes in as it is: no round trip through UTF-16.
                if (value.TryGetUtf8(out var utf8)) writer.WriteString(utf8);
                else writer.Write(value.AsString());
                break;
            case ValueKind.Bytes: writer.Write(value.AsBytes()); break;
            case ValueKind.Array:
                var array = value.AsArray()!;
                writer.WriteArrayHeader(array.Count);
                foreach (var item in array) WriteValue(ref writer, item);
                break;
            case ValueKind.Record:
                var record = value.AsRecord()!;
                writer.WriteMapHeader(record.Count);
                foreach (var (key, item) in record)
                {
                    writer.Write(key);
                    WriteValue(ref writer, item);
                }
                break;
            default: throw new InvalidOperationException($"unknown value kind {value.Kind}");
        }
    }

    private const int MaxDepth = 512;

    public static Value ReadValue(ref MessagePackReader reader, int depth)
    {
        if (depth > MaxDepth) throw new MessagePackSerializationException($"values nested deeper than {MaxDepth}");
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return Value.Null;
            case MessagePackType.Boolean:
                return Value.From(reader.ReadBoolean());
            case MessagePackType.Integer:
                // Unsigned only above long.MaxValue: the first byte says which (0xcf is uint64).
                return reader.NextCode == MessagePackCode.UInt64 ? Value.From(reader.ReadUInt64()) : Value.From(reader.ReadInt64());
            case MessagePackType.Float:
                return Value.From(reader.ReadDouble());
            case MessagePackType.String:
                // Kept as UTF-8: a codec that writes the string again copies the bytes instead of transcoding twice.
                var bytes = reader.ReadStringSequence()!.Value.ToArray();
                try
                {
                    return Value.FromUtf8(bytes);
                }
                catch (ArgumentException e)
                {
                    throw new MessagePackSerializationException($"a string is not UTF-8: {e.Message}");
                }
            case MessagePackType.Binary:
                return Value.From(reader.ReadBytes()?.ToArray() ?? []);
            case MessagePackType.Array:
                var count = reader.ReadArrayHeader();
                var list = new List<Value>(count);
                for (var i = 0; i < count; i++) list.Add(ReadValue(ref reader, depth + 1));
                return Value.From(list);
            case MessagePackType.Map:
                var fields = reader.ReadMapHeader();
                var record = new ValueRecord(fields);
                for (var i = 0; i < fields; i++)
                {
                    var key = reader.ReadString() ?? throw new MessagePackSerializationException("a record key is nil");
                    record.Set(key, ReadValue(ref reader, depth + 1));
                }
                return Value.From(record);
            default:
                throw new MessagePackSerializationException($"unexpected MessagePack type {reader.NextMessagePackType}");
        }
    }
}
