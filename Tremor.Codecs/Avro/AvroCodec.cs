using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Avro;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>avro</c> codec, as Tremor's: each event is an Avro object container (header with the schema, one block
/// holding one datum) written with the <c>schema</c> from config (required: an object or its JSON text) and
/// <c>compression</c> <c>none</c> (default) or <c>deflate</c>; decoding reads the writer's schema from the header.
/// Values map as <see cref="AvroBinary"/> says. Safe to share between threads.
/// </summary>
public sealed class AvroCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "avro";

    /// <summary>Most bytes a deflate block may inflate to (a decompression bomb is an error, not an out-of-memory).</summary>
    public const int MaxBlockBytes = 64 * 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "Obj\u0001"u8;

    private readonly Schema _schema;
    private readonly byte[] _schemaJson;
    private readonly bool _deflate;
    private readonly byte[] _sync = new byte[16];
    private WriterSchema? _lastWriterSchema;

    /// <summary>A codec writing <paramref name="schema"/>.</summary>
    public AvroCodec(Schema schema, bool deflate = false)
    {
        _schema = schema;
        _schemaJson = Encoding.UTF8.GetBytes(schema.ToString());
        _deflate = deflate;
        Random.Shared.NextBytes(_sync);
    }

    /// <summary>A codec from its flow configuration (<c>schema</c>, <c>compression</c>).</summary>
    public static AvroCodec FromConfig(PluginConfig config)
    {
        config.RejectUnknownKeys("schema", "compression");
        if (!config.Raw.TryGetValue("schema", out var schema) || schema.IsNull)
        {
            throw new ConfigException(ProcessorConfig.PathOf(config, "schema"), "is required: the Avro schema events are written with, e.g. { type = record, name = point, fields = [{ name = x, type = long }] }");
        }
        var compression = config.GetString("compression", "none");
        if (compression is not ("none" or "deflate")) throw new ConfigException(ProcessorConfig.PathOf(config, "compression"), $"must be none or deflate, found '{compression}'");
        return new AvroCodec(AvroBinary.ParseSchema(config, "schema", schema), compression == "deflate");
    }

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var r = new AvroBinary.Reader(data.Span);
        try
        {
            if (!data.Span.StartsWith(Magic)) return TextParse.Fail(Name, 0, "not an Avro object container (the 'Obj' 0x01 magic is missing)", out value, out error);
            r.Position = Magic.Length;
            ReadOnlySpan<byte> schemaJson = default;
            var codec = "null"u8;
            while (true)
            {
                var count = r.ReadLong();
                if (count == 0) break;
                if (count < 0)
                {
                    count = -count;
                    r.ReadLong();
                }
                for (var i = 0L; i < count; i++)
                {
                    var key = r.ReadFixed(r.ReadLong(), "a metadata key");
                    var item = r.ReadFixed(r.ReadLong(), "a metadata value");
                    if (key.SequenceEqual("avro.schema"u8)) schemaJson = item;
                    else if (key.SequenceEqual("avro.codec"u8)) codec = item;
                }
            }
            if (schemaJson.IsEmpty) return TextParse.Fail(Name, r.Position, "the container header has no avro.schema", out value, out error);
            var deflate = codec.SequenceEqual("deflate"u8);
            if (!deflate && !codec.SequenceEqual("null"u8)) return TextParse.Fail(Name, r.Position, $"container compression '{Encoding.UTF8.GetString(codec)}' is not supported (null, deflate)", out value, out error);
            var sync = r.ReadFixed(16, "the sync marker");
            var schemaAt = r.Position;
            if (!TryWriterSchema(schemaJson, out var schema, out var schemaError)) return TextParse.Fail(Name, schemaAt, $"the container's schema is not valid: {schemaError}", out value, out error);
            Value? result = null;
            while (r.Remaining > 0)
            {
                var blockAt = r.Position;
                var count = r.ReadLong();
                var block = r.ReadFixed(r.ReadLong(), "a block");
                if (!r.ReadFixed(16, "a block's sync marker").SequenceEqual(sync)) return TextParse.Fail(Name, r.Position - 16, "a block's sync marker differs from the header's (corrupt container)", out value, out error);
                var inflated = deflate ? Inflate(block, blockAt) : block.ToArray();
                var blockReader = new AvroBinary.Reader(inflated);
                for (var i = 0L; i < count; i++)
                {
                    if (result is not null) return TextParse.Fail(Name, blockAt, "the container holds more than one datum (one per event)", out value, out error);
                    result = AvroBinary.Read(ref blockReader, schema, 0);
                }
                if (blockReader.Remaining > 0) return TextParse.Fail(Name, blockAt, $"{blockReader.Remaining} bytes left over in a block", out value, out error);
            }
            if (result is null) return TextParse.Fail(Name, r.Position, "the container holds no datum", out value, out error);
            value = result.Value;
            error = null;
            return true;
        }
        catch (AvroBinary.DecodeError e)
        {
            return TextParse.Fail(Name, e.Position, e.Message, out value, out error);
        }
    }

    private bool TryWriterSchema(ReadOnlySpan<byte> json, out Schema schema, out string? error)
    {
        error = null;
        if (json.SequenceEqual(_schemaJson))
        {
            schema = _schema;
            return true;
        }
        // One reference, swapped whole: threads sharing the codec never see a torn pair.
        if (_lastWriterSchema is { } last && json.SequenceEqual(last.Json))
        {
            schema = last.Schema;
            return true;
        }
        try
        {
            var parsed = Schema.Parse(Encoding.UTF8.GetString(json));
            if (parsed is null)
            {
                schema = null!;
                error = "Apache.Avro read no schema from it";
                return false;
            }
            schema = parsed;
            _lastWriterSchema = new WriterSchema(json.ToArray(), schema);
            return true;
        }
        catch (Exception e) when (e is AvroException or Newtonsoft.Json.JsonException or ArgumentException or InvalidOperationException or NullReferenceException)
        {
            schema = null!;
            error = e.Message;
            return false;
        }
    }

    private sealed record WriterSchema(byte[] Json, Schema Schema);

    private static byte[] Inflate(ReadOnlySpan<byte> block, int at)
    {
        using var input = new MemoryStream(block.ToArray());
        using var inflater = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = inflater.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxBlockBytes) throw new AvroBinary.DecodeError(at, $"a deflate block inflates to more than {MaxBlockBytes} bytes");
                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new AvroBinary.DecodeError(at, $"corrupt deflate block: {e.Message}");
        }
        return output.ToArray();
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var datum = new ArrayBufferWriter<byte>(256);
        AvroBinary.Write(Name, datum, _schema, value, "");
        output.Write(Magic);
        AvroBinary.WriteLong(output, 2);
        WriteBytes(output, "avro.schema"u8);
        WriteBytes(output, _schemaJson);
        WriteBytes(output, "avro.codec"u8);
        WriteBytes(output, _deflate ? "deflate"u8 : "null"u8);
        AvroBinary.WriteLong(output, 0);
        output.Write(_sync);
        AvroBinary.WriteLong(output, 1);
        if (_deflate)
        {
            using var compressed = new MemoryStream();
            using (var deflater = new DeflateStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) deflater.Write(datum.WrittenSpan);
            AvroBinary.WriteLong(output, compressed.Length);
            output.Write(compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }
        else
        {
            AvroBinary.WriteLong(output, datum.WrittenCount);
            output.Write(datum.WrittenSpan);
        }
        output.Write(_sync);
    }

    private static void WriteBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        AvroBinary.WriteLong(output, bytes.Length);
        output.Write(bytes);
    }
}

/// <summary>
/// The <c>confluent-avro</c> codec: the Confluent Schema Registry wire format (a 0 byte, the schema id as a big-endian
/// u32, the Avro binary datum), with the schemas given in config instead of fetched: <c>schemas</c> maps each id to a
/// schema; <c>encode-schema-id</c> picks the one events are written with (default: the only one). Decoding picks
/// the schema by the id in the message; an id not in config is an error naming it. Safe to share between threads.
/// </summary>
public sealed class ConfluentAvroCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "confluent-avro";

    private readonly Dictionary<uint, Schema> _schemas;
    private readonly uint _encodeId;

    /// <summary>A codec with the schemas by id, writing with <paramref name="encodeId"/>.</summary>
    public ConfluentAvroCodec(Dictionary<uint, Schema> schemas, uint encodeId)
    {
        _schemas = schemas;
        _encodeId = encodeId;
    }

    /// <summary>A codec from its flow configuration (<c>schemas</c>, <c>encode-schema-id</c>).</summary>
    public static ConfluentAvroCodec FromConfig(PluginConfig config)
    {
        config.RejectUnknownKeys("schemas", "encode-schema-id");
        var section = config.GetSection("schemas");
        if (section.Raw.Count == 0) throw new ConfigException(section.Path, "is required: the schemas by registry id, e.g. schemas { 1 = { type = record, name = point, fields = [...] } }");
        var schemas = new Dictionary<uint, Schema>();
        foreach (var (key, schema) in section.Raw)
        {
            if (!uint.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)) throw new ConfigException(ProcessorConfig.PathOf(section, key), "a schema id must be a whole number from 0 to 4294967295");
            schemas[id] = AvroBinary.ParseSchema(section, key, schema);
        }
        uint encodeId;
        if (config.Has("encode-schema-id"))
        {
            var n = config.GetInt("encode-schema-id");
            if (n is < 0 or > uint.MaxValue || !schemas.ContainsKey((uint)n)) throw new ConfigException(ProcessorConfig.PathOf(config, "encode-schema-id"), $"must be one of the ids under schemas ({string.Join(", ", schemas.Keys)}), found {n}");
            encodeId = (uint)n;
        }
        else if (schemas.Count == 1)
        {
            encodeId = schemas.Keys.First();
        }
        else
        {
            throw new ConfigException(ProcessorConfig.PathOf(config, "encode-schema-id"), $"is required with more than one schema: which id events are written with ({string.Join(", ", schemas.Keys)})");
        }
        return new ConfluentAvroCodec(schemas, encodeId);
    }

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var span = data.Span;
        if (span.Length < 5) return TextParse.Fail(Name, span.Length, "truncated: the 5-byte header (0, schema id) is missing", out value, out error);
        if (span[0] != 0) return TextParse.Fail(Name, 0, $"magic byte {span[0]} is not 0 (not the Confluent wire format)", out value, out error);
        var id = BinaryPrimitives.ReadUInt32BigEndian(span[1..]);
        if (!_schemas.TryGetValue(id, out var schema)) return TextParse.Fail(Name, 1, $"schema id {id} is not configured (known: {string.Join(", ", _schemas.Keys)}); add it under schemas", out value, out error);
        var r = new AvroBinary.Reader(span) { Position = 5 };
        try
        {
            value = AvroBinary.Read(ref r, schema, 0);
        }
        catch (AvroBinary.DecodeError e)
        {
            return TextParse.Fail(Name, e.Position, e.Message, out value, out error);
        }
        if (r.Remaining > 0) return TextParse.Fail(Name, r.Position, $"{r.Remaining} trailing bytes after the datum", out value, out error);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var header = output.GetSpan(5);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], _encodeId);
        output.Advance(5);
        AvroBinary.Write(Name, output, _schemas[_encodeId], value, "");
    }
}
