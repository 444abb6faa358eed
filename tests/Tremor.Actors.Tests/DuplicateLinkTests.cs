using Tremor.Actors.Configuration;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class DuplicateLinkTests
{
    [Fact]
    public void A_link_listed_twice_is_refused_naming_both_entries()
    {
        var catalog = new PluginCatalog();
        catalog.RegisterConnector("tests", new TestSourceFactory());
        catalog.RegisterConnector("tests", new TestSinkFactory());
        var config = TremorConfig.Parse("""
            tremor.flows.f {
              connectors {
                src { type = test-source }
                snk { type = test-sink }
              }
              pipelines { main { type = passthrough } }
              links = ["src -> main", "main -> snk", "src/err -> snk", "main/out -> snk/in"]
            }
            """, "test.conf");
        var flow = TremorConfig.ReadSettings(config, "test.conf").Flows.Single();

        var e = Assert.Throws<ConfigException>(() => FlowValidator.Validate(flow, catalog));

        Assert.Equal("tremor.flows.f.links[3]", e.Path);
        Assert.Contains("'main/out -> snk/in' duplicates links[1]", e.Message);
        Assert.Contains("remove one of them", e.Message);
    }
}
