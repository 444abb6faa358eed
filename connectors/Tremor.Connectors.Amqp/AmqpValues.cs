using System.Text;
using RabbitMQ.Client;
using Tremor.Pdk;

namespace Tremor.Connectors.Amqp;

/// <summary>Header tables between AMQP field values and Tremor values.</summary>
internal static class AmqpValues
{
    /// <summary>
    /// An AMQP field table as a record. The client hands strings over as their UTF-8 bytes (AMQP long strings carry no
    /// encoding): they become strings when they are valid UTF-8, bytes otherwise.
    /// </summary>
    public static Value FromTable(IDictionary<string, object?> table)
    {
        var record = new ValueRecord(table.Count);
        foreach (var (name, value) in table) record.Set(name, From(value));
        return Value.From(record);
    }

    private static Value From(object? value) => value switch
    {
        null => Value.Null,
        byte[] bytes => Utf8(bytes),
        string text => text,
        bool b => b,
        sbyte or byte or short or ushort or int or uint or long => Value.From(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        ulong u => Value.From(u),
        float or double or decimal => Value.From(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
        AmqpTimestamp timestamp => timestamp.UnixTime,
        IDictionary<string, object?> nested => FromTable(nested),
        IEnumerable<object?> list => Value.From(list.Select(From).ToList()),
        _ => value.ToString(),
    };

    private static Value Utf8(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Value.From(bytes);
        }
    }

    /// <summary>A record as an AMQP field table (strings, integers, floats, booleans, bytes, nested records and arrays).</summary>
    public static Dictionary<string, object?> ToTable(ValueRecord record)
    {
        var table = new Dictionary<string, object?>(record.Count, StringComparer.Ordinal);
        foreach (var (name, value) in record) table[name] = To(value);
        return table;
    }

    private static object? To(Value value) => value.Kind switch
    {
        ValueKind.Null => null,
        ValueKind.Bool => value.AsBool(),
        ValueKind.I64 => value.TryGetI64(out var i) ? i : 0L,
        ValueKind.U64 => value.TryGetU64(out var u) ? (decimal)u : 0m,
        ValueKind.F64 => value.RawF64,
        ValueKind.String => value.AsString(),
        ValueKind.Bytes => value.AsBytes(),
        ValueKind.Array => value.AsArray()!.Select(To).ToList(),
        ValueKind.Record => ToTable(value.AsRecord()!),
        _ => value.ToString(),
    };
}
