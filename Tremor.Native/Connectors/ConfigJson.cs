using System.Text.Json.Nodes;
using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>
/// A plugin's config section as the UTF-8 JSON object handed to create (once per instance, not per event). Where the
/// plugin's schema types a key, <see cref="ConfigSchema"/> converts to that type; elsewhere a value arrives as the
/// runtime read it: <c>true</c>/<c>false</c> booleans, integers exact (i64, or u64 above it), other numbers as
/// JSON numbers, everything else (<c>on</c>, <c>10s</c>, <c>64MiB</c>) as the string written.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The config without a schema.</summary>
    public static byte[] Encode(PluginConfig config) => ConfigSchema.None.Encode(config);

    /// <summary>One value without a schema.</summary>
    public static JsonNode? ToNode(Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Bool: return JsonValue.Create(value.AsBool());
            case ValueKind.I64: return JsonValue.Create(value.RawI64);
            case ValueKind.U64: value.TryGetU64(out var u); return JsonValue.Create(u);
            case ValueKind.F64: return double.IsFinite(value.RawF64) ? JsonValue.Create(value.RawF64) : null;
            case ValueKind.String: return JsonValue.Create(value.AsString());
            case ValueKind.Bytes: return JsonValue.Create(Convert.ToBase64String(value.AsBytes()!));
            case ValueKind.Array:
                var array = new JsonArray();
                foreach (var item in value.AsArray()!) array.Add(ToNode(item));
                return array;
            case ValueKind.Record:
                var record = new JsonObject();
                foreach (var (key, item) in value.AsRecord()!) record[key] = ToNode(item);
                return record;
            default: return null;
        }
    }
}
