using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>The <c>file</c> connector: read a file (plain or <c>.xz</c>) or follow files as a source, or write one as a sink.</summary>
public sealed class FilePlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("file", "0.1.0", "File connector: read (plain or .xz), follow (tail -F with a checkpoint), write, append, truncate");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new FileFactory()];
}
