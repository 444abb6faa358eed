using System.Buffers;
using System.Text.Json;
using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>A plugin's config section as the UTF-8 JSON object handed to create (once per instance, not per event).</summary>
internal static class ConfigJson
{
    public static byte[] Encode(PluginConfig config)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in config.Raw)
            {
                writer.WritePropertyName(key);
                Write(writer, value);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Bool: writer.WriteBooleanValue(value.AsBool()); break;
            case ValueKind.I64: writer.WriteNumberValue(value.RawI64); break;
            case ValueKind.U64: value.TryGetU64(out var u); writer.WriteNumberValue(u); break;
            case ValueKind.F64:
                if (double.IsFinite(value.RawF64)) writer.WriteNumberValue(value.RawF64);
                else writer.WriteNullValue();
                break;
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
            default: writer.WriteNullValue(); break;
        }
    }
}
