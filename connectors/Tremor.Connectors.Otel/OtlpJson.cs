using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Tremor.Connectors.Otel;

/// <summary>
/// OTLP/JSON: protobuf's JSON mapping with two differences the OTLP spec makes, handled here around Google.Protobuf's
/// parser and formatter: trace and span ids are hex, not base64, and enums are integers. Unknown fields are ignored on
/// the way in, as the spec asks of receivers.
/// </summary>
internal static class OtlpJson
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));
    private static readonly HashSet<string> IdFields = new(StringComparer.Ordinal)
    {
        "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id",
    };

    /// <summary>Parses an OTLP/JSON body; an <see cref="InvalidProtocolBufferException"/> or <see cref="FormatException"/> says why not.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> utf8)
        where T : IMessage, new()
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new FormatException($"invalid JSON: {e.Message}");
        }
        if (root is not JsonObject) throw new FormatException("an OTLP/JSON body is a JSON object");
        Rewrite(root, hexToBase64: true);
        return Parser.Parse<T>(root.ToJsonString());
    }

    /// <summary>A message as OTLP/JSON text.</summary>
    public static string Format(IMessage message)
    {
        var root = JsonNode.Parse(Formatter.Format(message))!;
        Rewrite(root, hexToBase64: false);
        return root.ToJsonString();
    }

    private static void Rewrite(JsonNode node, bool hexToBase64)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o.ToList())
                {
                    if (child is null) continue;
                    if (IdFields.Contains(key) && child is JsonValue v && v.TryGetValue<string>(out var text))
                    {
                        o[key] = hexToBase64 ? HexToBase64(key, text) : Convert.ToHexStringLower(Convert.FromBase64String(text));
                    }
                    else
                    {
                        Rewrite(child, hexToBase64);
                    }
                }
                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null) Rewrite(child, hexToBase64);
                }
                break;
        }
    }

    private static string HexToBase64(string key, string hex)
    {
        try
        {
            return Convert.ToBase64String(Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            throw new FormatException($"{key} '{hex}' is not hex (OTLP/JSON writes trace and span ids as hex)");
        }
    }
}
