using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>json</c> codec: one UTF-8 JSON document per event. Decoding maps integers to I64 (U64 above
/// <see cref="long.MaxValue"/>), other numbers to F64, objects to records (duplicate keys: the last wins); encoding writes
/// compact JSON, bytes as base64 strings; with <c>mode = sorted</c> (Tremor's <c>sorted</c> mode) every record's keys in
/// ordinal order, for output that compares byte for byte. Stateless and safe to share between threads.
/// </summary>
public sealed class JsonCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "json";

    private readonly bool _sorted;

    /// <summary>A codec writing keys in the records' order.</summary>
    public JsonCodec()
    {
    }

    /// <summary>A codec writing keys in ordinal order when <paramref name="sorted"/>.</summary>
    public JsonCodec(bool sorted)
    {
        _sorted = sorted;
    }

    /// <summary>A codec from its flow configuration: <c>mode</c> = <c>unsorted</c> (default) or <c>sorted</c>.</summary>
    public static JsonCodec FromConfig(PluginConfig config)
    {
        config.RejectUnknownKeys("mode");
        var mode = config.GetString("mode", "unsorted");
        return mode switch
        {
            "unsorted" => new JsonCodec(false),
            "sorted" => new JsonCodec(true),
            _ => throw new ConfigException(ProcessorConfig.PathOf(config, "mode"), $"must be sorted or unsorted, found '{mode}'"),
        };
    }

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error) =>
        JsonDecoder.TryDecode(data.Span, out value, out error);

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, bool immutable, out Value value, out string? error) =>
        immutable ? JsonDecoder.TryDecodeImmutable(data, out value, out error) : JsonDecoder.TryDecode(data.Span, out value, out error);

    /// <summary>Decodes a span (the same as <see cref="TryDecode(ReadOnlyMemory{byte}, out Value, out string?)"/>).</summary>
    public bool TryDecode(ReadOnlySpan<byte> data, out Value value, out string? error) =>
        JsonDecoder.TryDecode(data, out value, out error);

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        if (_sorted) JsonEncoder.EncodeSorted(value, output);
        else JsonEncoder.Encode(value, output);
    }
}
