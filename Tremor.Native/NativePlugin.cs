using System.Runtime.InteropServices;
using Tremor.Native.Connectors;
using Tremor.Native.Isolation;
using Tremor.Pdk;

namespace Tremor.Native;

/// <summary>
/// A loaded, checked native plugin: its manifest and the connector factory the runtime registers. The library stays
/// loaded until <see cref="Dispose"/> was called AND every instance was destroyed.
/// </summary>
public sealed class NativePlugin : IDisposable
{
    private readonly Lock _gate = new();
    private nint _handle;
    private int _liveInstances;
    private bool _disposed;

    internal NativePlugin(string path, nint handle, NativeInspection inspection, PluginDescriptor descriptor)
    {
        Path = path;
        _handle = handle;
        Inspection = inspection;
        Descriptor = descriptor;
        Manifest = new PluginManifest(descriptor.Name, descriptor.Version, descriptor.Description ?? "", $"abi {descriptor.AbiMajor}.{descriptor.AbiMinor}");
        ConnectorFactory = new NativeConnectorFactory(this);
        _configSchema = new Lazy<ConfigSchema>(() => ConfigSchema.Parse(inspection.ConfigSchema, $"{descriptor.Name} ({path})"));
    }

    private readonly Lazy<ConfigSchema> _configSchema;

    /// <summary>The plugin's config schema, enforced before every create (in-process and isolated).</summary>
    internal ConfigSchema ConfigSchema => _configSchema.Value;

    /// <summary>The file as given to the loader.</summary>
    public string Path { get; }

    /// <summary>Name, version, description; <see cref="PluginManifest.PdkVersion"/> is <c>abi MAJOR.MINOR</c> of the plugin.</summary>
    public PluginManifest Manifest { get; }

    /// <summary>The connector type the plugin provides (<see cref="IConnectorFactory.Type"/> = the plugin's name).</summary>
    public IConnectorFactory ConnectorFactory { get; }

    /// <summary>
    /// A factory whose instances run this same plugin file in a separate plugin host process (isolation = process):
    /// a crash, abort or hang of the plugin fails the call in flight instead of the runtime.
    /// </summary>
    /// <exception cref="NativePluginException">The plugin host program (tremor-plugin-host) was not found.</exception>
    public IConnectorFactory CreateIsolatedFactory(IsolationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
        return new IsolatedConnectorFactory(
            Path, Descriptor.Name, ConnectorFactory.Description, Descriptor.Kinds, Descriptor.DefaultCodec, Descriptor.Flags, options)
        {
            ConfigSchema = ConfigSchema,
        };
    }

    /// <summary>The checks it passed.</summary>
    public NativeInspection Inspection { get; }

    /// <summary>Instances created and not yet destroyed.</summary>
    public int LiveInstances => Volatile.Read(ref _liveInstances);

    /// <summary>True once <see cref="Dispose"/> was called (no new instances).</summary>
    public bool IsDisposed
    {
        get
        {
            lock (_gate) return _disposed;
        }
    }

    internal PluginDescriptor Descriptor { get; }

    /// <summary>No new instances; the library is freed once the last instance is destroyed (at once if none live).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            FreeIfUnused();
        }
    }

    internal void InstanceCreating()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _liveInstances++;
        }
    }

    internal void InstanceDestroyed()
    {
        lock (_gate)
        {
            _liveInstances--;
            FreeIfUnused();
        }
    }

    private void FreeIfUnused()
    {
        if (_disposed && _liveInstances == 0 && _handle != 0)
        {
            NativeLibrary.Free(_handle);
            _handle = 0;
        }
    }
}
