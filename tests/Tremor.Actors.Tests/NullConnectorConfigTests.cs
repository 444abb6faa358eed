using Tremor.Actors.Configuration;

namespace Tremor.Actors.Tests;

public sealed class NullConnectorConfigTests
{
    [Theory]
    [InlineData("type = null")]
    [InlineData("type = \"null\"")]
    public void The_null_connector_can_be_named_although_hocon_reads_it_as_no_value(string type)
    {
        var config = TremorConfig.Parse($"tremor.flows.f {{ connectors {{ a {{ type = metronome }}\n b {{ {type} }} }}\n links = [\"a -> b\"] }}", "test.conf");
        var flow = TremorConfig.ReadSettings(config, "test.conf").Flows.Single();
        Assert.Equal("null", flow.Connectors.Single(c => c.Alias.EndsWith("b", StringComparison.Ordinal)).Type);
    }
}
