using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NpgsqlTypes;
using Tremor.Pdk;

namespace Tremor.Connectors.Postgres;

/// <summary>Values between Tremor and PostgreSQL: event fields into typed COPY columns, result rows into records.</summary>
internal static class PostgresValues
{
    /// <summary>The column types the sink writes with binary COPY, by <c>pg_type.typname</c>.</summary>
    public static readonly IReadOnlyDictionary<string, NpgsqlDbType> Writable = new Dictionary<string, NpgsqlDbType>(StringComparer.Ordinal)
    {
        ["int2"] = NpgsqlDbType.Smallint,
        ["int4"] = NpgsqlDbType.Integer,
        ["int8"] = NpgsqlDbType.Bigint,
        ["float4"] = NpgsqlDbType.Real,
        ["float8"] = NpgsqlDbType.Double,
        ["numeric"] = NpgsqlDbType.Numeric,
        ["bool"] = NpgsqlDbType.Boolean,
        ["text"] = NpgsqlDbType.Text,
        ["varchar"] = NpgsqlDbType.Varchar,
        ["bpchar"] = NpgsqlDbType.Char,
        ["name"] = NpgsqlDbType.Name,
        ["json"] = NpgsqlDbType.Json,
        ["jsonb"] = NpgsqlDbType.Jsonb,
        ["bytea"] = NpgsqlDbType.Bytea,
        ["timestamptz"] = NpgsqlDbType.TimestampTz,
        ["timestamp"] = NpgsqlDbType.Timestamp,
        ["date"] = NpgsqlDbType.Date,
        ["uuid"] = NpgsqlDbType.Uuid,
    };

    /// <summary>
    /// The value for a column of <paramref name="type"/>, or null with <paramref name="error"/> saying why it does not
    /// fit. Integers into timestamps are nanoseconds since the Unix epoch (Tremor's ingest_ns); strings are parsed.
    /// </summary>
    public static object? ToColumn(Value value, NpgsqlDbType type, out string? error)
    {
        error = null;
        try
        {
            switch (type)
            {
                case NpgsqlDbType.Smallint when value.TryGetI64(out var i) && i is >= short.MinValue and <= short.MaxValue:
                    return (short)i;
                case NpgsqlDbType.Integer when value.TryGetI64(out var i) && i is >= int.MinValue and <= int.MaxValue:
                    return (int)i;
                case NpgsqlDbType.Bigint when value.TryGetI64(out var i):
                    return i;
                case NpgsqlDbType.Real or NpgsqlDbType.Double or NpgsqlDbType.Numeric when Number(value) is { } d:
                    return type switch { NpgsqlDbType.Real => (float)d, NpgsqlDbType.Double => d, _ => (decimal)d };
                case NpgsqlDbType.Numeric when value.AsString() is { } s:
                    return decimal.Parse(s, CultureInfo.InvariantCulture);
                case NpgsqlDbType.Boolean when value.TryGetBool(out var b):
                    return b;
                case NpgsqlDbType.Text or NpgsqlDbType.Varchar or NpgsqlDbType.Char or NpgsqlDbType.Name:
                    return value.AsString() ?? Json(value);
                case NpgsqlDbType.Json or NpgsqlDbType.Jsonb:
                    return Json(value);
                case NpgsqlDbType.Bytea when value.AsBytes() is { } bytes:
                    return bytes;
                case NpgsqlDbType.Bytea when value.AsString() is { } s:
                    return Encoding.UTF8.GetBytes(s);
                case NpgsqlDbType.TimestampTz or NpgsqlDbType.Timestamp when value.TryGetI64(out var ns):
                    var utc = DateTime.UnixEpoch.AddTicks(ns / 100);
                    return type == NpgsqlDbType.TimestampTz ? utc : DateTime.SpecifyKind(utc, DateTimeKind.Unspecified);
                case NpgsqlDbType.TimestampTz when value.AsString() is { } s:
                    return DateTimeOffset.Parse(s, CultureInfo.InvariantCulture).UtcDateTime;
                case NpgsqlDbType.Timestamp when value.AsString() is { } s:
                    return DateTime.SpecifyKind(DateTime.Parse(s, CultureInfo.InvariantCulture), DateTimeKind.Unspecified);
                case NpgsqlDbType.Date when value.AsString() is { } s:
                    return DateOnly.Parse(s, CultureInfo.InvariantCulture);
                case NpgsqlDbType.Uuid when value.AsString() is { } s:
                    return Guid.Parse(s);
            }
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
        catch (OverflowException e)
        {
            error = e.Message;
            return null;
        }
        error = $"{Describe(value)} does not fit a {type.ToString().ToLowerInvariant()} column";
        return null;
    }

    private static double? Number(Value value) =>
        value.TryGetI64(out var i) ? i : value.TryGetF64(out var d) ? d : null;

    private static string Describe(Value value) => value.Kind switch
    {
        ValueKind.String => $"the string '{Truncate(value.AsString()!)}'",
        ValueKind.Record => "a record",
        ValueKind.Array => "an array",
        _ => $"{value.Kind.ToString().ToLowerInvariant()} {Truncate(value.ToString())}",
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";

    /// <summary>A value as JSON text (json, jsonb and text columns that get a non-string).</summary>
    public static string Json(Value value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(Utf8JsonWriter writer, Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null: writer.WriteNullValue(); break;
            case ValueKind.Bool: writer.WriteBooleanValue(value.AsBool()); break;
            case ValueKind.I64: writer.WriteNumberValue(value.RawI64); break;
            case ValueKind.U64: writer.WriteNumberValue(value.TryGetU64(out var u) ? u : 0UL); break;
            case ValueKind.F64: writer.WriteNumberValue(value.RawF64); break;
            case ValueKind.String: writer.WriteStringValue(value.AsString()); break;
            case ValueKind.Bytes: writer.WriteBase64StringValue(value.AsBytes()); break;
            case ValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.AsArray()!) Write(writer, item);
                writer.WriteEndArray();
                break;
            case ValueKind.Record:
                writer.WriteStartObject();
                foreach (var (key, item) in value.AsRecord()!)
                {
                    writer.WritePropertyName(key);
                    Write(writer, item);
                }
                writer.WriteEndObject();
                break;
            default: writer.WriteStringValue(value.ToString()); break;
        }
    }

    /// <summary>
    /// A column value of a result row as a Tremor value: numbers, booleans, text and bytes as they are, json and jsonb
    /// parsed, timestamps as nanoseconds since the Unix epoch (as ingest_ns), arrays as arrays, other types as text.
    /// </summary>
    public static Value FromColumn(object? value, string dataType) => value switch
    {
        null or DBNull => Value.Null,
        string s when dataType is "json" or "jsonb" => FromJson(s),
        string s => s,
        bool b => b,
        short or int or long => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        float or double => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        decimal m => decimal.IsInteger(m) && m is >= long.MinValue and <= long.MaxValue ? (long)m : (double)m,
        byte[] bytes => Value.From(bytes),
        DateTime t => (t.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100,
        DateTimeOffset t => (t.UtcDateTime - DateTime.UnixEpoch).Ticks * 100,
        Array array => Value.From(array.Cast<object?>().Select(item => FromColumn(item, "")).ToList()),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static Value FromJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return FromJson(document.RootElement);
    }

    private static Value FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => Value.From(Record(element)),
        JsonValueKind.Array => Value.From(element.EnumerateArray().Select(FromJson).ToList()),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number when element.TryGetInt64(out var i) => i,
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => Value.Null,
    };

    private static ValueRecord Record(JsonElement element)
    {
        var record = new ValueRecord();
        foreach (var property in element.EnumerateObject()) record.Set(property.Name, FromJson(property.Value));
        return record;
    }
}
