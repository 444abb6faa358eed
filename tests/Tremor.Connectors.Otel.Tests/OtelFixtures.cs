using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>Builders for the otel tests.</summary>
internal static partial class Fixtures
{
    /// <summary>A sink batch of structured events (no codec: the otel sinks read the values).</summary>
    public static SinkBatch Structured(params Value[] events) => StructuredAt(1_700_000_000_000_000_000UL, events);

    /// <summary>Structured events ingested at <paramref name="ingestNs"/>.</summary>
    public static SinkBatch StructuredAt(ulong ingestNs, params Value[] events) =>
        BackToBack(events.Select(e => (Array.Empty<byte>(), ingestNs, e, Value.Null)).ToArray());

    public static Value List(params Value[] items) => Value.From(items.ToList());

    /// <summary>The events an OTLP body decodes to, over all resources: the log records, metrics or spans.</summary>
    public static IEnumerable<Value> Items(Value data, string signal, string scopes, string items) =>
        data[signal].AsArray()!.SelectMany(r => r[scopes].AsArray()!).SelectMany(s => s[items].AsArray()!);
}
