using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tremor.Native.Abi;
using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>
/// The JSON schema a native plugin declares for its config (<c>descriptor.config_schema</c>), enforced before
/// <c>create</c> and used to type what the plugin receives. HOCON's parser does not keep quotes, so the schema is
/// what says that <c>"true"</c> is a string or <c>10s</c> a duration, the way HOCON's own automatic conversions
/// happen when the reader asks for a type. Supported keywords: <c>type</c> (one or a list), <c>properties</c>,
/// <c>required</c>, <c>additionalProperties</c> (false or a schema), <c>items</c>, <c>enum</c>, and
/// <c>format</c> = <c>duration</c> (integer nanoseconds) or <c>size</c> (integer bytes) on an integer. Other
/// keywords are ignored. Every error is one <see cref="ConfigException"/> naming the key path.
/// </summary>
internal sealed class ConfigSchema
{
    private static readonly BigInteger s_u64Max = ulong.MaxValue;

    private readonly Node? _root;
    private readonly string _owner;

    private ConfigSchema(Node? root, string owner)
    {
        _root = root;
        _owner = owner;
    }

    /// <summary>No schema: every value arrives as the runtime read it (see <see cref="ConfigJson"/>).</summary>
    public static ConfigSchema None { get; } = new(null, "");

    /// <summary>
    /// Parses <paramref name="schema"/> (the plugin's, as declared); <paramref name="owner"/> names it in errors.
    /// Throws <see cref="NativePluginException"/> when it is not valid JSON: the plugin's author has to fix that.
    /// </summary>
    public static ConfigSchema Parse(string? schema, string owner)
    {
        if (string.IsNullOrWhiteSpace(schema)) return None;
        try
        {
            using var doc = JsonDocument.Parse(schema);
            return new ConfigSchema(Node.From(doc.RootElement), owner);
        }
        catch (JsonException e)
        {
            throw new NativePluginException($"{owner}: descriptor.config_schema is not valid JSON ({e.Message}); the plugin's author has to fix it", Status.Error);
        }
    }

    /// <summary>Checks <paramref name="config"/> against the schema and writes the JSON object create receives.</summary>
    public byte[] Encode(PluginConfig config)
    {
        var root = _root is null ? ConfigJson.ToNode(Value.From(config.Raw)) : Convert(Value.From(config.Raw), _root, config.Path);
        return JsonSerializer.SerializeToUtf8Bytes(root ?? new JsonObject());
    }

    private JsonNode? Convert(Value value, Node schema, string path)
    {
        var converted = schema.Types is null ? ConfigJson.ToNode(value) : ConvertTyped(value, schema, path);
        if (schema.Enum is { } allowed && !allowed.Contains(Canonical(converted)))
        {
            throw Error(path, $"expected one of {string.Join(", ", allowed)}, found {Describe(value)}");
        }
        return converted;
    }

    private JsonNode? ConvertTyped(Value value, Node schema, string path)
    {
        foreach (var type in schema.Types!)
        {
            if (TryConvert(value, type, schema, path, out var node)) return node;
        }
        throw Error(path, $"expected {string.Join(" or ", schema.Types!.Select(Article))}, found {Describe(value)}");
    }

    private bool TryConvert(Value value, string type, Node schema, string path, out JsonNode? node)
    {
        node = null;
        switch (type)
        {
            case "string":
                if (value.Kind is ValueKind.Array or ValueKind.Record or ValueKind.Null) return false;
                node = JsonValue.Create(value.Kind == ValueKind.String ? value.AsString() : Text(value));
                return true;
            case "boolean":
                if (value.TryGetBool(out var b))
                {
                    node = JsonValue.Create(b);
                    return true;
                }
                switch (value.AsString()?.ToLowerInvariant())
                {
                    case "true" or "yes" or "on": node = JsonValue.Create(true); return true;
                    case "false" or "no" or "off": node = JsonValue.Create(false); return true;
                    default: return false;
                }
            case "integer":
                return TryInteger(value, schema.Format, path, out node);
            case "number":
                if (value.Kind is ValueKind.I64 or ValueKind.U64) return TryInteger(value, null, path, out node);
                if (value.Kind == ValueKind.F64 && double.IsFinite(value.RawF64))
                {
                    node = JsonValue.Create(value.RawF64);
                    return true;
                }
                if (value.AsString() is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    node = BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? Integer(text, path) : JsonValue.Create(d);
                    return true;
                }
                return false;
            case "object":
                if (value.AsRecord() is not { } record) return false;
                node = ConvertRecord(record, schema, path);
                return true;
            case "array":
                if (value.AsArray() is not { } array) return false;
                var list = new JsonArray();
                for (var i = 0; i < array.Count; i++)
                {
                    list.Add(schema.Items is null ? ConfigJson.ToNode(array[i]) : Convert(array[i], schema.Items, $"{path}[{i}]"));
                }
                node = list;
                return true;
            case "null":
                return value.IsNull;
            default:
                return false;
        }
    }

    private JsonObject ConvertRecord(ValueRecord record, Node schema, string path)
    {
        foreach (var key in schema.Required)
        {
            if (!record.TryGetValue(key, out var present) || present.IsNull) throw Error($"{path}.{key}", "is required");
        }
        var result = new JsonObject();
        foreach (var (key, item) in record)
        {
            Node? child = null;
            if (schema.Properties?.TryGetValue(key, out child) != true)
            {
                if (schema.AdditionalPropertiesAllowed == false)
                {
                    var known = schema.Properties?.Keys.ToArray() ?? [];
                    throw Error($"{path}.{key}", known.Length == 0 ? "unknown key; this section takes no keys" : $"unknown key; known keys are: {string.Join(", ", known)}");
                }
                child = schema.AdditionalProperties;
            }
            result[key] = child is null ? ConfigJson.ToNode(item) : Convert(item, child, $"{path}.{key}");
        }
        return result;
    }

    private bool TryInteger(Value value, string? format, string path, out JsonNode? node)
    {
        node = null;
        if (value.TryGetI64(out var l))
        {
            node = JsonValue.Create(l);
            return true;
        }
        if (value.TryGetU64(out var u))
        {
            node = JsonValue.Create(u);
            return true;
        }
        if (value.Kind == ValueKind.F64)
        {
            var f = value.RawF64;
            if (f != Math.Floor(f) || f < long.MinValue || f >= 18446744073709551616.0) return false;
            node = f < 0 ? JsonValue.Create((long)f) : JsonValue.Create((ulong)f);
            return true;
        }
        if (value.AsString() is not { } text) return false;
        text = text.Trim();
        if (format == "duration" && Units.TryDurationNs(text, out var ns))
        {
            node = Integer(ns.ToString(CultureInfo.InvariantCulture), path);
            return true;
        }
        if (format == "size" && Units.TrySizeBytes(text, out var bytes))
        {
            node = Integer(bytes.ToString(CultureInfo.InvariantCulture), path);
            return true;
        }
        if (!BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return false;
        node = Integer(text, path);
        return true;
    }

    /// <summary>An exact integer (no double in between), from -2^63 to 2^64-1.</summary>
    private JsonNode Integer(string digits, string path)
    {
        var n = BigInteger.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (n < long.MinValue || n > s_u64Max) throw Error(path, $"{digits} is out of range: integers go from {long.MinValue} to {ulong.MaxValue}");
        return n < 0 ? JsonValue.Create((long)n) : JsonValue.Create((ulong)n);
    }

    private ConfigException Error(string path, string message) => new(path, $"{message} (the config schema of {_owner})");

    private static string Text(Value value) => value.Kind switch
    {
        ValueKind.Bool => value.TryGetBool(out var b) && b ? "true" : "false",
        ValueKind.String => value.AsString()!,
        _ => value.ToString(),
    };

    private static string Canonical(JsonNode? node) => node?.ToJsonString() ?? "null";

    private static string Article(string type) => type switch
    {
        "integer" => "an integer",
        "object" => "an object",
        "array" => "a list",
        "null" => "null",
        _ => $"a {type}",
    };

    private static string Describe(Value value) => value.Kind switch
    {
        ValueKind.Null => "null",
        ValueKind.Array => "a list",
        ValueKind.Record => "an object",
        ValueKind.String => $"the string \"{value.AsString()}\"",
        _ => value.ToString(),
    };

    /// <summary>One schema, as far as it is enforced.</summary>
    private sealed class Node
    {
        public string[]? Types { get; private init; }

        public string? Format { get; private init; }

        public Dictionary<string, Node>? Properties { get; private init; }

        public string[] Required { get; private init; } = [];

        /// <summary>False when the schema says <c>additionalProperties: false</c>.</summary>
        public bool? AdditionalPropertiesAllowed { get; private init; }

        public Node? AdditionalProperties { get; private init; }

        public Node? Items { get; private init; }

        /// <summary>The allowed values as canonical JSON text.</summary>
        public HashSet<string>? Enum { get; private init; }

        public static Node From(JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object) return new Node();
            string[]? types = null;
            if (e.TryGetProperty("type", out var t))
            {
                types = t.ValueKind switch
                {
                    JsonValueKind.String => [t.GetString()!],
                    JsonValueKind.Array => t.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray(),
                    _ => null,
                };
            }
            Dictionary<string, Node>? properties = null;
            if (e.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                properties = new Dictionary<string, Node>(StringComparer.Ordinal);
                foreach (var property in p.EnumerateObject()) properties[property.Name] = From(property.Value);
            }
            bool? additionalAllowed = null;
            Node? additional = null;
            if (e.TryGetProperty("additionalProperties", out var a))
            {
                if (a.ValueKind == JsonValueKind.False) additionalAllowed = false;
                else if (a.ValueKind == JsonValueKind.Object) additional = From(a);
            }
            return new Node
            {
                Types = types is { Length: > 0 } ? types : null,
                Format = e.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null,
                Properties = properties,
                Required = e.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
                    ? r.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                    : [],
                AdditionalPropertiesAllowed = additionalAllowed,
                AdditionalProperties = additional,
                Items = e.TryGetProperty("items", out var i) && i.ValueKind == JsonValueKind.Object ? From(i) : null,
                Enum = e.TryGetProperty("enum", out var en) && en.ValueKind == JsonValueKind.Array
                    ? en.EnumerateArray().Select(x => JsonNode.Parse(x.GetRawText())?.ToJsonString() ?? "null").ToHashSet(StringComparer.Ordinal)
                    : null,
            };
        }
    }
}

/// <summary>Durations and sizes as HOCON writes them, to exact integers.</summary>
internal static class Units
{
    /// <summary><c>250ms</c>, <c>10s</c>, <c>1.5m</c>, <c>2h</c>, <c>1d</c>, <c>100us</c>, <c>10ns</c> (no unit: milliseconds, as HOCON) to nanoseconds.</summary>
    public static bool TryDurationNs(string text, out BigInteger ns)
    {
        ns = default;
        if (!Split(text, out var number, out var unit)) return false;
        BigInteger? factor = unit switch
        {
            "ns" or "nanos" or "nanosecond" or "nanoseconds" => 1,
            "us" or "micros" or "microsecond" or "microseconds" => 1_000,
            "" or "ms" or "millis" or "millisecond" or "milliseconds" => 1_000_000,
            "s" or "second" or "seconds" => 1_000_000_000,
            "m" or "minute" or "minutes" => 60_000_000_000,
            "h" or "hour" or "hours" => 3_600_000_000_000,
            "d" or "day" or "days" => 86_400_000_000_000,
            _ => null,
        };
        return factor is { } f && Scale(number, f, out ns);
    }

    /// <summary><c>4096</c>, <c>64KiB</c>, <c>512MiB</c>, <c>1GiB</c>, <c>2TiB</c> (K, KB, KiB all 1024, as memory-limit) to bytes.</summary>
    public static bool TrySizeBytes(string text, out BigInteger bytes)
    {
        bytes = default;
        if (!Split(text, out var number, out var unit)) return false;
        BigInteger? factor = unit switch
        {
            "" or "b" or "byte" or "bytes" => 1,
            "k" or "kb" or "kib" => BigInteger.One << 10,
            "m" or "mb" or "mib" => BigInteger.One << 20,
            "g" or "gb" or "gib" => BigInteger.One << 30,
            "t" or "tb" or "tib" => BigInteger.One << 40,
            _ => null,
        };
        return factor is { } f && Scale(number, f, out bytes);
    }

    private static bool Split(string text, out string number, out string unit)
    {
        var s = text.Trim();
        var split = 0;
        while (split < s.Length && (char.IsAsciiDigit(s[split]) || s[split] == '.')) split++;
        number = s[..split];
        unit = s[split..].Trim().ToLowerInvariant();
        return split > 0;
    }

    /// <summary>number * factor, exact (a decimal number must come out whole).</summary>
    private static bool Scale(string number, BigInteger factor, out BigInteger result)
    {
        result = default;
        var dot = number.IndexOf('.');
        var digits = dot < 0 ? number : number.Remove(dot, 1);
        var decimals = dot < 0 ? 0 : number.Length - dot - 1;
        if (digits.Length == 0 || number.Count(c => c == '.') > 1 || !BigInteger.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        var scaled = n * factor;
        var divisor = BigInteger.Pow(10, decimals);
        if (scaled % divisor != 0) return false;
        result = scaled / divisor;
        return true;
    }
}
