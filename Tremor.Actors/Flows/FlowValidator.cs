using Tremor.Actors.Configuration;
using Tremor.Actors.Pipelines;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Flows;

/// <summary>
/// A flow that passed <see cref="FlowValidator.Validate"/>: the connector factories it resolved and the pipeline
/// programs it compiled, handed on to the deploy so nothing is looked up or compiled a second time (a query file
/// changed after the check cannot make the deploy fail half-way).
/// </summary>
public sealed record ValidatedFlow(FlowSpec Spec, IReadOnlyDictionary<string, IConnectorFactory> Factories, IReadOnlyDictionary<string, Func<IPipelineProgram>> Programs);

/// <summary>
/// Checks a flow against what is loaded before anything of it starts: connector types, codecs, processors, the
/// connectors' own config, ports that the connector type actually has, pipeline programs (compiled here, once).
/// The first problem is thrown as a <see cref="ConfigException"/>.
/// </summary>
/// <remarks>
/// A connector's config is checked by its factory: a managed or in-process native factory checks it in
/// <c>Create</c> (which the PDK and the ABI forbid to do I/O; the instance is disposed at once), a process-isolated
/// one against its plugin's schema only, since an instance of it is a host process. Runs on the caller's thread:
/// the world runs it off its own (see <see cref="World"/>).
/// </remarks>
public static class FlowValidator
{
    /// <summary>Validates <paramref name="flow"/>; returns what the deploy needs.</summary>
    public static ValidatedFlow Validate(FlowSpec flow, PluginCatalog catalog)
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
            if (c.Codec is { } codec)
            {
                catalog.Codec(codec.Name, $"{c.Path}.codec").Create(codec.Config);
            }
            else if (factory.DefaultCodec is { } defaultCodec)
            {
                // Not written in the flow, but the connector starts with it: a missing one would fail it at start.
                try
                {
                    catalog.Codec(defaultCodec, $"{c.Path}.codec");
                }
                catch (ConfigException e)
                {
                    throw new ConfigException($"{c.Path}.codec", $"connector type '{c.Type}' uses codec '{defaultCodec}' unless the flow names one, and {e.Message}; set codec = ... to one that is loaded");
                }
            }
            for (var i = 0; i < c.Preprocessors.Count; i++)
            {
                catalog.Preprocessor(c.Preprocessors[i].Name, $"{c.Path}.preprocessors[{i}]").Create(c.Preprocessors[i].Config);
            }
            for (var i = 0; i < c.Postprocessors.Count; i++)
            {
                catalog.Postprocessor(c.Postprocessors[i].Name, $"{c.Path}.postprocessors[{i}]").Create(c.Postprocessors[i].Config);
            }
            CheckConnectorConfig(c, factory);
        }
        var programs = new Dictionary<string, Func<IPipelineProgram>>(StringComparer.Ordinal);
        foreach (var p in flow.Pipelines)
        {
            if (p.Type != "query")
            {
                PipelinePrograms.Create(p);
                programs[p.Name] = () => PipelinePrograms.Create(p);
                continue;
            }
            var query = PipelinePrograms.Compile(p);
            programs[p.Name] = () => new QueryProgram(query.Instantiate());
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
        return new ValidatedFlow(flow, factories, programs);
    }

    private static void CheckConnectorConfig(ConnectorSpec c, IConnectorFactory factory)
    {
        if (c.Isolation.Mode == "process" && factory is IConnectorConfigCheck check)
        {
            // An instance would be a plugin host process: the schema is what can be checked without starting one.
            check.CheckConfig(c.Config);
            return;
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

/// <summary>
/// A connector factory that can check a config without creating an instance. The validator uses it for
/// process-isolated connectors, whose instances are plugin host processes.
/// </summary>
internal interface IConnectorConfigCheck
{
    /// <summary>Throws a <see cref="ConfigException"/> naming the key when <paramref name="config"/> is bad.</summary>
    void CheckConfig(PluginConfig config);
}
