using Tremor.Actors.Configuration;
using Tremor.Actors.Pipelines;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Flows;

/// <summary>
/// Checks a flow against what is loaded before anything of it starts: connector types, codecs, processors, the
/// connectors' own config (by creating and disposing an instance, which must do no I/O), ports that the connector
/// type actually has, pipeline programs. The first problem is thrown as a <see cref="ConfigException"/>.
/// </summary>
public static class FlowValidator
{
    /// <summary>Validates <paramref name="flow"/>; returns the factories by connector name.</summary>
    public static IReadOnlyDictionary<string, IConnectorFactory> Validate(FlowSpec flow, PluginCatalog catalog)
    {
        RefuseDuplicateLinks(flow);
        var factories = new Dictionary<string, IConnectorFactory>(StringComparer.Ordinal);
        foreach (var c in flow.Connectors)
        {
            IConnectorFactory factory;
            try
            {
                factory = catalog.Connector(c.Type, $"{c.Path}.type", c.Isolation);
            }
            catch (NotSupportedException e)
            {
                throw new ConfigException($"{c.Path}.isolation", e.Message);
            }
            factories[c.Name] = factory;
            if (c.Codec is { } codec) catalog.Codec(codec.Name, $"{c.Path}.codec").Create(codec.Config);
            for (var i = 0; i < c.Preprocessors.Count; i++)
            {
                catalog.Preprocessor(c.Preprocessors[i].Name, $"{c.Path}.preprocessors[{i}]").Create(c.Preprocessors[i].Config);
            }
            for (var i = 0; i < c.Postprocessors.Count; i++)
            {
                catalog.Postprocessor(c.Postprocessors[i].Name, $"{c.Path}.postprocessors[{i}]").Create(c.Postprocessors[i].Config);
            }
            IConnector instance;
            try
            {
                instance = factory.Create(new ConnectorContext(new Connectors.DetachedPluginHost(c.Alias), c.Config));
            }
            catch (ConfigException)
            {
                throw;
            }
            catch (Exception e)
            {
                throw new ConfigException(c.Path, $"connector type '{c.Type}' refused its configuration: {e.Message}");
            }
            instance.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
        foreach (var p in flow.Pipelines)
        {
            if (p.Type != "query")
            {
                PipelinePrograms.Create(p);
                continue;
            }
            var query = PipelinePrograms.Compile(p);
            foreach (var link in flow.Links)
            {
                if (link.To == p.Name && !query.InputPorts.Contains(link.ToPort))
                {
                    throw new ConfigException(link.Path, $"'{link}': pipeline '{p.Name}' has no input port '{link.ToPort}' (its query reads: {string.Join(", ", query.InputPorts)})");
                }
                if (link.From == p.Name && !query.OutputPorts.Contains(link.FromPort))
                {
                    throw new ConfigException(link.Path, $"'{link}': pipeline '{p.Name}' has no output port '{link.FromPort}' (its query writes: {string.Join(", ", query.OutputPorts)})");
                }
            }
        }
        foreach (var link in flow.Links)
        {
            // Every connector has an err port (a sink's quarantined events leave through it); out needs a source side.
            if (factories.TryGetValue(link.From, out var from) && link.FromPort != "err" && !from.Kinds.HasFlag(ConnectorKinds.Source))
            {
                throw new ConfigException(link.Path, $"'{link}': connector '{link.From}' (type {flow.Connectors.First(c => c.Name == link.From).Type}) is a sink only; it has no output port '{link.FromPort}'");
            }
            if (factories.TryGetValue(link.To, out var to) && !to.Kinds.HasFlag(ConnectorKinds.Sink))
            {
                throw new ConfigException(link.Path, $"'{link}': connector '{link.To}' (type {flow.Connectors.First(c => c.Name == link.To).Type}) is a source only; it has no input port '{link.ToPort}'");
            }
        }
        return factories;
    }

    /// <summary>A link listed twice would deliver every event twice: refused, naming both entries.</summary>
    private static void RefuseDuplicateLinks(FlowSpec flow)
    {
        var seen = new Dictionary<(string, string, string, string), LinkSpec>();
        foreach (var link in flow.Links)
        {
            if (seen.TryAdd((link.From, link.FromPort, link.To, link.ToPort), link)) continue;
            var first = seen[(link.From, link.FromPort, link.To, link.ToPort)];
            var firstEntry = first.Path[(first.Path.LastIndexOf('.') + 1)..];
            throw new ConfigException(link.Path, $"'{link}' duplicates {firstEntry}: every event would be delivered twice; remove one of them");
        }
    }
}
