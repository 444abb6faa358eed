using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Plugins;

/// <summary>
/// A plugin file that passed every load-time check (trust, format, ABI and layout or PDK version, manifest) and is
/// loaded but not registered: the first half of a hot swap. <see cref="CheckReplaces"/> compares it with the version
/// it would replace; <see cref="PluginDiscovery.Replace"/> registers it. Disposing a staged plugin that was not
/// registered unloads it again.
/// </summary>
public sealed class StagedPlugin : IDisposable
{
    private readonly IDisposable _handle;
    private readonly Func<IsolationSettings, IConnectorFactory>? _isolated;
    private bool _registered;

    internal StagedPlugin(PluginRecord record, IReadOnlyList<IConnectorFactory> connectors, IReadOnlyList<string> codecs, IDisposable handle, Action<PluginCatalog> register, Func<IsolationSettings, IConnectorFactory>? isolated)
    {
        Record = record;
        Connectors = connectors;
        Codecs = codecs;
        _handle = handle;
        Register = register;
        _isolated = isolated;
    }

    /// <summary>What <c>GET /v1/plugins</c> lists for it once registered.</summary>
    public PluginRecord Record { get; }

    /// <summary>The connector types it provides.</summary>
    public IReadOnlyList<IConnectorFactory> Connectors { get; }

    /// <summary>The codecs it provides itself.</summary>
    public IReadOnlyList<string> Codecs { get; }

    internal Action<PluginCatalog> Register { get; }

    /// <summary>The handle that unloads it (its load context, or its library once no instance is left).</summary>
    internal IDisposable Commit()
    {
        _registered = true;
        return _handle;
    }

    /// <summary>
    /// Everything that must hold for this file to replace the loaded plugin <paramref name="name"/> under
    /// <paramref name="flows"/> while they run: the same plugin name, every connector type the old version provides
    /// (no type another plugin provides), default codecs that exist, and for each running connector of those types the
    /// same sides and default codec, and its configuration accepted by the new version. Throws
    /// <see cref="PluginRefusedException"/> with the first problem; nothing is changed either way.
    /// </summary>
    public void CheckReplaces(string name, PluginCatalog catalog, IEnumerable<FlowSpec> flows)
    {
        var path = Record.Path;
        if (!string.Equals(Record.Name, name, StringComparison.Ordinal))
        {
            throw new PluginRefusedException($"{path}: is plugin '{Record.Name}', not '{name}'; a swap replaces a plugin by a version of the same plugin (PUT /v1/plugins/{Record.Name} replaces that one, POST /v1/plugins loads it beside)");
        }
        var types = Connectors.ToDictionary(c => c.Type, StringComparer.Ordinal);
        var oldTypes = catalog.ConnectorTypes.Where(t => catalog.PluginOf(t) == name).ToList();
        var missing = oldTypes.Where(t => !types.ContainsKey(t)).ToList();
        if (missing.Count > 0)
        {
            throw new PluginRefusedException($"{path}: does not provide connector type(s) {string.Join(", ", missing)} that the loaded '{name}' provides (it provides: {string.Join(", ", types.Keys.Order(StringComparer.Ordinal))}); a swap keeps every connector type, so flows using them keep working");
        }
        foreach (var type in types.Keys)
        {
            if (catalog.PluginOf(type) is { } owner && owner != name)
            {
                throw new PluginRefusedException($"{path}: connector type '{type}' is already provided by plugin '{owner}'");
            }
        }
        foreach (var factory in Connectors)
        {
            if (factory.DefaultCodec is { } codec && !Codecs.Contains(codec, StringComparer.Ordinal) && !CodecExists(catalog, codec))
            {
                throw new PluginRefusedException($"{path}: connector type '{factory.Type}' names default codec '{codec}', which neither the runtime nor a loaded plugin provides");
            }
        }
        foreach (var flow in flows)
        {
            foreach (var c in flow.Connectors.Where(c => types.ContainsKey(c.Type)))
            {
                CheckConnector(c, catalog.Connector(c.Type, $"{c.Path}.type"), types[c.Type]);
            }
        }
    }

    private void CheckConnector(ConnectorSpec c, IConnectorFactory old, IConnectorFactory next)
    {
        var path = Record.Path;
        if ((next.Kinds & old.Kinds) != old.Kinds)
        {
            throw new PluginRefusedException($"{path}: connector type '{c.Type}' is {next.Kinds.ToString().ToLowerInvariant()} in the new version but {old.Kinds.ToString().ToLowerInvariant()} in the loaded one, and {c.Alias} uses it ({c.Path})");
        }
        if (c.Codec is null && !string.Equals(old.DefaultCodec, next.DefaultCodec, StringComparison.Ordinal))
        {
            throw new PluginRefusedException($"{path}: connector type '{c.Type}' changes its default codec from '{old.DefaultCodec ?? "none"}' to '{next.DefaultCodec ?? "none"}', and {c.Alias} relies on it; name the codec in {c.Path}.codec (redeploy), then swap");
        }
        IConnectorFactory factory;
        try
        {
            factory = Factory(next, c);
            var instance = factory.Create(new ConnectorContext(new DetachedPluginHost(c.Alias), c.Config));
            instance.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
        catch (Exception e)
        {
            var reason = e is ConfigException ce ? ce.Message : $"{e.GetType().Name}: {e.Message}";
            throw new PluginRefusedException($"{path}: the new version refuses the configuration of running connector {c.Alias}: {reason}");
        }
    }

    /// <summary>The factory a connector of <paramref name="c"/>'s isolation would get from this version.</summary>
    private IConnectorFactory Factory(IConnectorFactory inProcess, ConnectorSpec c)
    {
        if (c.Isolation.Mode != "process") return inProcess;
        return _isolated is not null
            ? _isolated(c.Isolation)
            : throw new ConfigException($"{c.Path}.isolation", $"connector type '{c.Type}' is a managed plugin in the new version; isolation = process is for native plugins");
    }

    private static bool CodecExists(PluginCatalog catalog, string codec)
    {
        try
        {
            catalog.Codec(codec, "codec");
            return true;
        }
        catch (ConfigException)
        {
            return false;
        }
    }

    /// <summary>Unloads it, unless it was registered.</summary>
    public void Dispose()
    {
        if (!_registered) _handle.Dispose();
    }
}
