using Tremor.Actors.Configuration;

namespace Tremor.Cluster.Tests;

/// <summary>The placement rules without a cluster: deterministic, sticky, role- and inventory-aware.</summary>
public sealed class PlacementRuleTests
{
    private static readonly HashSet<string> Std = ["connector:metronome", "connector:stdio"];
    private static readonly HashSet<string> StdAndFile = ["connector:metronome", "connector:stdio", "connector:file"];

    private static PlacementNode Node(string address, IReadOnlySet<string> inventory, bool eligible = true, bool present = true, params string[] roles) =>
        new(address, roles, inventory, eligible, present);

    private static PlacementFlow Flow(string name, FlowPlacement? placement = null, params string[] needs) =>
        new(name, placement ?? FlowPlacement.One, needs.Length == 0 ? ["connector:metronome"] : needs);

    private static Dictionary<string, SortedSet<string>> Decide(IEnumerable<PlacementFlow> flows, IReadOnlyCollection<PlacementNode> nodes, Dictionary<string, SortedSet<string>>? current = null) =>
        Placement.Decide(flows, nodes, current ?? [], new Dictionary<string, HashSet<string>>());

    [Fact]
    public void One_node_flows_spread_to_the_least_loaded_node_ties_by_address()
    {
        var nodes = new[] { Node("b", Std), Node("a", Std), Node("c", Std) };
        var result = Decide([Flow("f1"), Flow("f2"), Flow("f3"), Flow("f4")], nodes);
        Assert.Equal(["a"], result["f1"]);
        Assert.Equal(["b"], result["f2"]);
        Assert.Equal(["c"], result["f3"]);
        Assert.Equal(["a"], result["f4"]);
    }

    [Fact]
    public void A_flow_stays_where_it_runs_and_an_unreachable_node_keeps_its_flows_until_it_is_downed()
    {
        var current = new Dictionary<string, SortedSet<string>> { ["f"] = new(StringComparer.Ordinal) { "c" } };
        Assert.Equal(["c"], Decide([Flow("f")], [Node("a", Std), Node("c", Std)], current)["f"]);
        Assert.Equal(["c"], Decide([Flow("f")], [Node("a", Std), Node("c", Std, eligible: false)], current)["f"]);
        // Downed and gone: placed elsewhere.
        Assert.Equal(["a"], Decide([Flow("f")], [Node("a", Std)], current)["f"]);
    }

    [Fact]
    public void Placement_all_role_and_inventory_decide_which_nodes_are_eligible()
    {
        var nodes = new[] { Node("a", StdAndFile, roles: "ingest"), Node("b", StdAndFile), Node("c", Std) };
        var result = Decide(
            [
                Flow("everywhere", new FlowPlacement(true, null)),
                Flow("ingest", new FlowPlacement(false, "ingest")),
                Flow("files-everywhere", new FlowPlacement(true, null), "connector:file"),
                Flow("needs-missing", null, "connector:kafka"),
            ],
            nodes);
        Assert.Equal(["a", "b", "c"], result["everywhere"]);
        Assert.Equal(["a"], result["ingest"]);
        Assert.Equal(["a", "b"], result["files-everywhere"]);
        Assert.Empty(result["needs-missing"]);
    }

    [Fact]
    public void A_one_node_flow_found_running_twice_after_a_partition_healed_keeps_one()
    {
        var current = new Dictionary<string, SortedSet<string>> { ["f"] = new(StringComparer.Ordinal) { "a", "b" } };
        Assert.Equal(["a"], Decide([Flow("f")], [Node("a", Std), Node("b", Std)], current)["f"]);
    }

    [Fact]
    public void A_node_that_refused_a_flow_is_not_asked_again()
    {
        var refused = new Dictionary<string, HashSet<string>> { ["f"] = ["a"] };
        Assert.Equal(["b"], Placement.Decide([Flow("f")], [Node("a", Std), Node("b", Std)], new Dictionary<string, SortedSet<string>>(), refused)["f"]);
    }

    [Fact]
    public void A_flow_definition_survives_the_trip_through_the_desired_state()
    {
        var config = TremorConfig.Parse(""""
            tremor.flows.q {
              placement { nodes = all, role = ingest }
              connectors {
                in { type = metronome, config { interval = 250ms, iterations = 3 } }
                out { type = stdio, codec = json, postprocessors = [{ name = separate, config { separator = "|" } }] }
              }
              pipelines {
                main {
                  query = """
                    select { "msg": "a \"quoted\" word", "n": event.id } from in into out;
                  """
                }
              }
              links = ["in -> main", "main -> out"]
            }
            """", "test.conf");
        var original = TremorConfig.ReadSettings(config, "test.conf").Flows.Single();
        var definition = Assert.Single(FlowDefinition.FromConfig(config, [original]));
        var parsed = definition.Parse();
        Assert.Equal(new FlowPlacement(true, "ingest"), parsed.Placement);
        Assert.Equal(original.Links.Select(l => l.ToString()), parsed.Links.Select(l => l.ToString()));
        Assert.Equal(original.Pipelines.Single().Config.GetString("query"), parsed.Pipelines.Single().Config.GetString("query"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), parsed.Connectors[0].Config.GetDuration("interval"));
        Assert.Equal(3, parsed.Connectors[0].Config.GetInt("iterations"));
        Assert.Equal("|", parsed.Connectors[1].Postprocessors.Single().Config.GetString("separator"));
        Assert.Equal(["codec:json", "connector:metronome", "connector:stdio", "postprocessor:separate"], FlowDefinition.Requirements(parsed));
        Assert.Equal(["out (stdio)"], FlowDefinition.NodeLocalConnectors(parsed, TremorClusterSettings.Default.NodeLocalConnectors));
    }

    [Fact]
    public void A_bad_placement_is_refused_with_its_key_path()
    {
        var e = Assert.Throws<Tremor.Pdk.ConfigException>(() => TremorConfig.ReadSettings(TremorConfig.Parse("""
            tremor.flows.f {
              placement = everywhere
              connectors { in { type = metronome } }
              links = ["in -> in"]
            }
            """, "test.conf"), "test.conf"));
        Assert.Contains("tremor.flows.f.placement", e.Path + e.Message);
    }
}
