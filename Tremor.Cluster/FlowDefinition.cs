using Akka.Configuration;
using Tremor.Actors.Configuration;
using System.Text;
using System.Text.Json;
using Tremor.Pdk;

namespace Tremor.Cluster;

/// <summary>
/// A flow as the cluster keeps it in its desired state: the flow's own section as text (JSON, which is HOCON), so
/// every node parses and validates it with its own plugins, and nothing but strings crosses the wire.
/// </summary>
/// <param name="Name">The flow's name, the key of the desired state.</param>
/// <param name="Text">HOCON text holding <c>tremor.flows.NAME { ... }</c> and nothing else.</param>
public sealed record FlowDefinition(string Name, string Text)
{
    /// <summary>The flows of a parsed file, one definition each, in file order.</summary>
    public static IReadOnlyList<FlowDefinition> FromConfig(Config config, IEnumerable<FlowSpec> flows)
    {
        var tremor = TremorConfig.ToValue(config.GetValue("tremor"), "tremor").AsRecord();
        var section = tremor is not null && tremor.TryGetValue("flows", out var f) ? f.AsRecord() : null;
        var result = new List<FlowDefinition>();
        foreach (var flow in flows)
        {
            if (section is null || !section.TryGetValue(flow.Name, out var body)) continue;
            result.Add(FromValue(flow.Name, body));
        }
        return result;
    }

    /// <summary>A definition from a flow's section as a value tree.</summary>
    public static FlowDefinition FromValue(string name, Value body)
    {
        var flows = new ValueRecord();
        flows.Set(name, body);
        var tremorRecord = new ValueRecord();
        tremorRecord.Set("flows", Value.From(flows));
        var root = new ValueRecord();
        root.Set("tremor", Value.From(tremorRecord));
        return new FlowDefinition(name, ToJson(Value.From(root)));
    }

    /// <summary>Parses the definition back into a spec; a <see cref="ConfigException"/> names the flow.</summary>
    public FlowSpec Parse()
    {
        var source = $"cluster flow '{Name}'";
        var settings = TremorConfig.ReadSettings(TremorConfig.Parse(Text, source), source);
        return settings.Flows.SingleOrDefault(f => f.Name == Name)
            ?? throw new ConfigException(source, $"the definition holds no flow named '{Name}'");
    }

    /// <summary>What a node needs to run <paramref name="spec"/>, in the terms of <see cref="Tremor.Actors.Plugins.PluginCatalog.Inventory"/>.</summary>
    public static IReadOnlyList<string> Requirements(FlowSpec spec)
    {
        var needs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in spec.Connectors)
        {
            needs.Add($"connector:{c.Type}");
            if (c.Codec is { } codec) needs.Add($"codec:{codec.Name}");
            foreach (var p in c.Preprocessors) needs.Add($"preprocessor:{p.Name}");
            foreach (var p in c.Postprocessors) needs.Add($"postprocessor:{p.Name}");
        }
        return needs.ToList();
    }

    /// <summary>The connectors of <paramref name="spec"/> whose resources stay on the node (files, stdin).</summary>
    public static IReadOnlyList<string> NodeLocalConnectors(FlowSpec spec, IReadOnlyList<string> nodeLocalTypes) =>
        spec.Connectors.Where(c => nodeLocalTypes.Contains(c.Type, StringComparer.Ordinal)).Select(c => $"{c.Name} ({c.Type})").ToList();

    private static string ToJson(Value value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, value);
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, Value value)
    {
        if (value.AsRecord() is { } record)
        {
            writer.WriteStartObject();
            foreach (var (key, child) in record)
            {
                writer.WritePropertyName(key);
                Write(writer, child);
            }
            writer.WriteEndObject();
        }
        else if (value.AsArray() is { } array)
        {
            writer.WriteStartArray();
            foreach (var item in array) Write(writer, item);
            writer.WriteEndArray();
        }
        else if (value.AsString() is { } text) writer.WriteStringValue(text);
        else if (value.TryGetBool(out var b)) writer.WriteBooleanValue(b);
        else if (value.TryGetI64(out var l)) writer.WriteNumberValue(l);
        else if (value.TryGetF64(out var d)) writer.WriteNumberValue(d);
        else writer.WriteNullValue();
    }
}
