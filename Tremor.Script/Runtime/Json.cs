using System.Text;
using System.Text.Json;
using Tremor.Pdk;

namespace Tremor.Script.Runtime;

/// <summary>JSON text to and from <see cref="Value"/> for <c>json::</c> functions.</summary>
internal static class Json
{
    public static Value Decode(string text)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { AllowTrailingCommas = false });
        try
        {
            if (!reader.Read()) throw new FunctionError("json::decode: empty input");
            var v = Read(ref reader);
            if (reader.Read()) throw new FunctionError("json::decode: trailing data after the JSON value");
            return v;
        }
        catch (JsonException e)
        {
            throw new FunctionError($"json::decode: {e.Message}");
        }
    }

    private static Value Read(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return Value.Null;
            case JsonTokenType.True: return Value.True;
            case JsonTokenType.False: return Value.False;
            case JsonTokenType.String: return Value.From(reader.GetString());
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var l)) return Value.From(l);
                if (reader.TryGetUInt64(out var u)) return Value.From(u);
                return Value.From(reader.GetDouble());
            case JsonTokenType.StartArray:
                {
                    var list = new List<Value>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(Read(ref reader));
                    return Value.From(list);
                }
            case JsonTokenType.StartObject:
                {
                    var record = new ValueRecord();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        record.Set(key, Read(ref reader));
                    }
                    return Value.From(record);
                }
            default: throw new FunctionError($"json::decode: unexpected {reader.TokenType}");
        }
    }

    public static string Encode(Value v, bool pretty)
    {
        if (!pretty) return v.ToString();
        using var doc = JsonDocument.Parse(v.ToString());
        return JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true });
    }
}
