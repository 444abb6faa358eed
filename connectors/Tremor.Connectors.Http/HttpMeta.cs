using System.Net;
using Microsoft.AspNetCore.Http;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

/// <summary>Builds and reads the metadata records the connectors share (headers, peers).</summary>
internal static class HttpMeta
{
    /// <summary>Header names lower-cased, each with the array of its values (as in Tremor).</summary>
    public static Value Headers(IHeaderDictionary headers)
    {
        var record = new ValueRecord(headers.Count);
        foreach (var (name, values) in headers) record.Set(name.ToLowerInvariant(), Strings(values));
        return Value.From(record);
    }

    public static Value Headers(IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers)
    {
        var record = new ValueRecord();
        foreach (var (name, values) in headers)
        {
            var key = name.ToLowerInvariant();
            var list = record.TryGetValue(key, out var existing) && existing.AsArray() is { } known ? known : [];
            foreach (var v in values) list.Add(v);
            record.Set(key, Value.From(list));
        }
        return Value.From(record);
    }

    private static Value Strings(IEnumerable<string?> values)
    {
        var list = new List<Value>();
        foreach (var v in values) list.Add(v ?? string.Empty);
        return Value.From(list);
    }

    public static Value Peer(IPAddress? address, int port)
    {
        var record = new ValueRecord(2);
        record.Set("host", address?.ToString() ?? string.Empty);
        record.Set("port", port);
        return Value.From(record);
    }

    /// <summary>
    /// Reads a header record from metadata: each value a string or an array of strings. Null when absent; an error
    /// text when malformed.
    /// </summary>
    public static List<(string Name, string[] Values)>? ReadHeaders(Value headers, out string? error)
    {
        error = null;
        if (headers.IsNull) return null;
        if (headers.AsRecord() is not { } record)
        {
            error = $"headers must be a record, found {headers.Kind.ToString().ToLowerInvariant()}";
            return null;
        }
        var result = new List<(string, string[])>(record.Count);
        foreach (var (name, value) in record)
        {
            if (value.AsString() is { } single)
            {
                result.Add((name, [single]));
            }
            else if (value.AsArray() is { } array && array.All(v => v.Kind == ValueKind.String))
            {
                result.Add((name, array.Select(v => v.AsString()!).ToArray()));
            }
            else
            {
                error = $"header '{name}' must be a string or an array of strings, found {value}";
                return null;
            }
        }
        return result;
    }

    /// <summary>A status code from metadata, or <paramref name="defaultStatus"/> when absent.</summary>
    public static int Status(Value status, int defaultStatus, out string? error)
    {
        error = null;
        if (status.IsNull) return defaultStatus;
        if (status.TryGetI64(out var code) && code is >= 100 and <= 599) return (int)code;
        error = $"status must be an integer from 100 to 599, found {status}";
        return defaultStatus;
    }
}
