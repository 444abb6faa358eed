using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>The standard connectors every flow reaches for: <c>metronome</c>, <c>metrics</c>, <c>stdio</c>, <c>null</c> and <c>exit</c>.</summary>
public sealed class StdPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("std", "0.1.0", "Standard connectors: metronome, metrics, stdio, null, exit");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } =
    [
        new MetronomeFactory(),
        new MetricsFactory(),
        new StdioFactory(),
        new NullFactory(),
        new ExitFactory(),
    ];
}
