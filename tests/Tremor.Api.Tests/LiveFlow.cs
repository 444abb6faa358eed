namespace Tremor.Api.Tests;

/// <summary>
/// A real tremor with its management API and a flow moving events (a metronome every 10 ms into a blackhole), shared by
/// the tests of one class that only watch it.
/// </summary>
public sealed class LiveFlow : IAsyncLifetime
{
    public const string Flow = """
        tremor.flows.ticks {
          connectors {
            tick { type = metronome, config { interval = 10ms } }
            sink { type = blackhole }
          }
          links = ["tick -> sink"]
        }
        """;

    public TremorProcess Tremor { get; private set; } = null!;

    public string Url => Tremor.Client.BaseAddress!.ToString().TrimEnd('/');

    public string TokenFile => Path.Combine(Tremor.Directory, "token");

    public async Task InitializeAsync() => Tremor = await TremorProcess.StartAsync(Flow);

    public async Task DisposeAsync() => await Tremor.DisposeAsync();
}
