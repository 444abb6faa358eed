using Tremor.Connectors.Bench;
using Tremor.Connectors.File;
using Tremor.Connectors.Std;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

public sealed class ConfigErrorTests
{
    public static TheoryData<IConnectorFactory, (string, Value)[], string> BadConfigs => new()
    {
        { new FileFactory(), [], "path" },
        { new FileFactory(), [("path", "x.json"), ("mdoe", "read")], "mdoe" },
        { new FileFactory(), [("path", "x.json"), ("mode", "sideways")], "mode" },
        { new FileFactory(), [("path", "")], "path" },
        { new FileFactory(), [("path", "x.json"), ("chunk_size", 0)], "chunk_size" },
        { new BenchFactory(), [], "path" },
        { new BenchFactory(), [("path", "x.json"), ("iters", 3)], "iters" },
        { new BenchFactory(), [("path", "x.json"), ("iterations", 0)], "iterations" },
        { new BenchFactory(), [("path", "x.json"), ("stop-after-secs", "soon")], "stop-after-secs" },
        { new BenchFactory(), [("path", "x.json"), ("warmup-secs", -1)], "warmup-secs" },
        { new BenchFactory(), [("path", "x.json"), ("base64", "maybe")], "base64" },
        { new BlackholeFactory(), [("stop_after_secs", 1)], "stop_after_secs" },
        { new MetronomeFactory(), [("interval", "fast")], "interval" },
        { new MetronomeFactory(), [("interval", "0s")], "interval" },
        { new MetronomeFactory(), [("intervall", "1s")], "intervall" },
        { new MetronomeFactory(), [("iterations", -2)], "iterations" },
        { new MetricsFactory(), [("interval", "0s")], "interval" },
        { new MetricsFactory(), [("metrics_interval_s", 10)], "metrics_interval_s" },
        { new StdioFactory(), [("output", "stdnull")], "output" },
        { new ExitFactory(), [("code", "zero")], "code" },
        { new ExitFactory(), [("delay", "later")], "delay" },
        { new NullFactory(), [("anything", 1)], "anything" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bad_configs_are_refused_at_create_naming_the_key_path(IConnectorFactory factory, (string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(factory, config, key);

    [Fact]
    public async Task Creating_does_no_io()
    {
        // A missing file is a connect-time error (retried by the runtime), not a config error.
        await using var file = new FileFactory().Create(Fixtures.Context(new TestHost(), ("path", "does/not/exist.json")));
        await using var bench = new BenchFactory().Create(Fixtures.Context(new TestHost(), ("path", "does/not/exist.json")));

        Assert.NotNull(file.Source);
        Assert.NotNull(bench.Source);
        Assert.NotNull(bench.Sink);
    }
}
