using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// How a connector's HOCON <c>config { }</c> values become <see cref="Value"/>s, the input of the config JSON a native
/// plugin receives (README, "Config to native plugins"): integers stay exact, everything else is as written.
/// </summary>
public sealed class ConnectorConfigValueTests
{
    private static Value Read(string hocon)
    {
        var config = TremorConfig.Parse($"tremor.flows.f {{ connectors {{ a {{ type = metronome, config {{ k = {hocon} }} }}\n b {{ type = metronome }} }}\n links = [\"a -> b\"] }}", "test.conf");
        var connector = TremorConfig.ReadSettings(config, "test.conf").Flows.Single().Connectors.Single(c => c.Name == "a");
        return connector.Config.Raw["k"];
    }

    [Fact]
    public void Integers_up_to_u64_stay_exact_and_larger_ones_keep_their_digits()
    {
        Assert.True(Read("12345678901234567890").TryGetU64(out var u));
        Assert.Equal(12345678901234567890UL, u);
        Assert.Equal(-9223372036854775808L, Read("-9223372036854775808").RawI64);
        Assert.Equal("99999999999999999999999", Read("99999999999999999999999").AsString());
    }

    [Theory]
    [InlineData("1.5", ValueKind.F64)]
    [InlineData("true", ValueKind.Bool)]
    [InlineData("on", ValueKind.String)]
    [InlineData("10s", ValueKind.String)]
    [InlineData("64MiB", ValueKind.String)]
    [InlineData("\"text\"", ValueKind.String)]
    public void Other_scalars_arrive_as_their_kind(string hocon, ValueKind kind) => Assert.Equal(kind, Read(hocon).Kind);

    [Theory]
    [InlineData("\"\\n\"", "\n")]
    [InlineData("\" \"", " ")]
    [InlineData("\"\\t\"", "\t")]
    public void A_string_of_whitespace_is_that_string_not_absent(string hocon, string expected) =>
        Assert.Equal(expected, Read(hocon).AsString());

    [Fact]
    public void Max_region_size_is_read_per_connector_with_its_default()
    {
        var config = TremorConfig.Parse("tremor.flows.f { connectors { a { type = metronome, max-region-size = 64MiB }\n b { type = metronome } }\n links = [\"a -> b\"] }", "test.conf");
        var connectors = TremorConfig.ReadSettings(config, "test.conf").Flows.Single().Connectors;
        Assert.Equal(64L << 20, connectors.Single(c => c.Name == "a").Isolation.MaxRegionBytes);
        Assert.Equal(256L << 20, connectors.Single(c => c.Name == "b").Isolation.MaxRegionBytes);
    }

    [Fact]
    public void Host_cpu_is_read_per_connector_follow_by_default_and_anything_else_is_refused_naming_the_key()
    {
        var config = TremorConfig.Parse("tremor.flows.f { connectors { a { type = metronome, host-cpu = any }\n b { type = metronome } }\n links = [\"a -> b\"] }", "test.conf");
        var connectors = TremorConfig.ReadSettings(config, "test.conf").Flows.Single().Connectors;
        Assert.Equal("any", connectors.Single(c => c.Name == "a").Isolation.HostCpu);
        Assert.Equal("follow", connectors.Single(c => c.Name == "b").Isolation.HostCpu);

        var wrong = TremorConfig.Parse("tremor.flows.f { connectors { a { type = metronome, host-cpu = pinned }\n b { type = metronome } }\n links = [\"a -> b\"] }", "test.conf");
        var error = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(wrong, "test.conf"));
        Assert.Equal("tremor.flows.f.connectors.a.host-cpu: expected follow or any, found 'pinned'", error.Message);
    }
}
