using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Avro;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// Avro's binary encoding of one datum, walked along a schema parsed by Apache.Avro. Written here rather than with
/// Apache.Avro's generic reader so that every length is checked against the bytes that are left before anything is
/// allocated (a corrupt length must not become a gigabyte array), errors carry the byte position, and values map to
/// Tremor's: int/long/date/time/timestamp → integer, float/double → float, bytes/fixed/decimal/duration → bytes,
/// string/enum/uuid → string, array → array, map/record → record, union → the branch's value.
/// </summary>
internal static class AvroBinary
{
    public const int MaxDepth = 256;

    /// <summary>Items of an array or map that take no bytes (nulls) accepted beyond the bytes left.</summary>
    public const int MaxZeroSizeItems = 65536;

    /// <summary>Thrown inside the reader; the codec turns it into its error with the position.</summary>
    public sealed class DecodeError(int position, string reason) : Exception(reason)
    {
        public int Position { get; } = position;
    }

    public ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position;

        public readonly int Remaining => _data.Length - Position;

        public long ReadLong()
        {
            var start = Position;
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (Position >= _data.Length) throw new DecodeError(start, "truncated: a number is cut off");
                var b = _data[Position++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return (long)(result >> 1) ^ -(long)(result & 1);
            }
            throw new DecodeError(start, "a variable-length number is longer than 10 bytes");
        }

        public ReadOnlySpan<byte> ReadFixed(long length, string what)
        {
            if (length < 0) throw new DecodeError(Position, $"negative length {length} for {what}");
            if (length > Remaining) throw new DecodeError(Position, $"truncated: {what} of {length} bytes, {Remaining} left");
            var span = _data.Slice(Position, (int)length);
            Position += (int)length;
            return span;
        }
    }

    public static Value Read(ref Reader r, Schema schema, int depth)
    {
        if (depth > MaxDepth) throw new DecodeError(r.Position, $"nesting deeper than {MaxDepth}");
        switch (schema.Tag)
        {
            case Schema.Type.Null:
                return Value.Null;
            case Schema.Type.Boolean:
                {
                    var at = r.Position;
                    var b = r.ReadFixed(1, "a boolean")[0];
                    return b switch
                    {
                        0 => Value.False,
                        1 => Value.True,
                        _ => throw new DecodeError(at, $"a boolean must be 0 or 1, found {b}"),
                    };
                }
            case Schema.Type.Int:
                {
                    var at = r.Position;
                    var n = r.ReadLong();
                    if (n is < int.MinValue or > int.MaxValue) throw new DecodeError(at, $"{n} does not fit an Avro int");
                    return n;
                }
            case Schema.Type.Long:
                return r.ReadLong();
            case Schema.Type.Float:
                return (double)BinaryPrimitives.ReadSingleLittleEndian(r.ReadFixed(4, "a float"));
            case Schema.Type.Double:
                return BinaryPrimitives.ReadDoubleLittleEndian(r.ReadFixed(8, "a double"));
            case Schema.Type.Bytes:
                return Value.From(r.ReadFixed(r.ReadLong(), "bytes").ToArray());
            case Schema.Type.String:
                {
                    var length = r.ReadLong();
                    var at = r.Position;
                    var utf8 = r.ReadFixed(length, "a string");
                    if (!Utf8Text.TryDecode(utf8, out var text, out var bad)) throw new DecodeError(at + bad, $"invalid UTF-8 in a string ({Utf8Text.DescribeByte(utf8, bad)})");
                    return text;
                }
            case Schema.Type.Fixed:
                return Value.From(r.ReadFixed(((FixedSchema)schema).Size, $"fixed '{schema.Fullname}'").ToArray());
            case Schema.Type.Enumeration:
                {
                    var at = r.Position;
                    var symbols = ((EnumSchema)schema).Symbols;
                    var index = r.ReadLong();
                    if (index < 0 || index >= symbols.Count) throw new DecodeError(at, $"enum index {index} is outside the {symbols.Count} symbols of '{schema.Fullname}'");
                    return symbols[(int)index];
                }
            case Schema.Type.Union:
                {
                    var at = r.Position;
                    var branches = ((UnionSchema)schema).Schemas;
                    var index = r.ReadLong();
                    if (index < 0 || index >= branches.Count) throw new DecodeError(at, $"union branch {index} is outside the {branches.Count} branches");
                    return Read(ref r, branches[(int)index], depth + 1);
                }
            case Schema.Type.Record:
            case Schema.Type.Error:
                {
                    var fields = ((RecordSchema)schema).Fields;
                    var record = new ValueRecord(fields.Count);
                    foreach (var field in fields) record.Append(field.Name, Read(ref r, field.Schema, depth + 1));
                    return Value.From(record);
                }
            case Schema.Type.Array:
                {
                    var items = ((ArraySchema)schema).ItemSchema;
                    var list = new List<Value>();
                    ReadBlocks(ref r, list, null, items, depth);
                    return Value.From(list);
                }
            case Schema.Type.Map:
                {
                    var values = ((MapSchema)schema).ValueSchema;
                    var record = new ValueRecord();
                    ReadBlocks(ref r, null, record, values, depth);
                    return Value.From(record);
                }
            case Schema.Type.Logical:
                return Read(ref r, ((LogicalSchema)schema).BaseSchema, depth + 1);
            default:
                throw new DecodeError(r.Position, $"schema type {schema.Tag} is not supported");
        }
    }

    private static void ReadBlocks(ref Reader r, List<Value>? list, ValueRecord? map, Schema item, int depth)
    {
        var total = 0L;
        while (true)
        {
            var at = r.Position;
            var count = r.ReadLong();
            if (count == 0) return;
            if (count < 0)
            {
                count = -count;
                r.ReadLong(); // the block's size in bytes, only for skipping
            }
            total += count;
            if (count < 0 || (total > r.Remaining && total > MaxZeroSizeItems)) throw new DecodeError(at, $"a block of {count} items, but only {r.Remaining} bytes left");
            for (var i = 0L; i < count; i++)
            {
                if (map is null)
                {
                    list!.Add(Read(ref r, item, depth + 1));
                    continue;
                }
                var length = r.ReadLong();
                var keyAt = r.Position;
                var utf8 = r.ReadFixed(length, "a map key");
                if (!Utf8Text.TryDecode(utf8, out var key, out var bad)) throw new DecodeError(keyAt + bad, "invalid UTF-8 in a map key");
                map.Set(key, Read(ref r, item, depth + 1));
            }
        }
    }

    /// <summary>Writes <paramref name="value"/> as <paramref name="schema"/>; <see cref="CodecEncodeException"/> names the path that does not fit.</summary>
    public static void Write(string codec, IBufferWriter<byte> output, Schema schema, in Value value, string path)
    {
        switch (schema.Tag)
        {
            case Schema.Type.Null:
                if (!value.IsNull) throw Mismatch(codec, path, "null", value);
                break;
            case Schema.Type.Boolean:
                if (!value.TryGetBool(out var b)) throw Mismatch(codec, path, "boolean", value);
                output.Write([b ? (byte)1 : (byte)0]);
                break;
            case Schema.Type.Int:
                if (!value.TryGetI64(out var i) || i is < int.MinValue or > int.MaxValue) throw Mismatch(codec, path, "int (32-bit)", value);
                WriteLong(output, i);
                break;
            case Schema.Type.Long:
                if (!value.TryGetI64(out var l)) throw Mismatch(codec, path, "long", value);
                WriteLong(output, l);
                break;
            case Schema.Type.Float:
                {
                    if (!value.TryGetF64(out var f)) throw Mismatch(codec, path, "float", value);
                    BinaryPrimitives.WriteSingleLittleEndian(output.GetSpan(4), (float)f);
                    output.Advance(4);
                    break;
                }
            case Schema.Type.Double:
                {
                    if (!value.TryGetF64(out var d)) throw Mismatch(codec, path, "double", value);
                    BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), d);
                    output.Advance(8);
                    break;
                }
            case Schema.Type.Bytes:
                if (value.AsBytes() is { } bytes)
                {
                    WriteLong(output, bytes.Length);
                    output.Write(bytes);
                }
                else if (value.AsString() is { } text)
                {
                    WriteString(output, text);
                }
                else
                {
                    throw Mismatch(codec, path, "bytes", value);
                }
                break;
            case Schema.Type.String:
                WriteString(output, value.AsString() ?? throw Mismatch(codec, path, "string", value));
                break;
            case Schema.Type.Fixed:
                {
                    var size = ((FixedSchema)schema).Size;
                    var fixedBytes = value.AsBytes();
                    if (fixedBytes is null || fixedBytes.Length != size) throw Mismatch(codec, path, $"fixed ({size} bytes)", value);
                    output.Write(fixedBytes);
                    break;
                }
            case Schema.Type.Enumeration:
                {
                    var symbols = ((EnumSchema)schema).Symbols;
                    var symbol = value.AsString();
                    var index = symbol is null ? -1 : symbols.IndexOf(symbol);
                    if (index < 0) throw new CodecEncodeException(codec, $"{path}: expected one of the symbols {string.Join(", ", symbols)}, found {value}");
                    WriteLong(output, index);
                    break;
                }
            case Schema.Type.Union:
                {
                    var branches = ((UnionSchema)schema).Schemas;
                    for (var k = 0; k < branches.Count; k++)
                    {
                        if (!Matches(branches[k], value)) continue;
                        WriteLong(output, k);
                        Write(codec, output, branches[k], value, path);
                        return;
                    }
                    throw new CodecEncodeException(codec, $"{path}: {value.Kind.ToString().ToLowerInvariant()} matches none of the union's branches ({string.Join(", ", branches.Select(s => s.Name))})");
                }
            case Schema.Type.Record:
            case Schema.Type.Error:
                {
                    var record = value.AsRecord() ?? throw Mismatch(codec, path, $"record '{schema.Fullname}'", value);
                    foreach (var field in ((RecordSchema)schema).Fields)
                    {
                        var fieldPath = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
                        if (record.TryGetValue(field.Name, out var fieldValue))
                        {
                            Write(codec, output, field.Schema, fieldValue, fieldPath);
                        }
                        else if (field.DefaultValue is { } json)
                        {
                            var defaultBytes = Encoding.UTF8.GetBytes(json.ToString(Newtonsoft.Json.Formatting.None));
                            if (!JsonDecoder.TryDecode(defaultBytes, out var defaultValue, out _)) throw new CodecEncodeException(codec, $"{fieldPath}: the schema's default cannot be read");
                            // A union field's default is of the union's first branch (Avro specification).
                            if (field.Schema is UnionSchema u)
                            {
                                WriteLong(output, 0);
                                Write(codec, output, u.Schemas[0], defaultValue, fieldPath);
                            }
                            else
                            {
                                Write(codec, output, field.Schema, defaultValue, fieldPath);
                            }
                        }
                        else if (field.Schema is UnionSchema nullable && nullable.Schemas.Any(s => s.Tag == Schema.Type.Null))
                        {
                            Write(codec, output, field.Schema, Value.Null, fieldPath);
                        }
                        else
                        {
                            throw new CodecEncodeException(codec, $"{fieldPath}: missing, and the schema gives no default");
                        }
                    }
                    break;
                }
            case Schema.Type.Array:
                {
                    var list = value.AsArray() ?? throw Mismatch(codec, path, "array", value);
                    var items = ((ArraySchema)schema).ItemSchema;
                    if (list.Count > 0)
                    {
                        WriteLong(output, list.Count);
                        for (var k = 0; k < list.Count; k++) Write(codec, output, items, list[k], $"{path}[{k}]");
                    }
                    WriteLong(output, 0);
                    break;
                }
            case Schema.Type.Map:
                {
                    var record = value.AsRecord() ?? throw Mismatch(codec, path, "map (a record)", value);
                    var values = ((MapSchema)schema).ValueSchema;
                    if (record.Count > 0)
                    {
                        WriteLong(output, record.Count);
                        foreach (var (key, item) in record)
                        {
                            WriteString(output, key);
                            Write(codec, output, values, item, $"{path}.{key}");
                        }
                    }
                    WriteLong(output, 0);
                    break;
                }
            case Schema.Type.Logical:
                Write(codec, output, ((LogicalSchema)schema).BaseSchema, value, path);
                break;
            default:
                throw new CodecEncodeException(codec, $"{path}: schema type {schema.Tag} is not supported");
        }
    }

    private static CodecEncodeException Mismatch(string codec, string path, string expected, in Value found) =>
        new(codec, $"{(path.Length == 0 ? "the event" : path)}: expected {expected}, found {found.Kind.ToString().ToLowerInvariant()} {Short(found)}");

    private static string Short(in Value v)
    {
        var text = v.ToString();
        return text.Length > 40 ? text[..40] + "..." : text;
    }

    /// <summary>Whether a union branch can hold the value (the first that can is written, as Tremor does).</summary>
    private static bool Matches(Schema schema, in Value value) => schema.Tag switch
    {
        Schema.Type.Null => value.IsNull,
        Schema.Type.Boolean => value.Kind == ValueKind.Bool,
        Schema.Type.Int => value.TryGetI64(out var i) && i is >= int.MinValue and <= int.MaxValue,
        Schema.Type.Long => value.Kind == ValueKind.I64,
        Schema.Type.Float or Schema.Type.Double => value.IsNumber,
        Schema.Type.String => value.Kind == ValueKind.String,
        Schema.Type.Bytes => value.Kind is ValueKind.Bytes or ValueKind.String,
        Schema.Type.Fixed => value.AsBytes() is { } b && b.Length == ((FixedSchema)schema).Size,
        Schema.Type.Enumeration => value.AsString() is { } s && ((EnumSchema)schema).Symbols.Contains(s),
        Schema.Type.Array => value.Kind == ValueKind.Array,
        Schema.Type.Map => value.Kind == ValueKind.Record,
        Schema.Type.Record or Schema.Type.Error => value.AsRecord() is { } r && ((RecordSchema)schema).Fields.All(f => r.ContainsKey(f.Name) || f.DefaultValue is not null || f.Schema is UnionSchema),
        Schema.Type.Logical => Matches(((LogicalSchema)schema).BaseSchema, value),
        _ => false,
    };

    public static void WriteLong(IBufferWriter<byte> output, long n)
    {
        var span = output.GetSpan(10);
        var z = (ulong)((n << 1) ^ (n >> 63));
        var k = 0;
        while (z >= 0x80)
        {
            span[k++] = (byte)(z | 0x80);
            z >>= 7;
        }
        span[k++] = (byte)z;
        output.Advance(k);
    }

    private static void WriteString(IBufferWriter<byte> output, string s)
    {
        var length = Encoding.UTF8.GetByteCount(s);
        WriteLong(output, length);
        Encoding.UTF8.GetBytes(s, output.GetSpan(length));
        output.Advance(length);
    }

    /// <summary>A schema from config: a record (HOCON object) or its JSON text, parsed by Apache.Avro.</summary>
    public static Schema ParseSchema(PluginConfig config, string key, in Value schema)
    {
        var path = ProcessorConfig.PathOf(config, key);
        var json = schema.AsString() ?? (schema.Kind is ValueKind.Record or ValueKind.Array ? JsonEncoder.ToJsonString(schema) : null)
            ?? throw new ConfigException(path, $"expected an Avro schema (an object such as {{ type = record, name = r, fields = [...] }} or its JSON text), found '{schema}'");
        try
        {
            return Schema.Parse(json) ?? throw new ConfigException(path, "is not a valid Avro schema: its type must be null, boolean, int, long, float, double, bytes, string, record, enum, array, map, fixed, a defined name, or a list (a union)");
        }
        catch (Exception e) when (e is AvroException or Newtonsoft.Json.JsonException or ArgumentException)
        {
            throw new ConfigException(path, $"is not a valid Avro schema: {e.Message}");
        }
    }
}
