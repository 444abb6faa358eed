using System.Text.Json;
using Tremor.Actors.Configuration;
using Tremor.Native;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>Bridges native plugin files (checked and loaded by Tremor.Native) into the catalog and the CLI.</summary>
internal static class NativePlugins
{
    /// <summary>Checks a native plugin file (in a child process: nothing of it runs here); throws <see cref="PluginRefusedException"/>.</summary>
    public static NativePlugin Check(string path, string? expectedSha256, TimeSpan inspectTimeout)
    {
        try
        {
            return NativePluginLoader.Load(path, expectedSha256, inspectTimeout);
        }
        catch (NativePluginRefusedException e)
        {
            throw new PluginRefusedException(e.Message);
        }
    }

    /// <summary>Registers a checked native plugin's connector type; throws <see cref="PluginRefusedException"/> on a conflict.</summary>
    public static PluginRecord Register(string path, NativePlugin plugin, PluginCatalog catalog)
    {
        try
        {
            var schema = plugin.Inspection.ConfigSchema;
            catalog.RegisterConnector(
                plugin.Manifest.Name,
                new SchemaCheckedFactory(plugin.ConnectorFactory, schema),
                isolation => new SchemaCheckedFactory(plugin.CreateIsolatedFactory(Options(isolation)), schema));
        }
        catch (InvalidOperationException e)
        {
            throw new PluginRefusedException($"{path}: {e.Message}");
        }
        var kinds = plugin.ConnectorFactory.Kinds.ToString().ToLowerInvariant().Replace(", ", "+");
        return new PluginRecord(plugin.Manifest.Name, plugin.Manifest.Version, $"native connector ({kinds})", plugin.Manifest.PdkVersion, path, PluginStatus.Loaded, null, [$"connector:{plugin.ConnectorFactory.Type}"]);
    }

    /// <summary>A connector's isolation settings as the plugin host takes them (one place, for loads and swaps).</summary>
    private static IsolationOptions Options(IsolationSettings isolation) =>
        new(isolation.CallTimeout, isolation.MemoryLimitBytes, isolation.MaxRegionBytes) { FollowCallerCpu = isolation.HostCpu == "follow" };

    /// <summary>Checks and loads a native plugin for a hot swap, registering nothing (see <see cref="StagedPlugin"/>).</summary>
    public static StagedPlugin Stage(string path, string? expectedSha256, TimeSpan inspectTimeout)
    {
        var plugin = Check(path, expectedSha256, inspectTimeout);
        var schema = plugin.Inspection.ConfigSchema;
        var factory = new SchemaCheckedFactory(plugin.ConnectorFactory, schema);
        IConnectorFactory Isolated(IsolationSettings isolation) =>
            new SchemaCheckedFactory(plugin.CreateIsolatedFactory(Options(isolation)), schema);
        var kinds = plugin.ConnectorFactory.Kinds.ToString().ToLowerInvariant().Replace(", ", "+");
        var record = new PluginRecord(plugin.Manifest.Name, plugin.Manifest.Version, $"native connector ({kinds})", plugin.Manifest.PdkVersion, path, PluginStatus.Loaded, null, [$"connector:{factory.Type}"]);
        return new StagedPlugin(record, [factory], [], plugin, catalog => catalog.RegisterConnector(plugin.Manifest.Name, factory, Isolated), Isolated);
    }

    public static PluginInspection Inspect(string path, TimeSpan inspectTimeout)
    {
        var inspection = NativePluginLoader.Inspect(path, null, inspectTimeout);
        // Everything the descriptor says is the plugin's text: printed escaped, never raw.
        var lines = new List<string>
        {
            $"file:        {PluginNames.Printable(path)}",
            "type:        native (C ABI)",
            $"name:        {(inspection.Name is null ? "?" : PluginNames.Printable(inspection.Name))}",
            $"version:     {(inspection.Version is null ? "?" : PluginNames.Printable(inspection.Version))}",
            $"kind:        {inspection.Kinds.ToString().ToLowerInvariant()}",
            $"abi:         {inspection.AbiMajor}.{inspection.AbiMinor}",
            $"description: {PluginNames.Printable(inspection.Description ?? "")}",
            $"codec:       {(inspection.DefaultCodec is null ? "none" : PluginNames.Printable(inspection.DefaultCodec))}",
            $"sha256:      {inspection.Sha256 ?? "?"}",
            $"config schema: {(inspection.ConfigSchema is null ? "none" : PluginNames.Printable(inspection.ConfigSchema))}",
        };
        foreach (var check in inspection.Checks)
        {
            lines.Add($"check {check.Name}: {(check.Passed ? "ok" : "FAIL")}{(string.IsNullOrEmpty(check.Detail) ? "" : $" ({PluginNames.Printable(check.Detail)})")}");
        }
        if (inspection.Accepted && inspection.DefaultCodec is { } codec && !new PluginCatalog().HasCodec(codec))
        {
            var reason = $"{path}: descriptor.default_codec: expected a codec this runtime has, found {PluginNames.Quote(codec)}";
            lines.Add($"check default codec: FAIL ({PluginNames.Printable(reason)})");
            return new PluginInspection(false, reason, lines);
        }
        return new PluginInspection(inspection.Accepted, inspection.Refusal, lines);
    }
}

/// <summary>
/// Checks a native connector's config against the top level of the JSON schema its plugin declares before the plugin
/// sees it: with <c>additionalProperties: false</c>, an unknown key is a <see cref="ConfigException"/> naming it and the
/// known ones, as for managed connectors.
/// </summary>
internal sealed class SchemaCheckedFactory(IConnectorFactory inner, string? schema) : IConnectorFactory, Flows.IConnectorConfigCheck
{
    private readonly string[]? _known = KnownKeys(schema);

    public string Type => inner.Type;

    public string Description => inner.Description;

    public ConnectorKinds Kinds => inner.Kinds;

    public string? DefaultCodec => inner.DefaultCodec;

    public IConnector Create(ConnectorContext context)
    {
        CheckConfig(context.Config);
        return inner.Create(context);
    }

    public void CheckConfig(PluginConfig config)
    {
        if (_known is not null) config.RejectUnknownKeys(_known);
    }

    private static string[]? KnownKeys(string? schema)
    {
        if (string.IsNullOrWhiteSpace(schema)) return null;
        try
        {
            using var doc = JsonDocument.Parse(schema);
            var root = doc.RootElement;
            if (!root.TryGetProperty("additionalProperties", out var additional) || additional.ValueKind != JsonValueKind.False) return null;
            return root.TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => p.Name).ToArray() : [];
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
