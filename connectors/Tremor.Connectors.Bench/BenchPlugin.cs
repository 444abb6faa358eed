using Tremor.Pdk;

namespace Tremor.Connectors.Bench;

/// <summary>The benchmark connectors: <c>bench</c> (replay a file and measure it) and <c>blackhole</c> (measure only).</summary>
public sealed class BenchPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("bench", "0.1.0", "Benchmark connectors: bench (replay + measure), blackhole (measure)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new BenchFactory(), new BlackholeFactory()];
}
