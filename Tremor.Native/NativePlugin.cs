using System.Runtime.InteropServices;
using Tremor.Native.Abi;
using Tremor.Native.Loading;
using Tremor.Native.Connectors;
using Tremor.Native.Isolation;
using Tremor.Pdk;

namespace Tremor.Native;

/// <summary>
/// A checked native plugin: its manifest and the connector factory the runtime registers. The library is loaded into
/// this process only when the first in-process instance is created, from the content-addressed copy that passed the
/// checks, and stays loaded until <see cref="Dispose"/> was called AND every instance was destroyed.
/// </summary>
public sealed class NativePlugin : IDisposable
{
    private readonly Lock _gate = new();
    private nint _handle;
    private TremorPluginVtable _vtable;
    private int _liveInstances;
    private bool _disposed;

    internal NativePlugin(string path, string checkedCopy, NativeInspection inspection, PluginDescriptor descriptor)
    {
        Path = path;
        CheckedCopy = checkedCopy;
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

    /// <summary>The content-addressed copy of the bytes that passed the checks: what every tier runs.</summary>
    public string CheckedCopy { get; }

    /// <summary>True once the library was loaded into this process (an in-process instance was created).</summary>
    public bool IsLoadedInProcess
    {
        get
        {
            lock (_gate) return _handle != 0;
        }
    }

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
            Path, Descriptor.Name, ConnectorFactory.Description, Descriptor.Kinds, Descriptor.DefaultCodec, Descriptor.Flags, options, checkedCopy: CheckedCopy)
        {
            ConfigSchema = ConfigSchema,
            AbiMinor = Descriptor.AbiMinor,
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

    /// <summary>
    /// Counts a new instance and returns the vtable, loading the checked copy into this process on first use. The
    /// descriptor is read and checked again from the runtime's own mapping and must be the one the inspector saw.
    /// </summary>
    internal TremorPluginVtable InstanceCreating()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_handle == 0) LoadInProcess();
            _liveInstances++;
            return _vtable;
        }
    }

    private unsafe void LoadInProcess()
    {
        nint handle;
        try
        {
            handle = NativeLibrary.Load(CheckedCopy);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new NativePluginException($"{Path}: could not be loaded from its checked copy {CheckedCopy}: {e.Message.ReplaceLineEndings(" ")}");
        }
        var checks = new List<NativeCheck>();
        var again = new NativeInspection(Path, checks);
        PluginDescriptor? descriptor = null;
        if (NativeLibrary.TryGetExport(handle, AbiConstants.EntrySymbol, out var symbol) && symbol != 0)
        {
            descriptor = DescriptorChecks.Check(DescriptorSnapshot.FromMemory((byte*)symbol), Path, again, checks);
        }
        // The same bytes give the same descriptor unless the plugin's constructors rewrote it: then it is not what was checked.
        if (descriptor is null || descriptor.Name != Descriptor.Name || descriptor.Version != Descriptor.Version ||
            descriptor.Kinds != Descriptor.Kinds || descriptor.Flags != Descriptor.Flags || descriptor.AbiMinor != Descriptor.AbiMinor)
        {
            NativeLibrary.Free(handle);
            throw new NativePluginException(
                $"{Path}: the descriptor read in this process is not the one the inspector checked ({again.Refusal ?? "name, version, kinds or flags differ"}); not running it");
        }
        _vtable = descriptor.Vtable;
        _handle = handle;
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
