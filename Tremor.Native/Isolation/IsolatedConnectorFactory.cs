using Tremor.Native.Connectors;
using Tremor.Pdk;

namespace Tremor.Native.Isolation;

/// <summary>
/// The <see cref="IConnectorFactory"/> for isolation = process: every instance is its own <c>tremor-plugin-host</c>
/// process running the plugin file. Same type, kinds and default codec as the in-process factory.
/// </summary>
internal sealed class IsolatedConnectorFactory : IConnectorFactory
{
    /// <summary>The plugin host program's file name (host/tremor-plugin-host.c).</summary>
    public const string HostFileName = "tremor-plugin-host";

    // checkedCopy: the content-addressed copy of the bytes that passed the checks. Every start and restart of the host
    // loads it, never pluginPath (the original, which may since have been replaced); null runs the original.
    public IsolatedConnectorFactory(string pluginPath, string type, string description, ConnectorKinds kinds, string? defaultCodec, uint flags, IsolationOptions options, string? hostPath = null, string? checkedCopy = null)
    {
        if (options.CallTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), $"{pluginPath}: call-timeout must be positive");
        PluginPath = checkedCopy ?? pluginPath;
        OriginalPath = pluginPath;
        Type = type;
        Description = description;
        Kinds = kinds;
        DefaultCodec = defaultCodec;
        Flags = flags;
        Options = options;
        HostPath = hostPath ?? FindHost(pluginPath);
    }

    public string Type { get; }

    public string Description { get; }

    public ConnectorKinds Kinds { get; }

    public string? DefaultCodec { get; }

    /// <summary>The library the host process loads: the checked copy.</summary>
    public string PluginPath { get; }

    /// <summary>The plugin file as discovered (for messages).</summary>
    public string OriginalPath { get; }

    public uint Flags { get; }

    public IsolationOptions Options { get; }

    /// <summary>The ABI minor the plugin is built for (what it may answer: TREMOR_FULL from 1.2).</summary>
    public int AbiMinor { get; init; } = Abi.AbiConstants.Minor;

    /// <summary>The plugin's config schema, enforced here before the child is started.</summary>
    public ConfigSchema ConfigSchema { get; init; } = ConfigSchema.None;

    /// <summary>The plugin host program this factory starts.</summary>
    public string HostPath { get; }

    /// <summary>Starts a plugin host process, checks the plugin in it, and calls create there.</summary>
    public IConnector Create(ConnectorContext context) => new IsolatedConnector(this, context);

    /// <summary>
    /// Where the plugin host program is: <c>TREMOR_PLUGIN_HOST</c> when set; next to the application
    /// (Tremor.Native's build copies it into every referencing project's output); next to Tremor.Native.dll;
    /// in <c>host/</c> beside the plugin (the plugin build's layout, <c>$(TremorPluginDir)native/host/</c>).
    /// </summary>
    public static string FindHost(string pluginPath)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("TREMOR_PLUGIN_HOST") is { Length: > 0 } configured) candidates.Add(configured);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, HostFileName));
        if (Path.GetDirectoryName(typeof(IsolatedConnectorFactory).Assembly.Location) is { Length: > 0 } assemblyDir) candidates.Add(Path.Combine(assemblyDir, HostFileName));
        if (Path.GetDirectoryName(Path.GetFullPath(pluginPath)) is { } pluginDir)
        {
            candidates.Add(Path.Combine(pluginDir, "host", HostFileName));
            candidates.Add(Path.Combine(pluginDir, "..", "native", "host", HostFileName));
        }
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new NativePluginException(
            $"{pluginPath}: isolation = process needs the plugin host program {HostFileName}; looked in {string.Join(", ", candidates)} " +
            "(build Tremor.Native with gcc available, or set TREMOR_PLUGIN_HOST)");
    }
}
