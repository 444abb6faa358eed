using Tremor.Pdk;

namespace Tremor.Native.Connectors;

/// <summary>The <see cref="IConnectorFactory"/> of a native plugin: creates a plugin instance per connector.</summary>
internal sealed class NativeConnectorFactory : IConnectorFactory
{
    private readonly NativePlugin _plugin;

    public NativeConnectorFactory(NativePlugin plugin)
    {
        _plugin = plugin;
    }

    public string Type => _plugin.Descriptor.Name;

    public string Description => _plugin.Descriptor.Description ?? $"native plugin {_plugin.Descriptor.Name} {_plugin.Descriptor.Version}";

    public ConnectorKinds Kinds => _plugin.Descriptor.Kinds;

    public string? DefaultCodec => _plugin.Descriptor.DefaultCodec;

    /// <summary>Calls the plugin's create (config validation, no I/O); a TREMOR_ERROR_CONFIG becomes a <see cref="ConfigException"/>.</summary>
    public IConnector Create(ConnectorContext context) => new NativeConnector(_plugin, context);
}
