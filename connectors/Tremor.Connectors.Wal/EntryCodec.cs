using System.Buffers;
using MessagePack;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>
/// What the wal keeps of an event, as MessagePack: <c>[sequence, ingest_ns, data, meta]</c>. The value keeps its
/// kinds (integers signed or unsigned, floats, strings, bytes, arrays, records in key order), so what comes out of
/// the wal is the event that went in, metadata included. The sequence numbers entries in write order, across
/// restarts, so a cut can say how many entries it dropped.
/// </summary>
internal static class EntryCodec
{
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

    /// <summary>The sequence of an entry, without decoding its value.</summary>
    public static ulong ReadSequence(ReadOnlyMemory<byte> entry)
    {
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
