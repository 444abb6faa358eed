using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>json</c> codec: one UTF-8 JSON document per event. Decoding maps integers to I64 (U64 above
/// <see cref="long.MaxValue"/>), other numbers to F64, objects to records (duplicate keys: the last wins); encoding writes
/// compact JSON, bytes as base64 strings. Stateless and safe to share between threads.
/// </summary>
public sealed class JsonCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "json";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error) =>
        JsonDecoder.TryDecode(data.Span, out value, out error);

    /// <summary>Decodes a span (the same as <see cref="TryDecode(ReadOnlyMemory{byte}, out Value, out string?)"/>).</summary>
    public bool TryDecode(ReadOnlySpan<byte> data, out Value value, out string? error) =>
        JsonDecoder.TryDecode(data, out value, out error);

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output) => JsonEncoder.Encode(value, output);
}
