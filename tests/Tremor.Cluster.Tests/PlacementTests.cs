namespace Tremor.Cluster.Tests;

/// <summary>Three nodes in this process: flows spread as their placement says, and only where their plugins are.</summary>
public sealed class PlacementTests : ClusterTestKit
{
    private static readonly string FlowsText = $$"""
        tremor.flows {
          ticker {
            connectors {
              tick { type = metronome, config { interval = 100ms } }
              sink { type = discard }
            }
            links = ["tick -> sink"]
          }
          listener {
            placement = all
            connectors {
              tick { type = metronome, config { interval = 100ms } }
              sink { type = discard }
            }
            links = ["tick -> sink"]
          }
          ingest-only {
            placement.role = ingest
            connectors {
              tick { type = metronome, config { interval = 100ms } }
              sink { type = discard }
            }
            links = ["tick -> sink"]
          }
          needs-file {
            connectors {
              tick { type = metronome, config { interval = 100ms } }
              out { type = file, codec = json, postprocessors = ["separate"], config { path = "{{Path.Combine(Path.GetTempPath(), "tremor-cluster-test-needs-file.jsonl")}}", mode = write } }
            }
            links = ["tick -> out"]
          }
        }
        """;

    [Fact]
    public async Task Flows_are_placed_by_placement_role_and_plugin_inventory()
    {
        var flows = Flows(FlowsText);
        // Every node starts with the same flows: the desired state is keyed by name, so each still runs once.
        var a = await StartNodeAsync("a", ["ingest"], withFile: true, flows);
        var b = await StartNodeAsync("b", [], withFile: true, flows);
        var c = await StartNodeAsync("c", [], withFile: false, flows);
        TestNode[] all = [a, b, c];
        await AwaitUpAsync();

        await AwaitAssertAsync(async () =>
        {
            Assert.Equal(["a", "b", "c"], await NodesRunning("listener", all));
            Assert.Equal(["a"], await NodesRunning("ingest-only", all));
            Assert.Single(await NodesRunning("ticker", all));
            var file = Assert.Single(await NodesRunning("needs-file", all));
            Assert.NotEqual("c", file);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));

        var status = await c.Coordinator.Ask<PlacementCoordinator.ClusterStatus>(new PlacementCoordinator.GetClusterStatus(), TimeSpan.FromSeconds(10));
        Assert.Equal(3, status.Nodes.Count);
        Assert.Contains("connector:file", status.Nodes.Single(n => n.Address == a.Address).Inventory);
        Assert.DoesNotContain("connector:file", status.Nodes.Single(n => n.Address == c.Address).Inventory);
        Assert.Equal(["ingest"], status.Nodes.Single(n => n.Address == a.Address).Roles);
        var needsFile = status.Flows.Single(f => f.Name == "needs-file");
        Assert.True(needsFile.NodeLocal);
        Assert.Contains("node-local", needsFile.Note);
        Assert.False(status.Flows.Single(f => f.Name == "ticker").NodeLocal);
        Assert.Equal(3, status.Flows.Single(f => f.Name == "listener").Instances.Count);

        // The API's way to change the desired state: a flow removed is drained and stopped wherever it runs, a flow
        // submitted is placed.
        var coordinator = b.Coordinator;
        await coordinator.Ask<PlacementCoordinator.FlowRemoved>(new PlacementCoordinator.RemoveFlow("ticker"), TimeSpan.FromSeconds(15));
        var added = Flows("""
            tremor.flows.added {
              placement = all
              connectors {
                tick { type = metronome, config { interval = 100ms } }
                sink { type = discard }
              }
              links = ["tick -> sink"]
            }
            """);
        await coordinator.Ask<PlacementCoordinator.FlowsSubmitted>(new PlacementCoordinator.SubmitFlows(added), TimeSpan.FromSeconds(15));
        await AwaitAssertAsync(async () =>
        {
            Assert.Empty(await NodesRunning("ticker", all));
            Assert.Equal(["a", "b", "c"], await NodesRunning("added", all));
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));
        var unknown = await coordinator.Ask<PlacementCoordinator.NoSuchFlow>(new PlacementCoordinator.RemoveFlow("ticker"), TimeSpan.FromSeconds(15));
        Assert.DoesNotContain("ticker", unknown.Known);
    }

    [Fact]
    public async Task A_node_that_leaves_has_its_flows_restarted_on_nodes_that_can_run_them()
    {
        var flows = Flows(FlowsText);
        var a = await StartNodeAsync("a", ["ingest"], withFile: true, flows);
        var b = await StartNodeAsync("b", [], withFile: true, flows);
        var c = await StartNodeAsync("c", [], withFile: false, flows);
        TestNode[] all = [a, b, c];
        await AwaitUpAsync();
        string fileNode = "";
        await AwaitAssertAsync(async () =>
        {
            fileNode = Assert.Single(await NodesRunning("needs-file", all));
            Assert.Single(await NodesRunning("ticker", all));
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));

        // The node running the file flow leaves; only the other file node may take it over, never c.
        var leaving = all.Single(n => n.Name == fileNode);
        var survivors = all.Where(n => n != leaving).ToArray();
        var survivor = survivors.Single(n => n.Name != "c");
        var cluster = Akka.Cluster.Cluster.Get(leaving.System);
        await cluster.LeaveAsync();

        await AwaitAssertAsync(async () =>
        {
            Assert.Equal([survivor.Name], await NodesRunning("needs-file", survivors));
            Assert.Single(await NodesRunning("ticker", survivors));
            Assert.Equal(survivors.Select(s => s.Name).ToList(), await NodesRunning("listener", survivors));
        }, TimeSpan.FromSeconds(40), TimeSpan.FromMilliseconds(250));
        Assert.Empty(await NodesRunning("needs-file", [c]));
    }
}
