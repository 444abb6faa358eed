using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tremor.Actors.Tests;

/// <summary>TestKit with the runtime's reference config, a generous time factor for 2 cores, and flow helpers.</summary>
public abstract class TremorTestKit : TestKit
{
    protected const string TestSchedulerConfig = "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"";

    protected TremorTestKit(string extraConfig = "")
        : base(ConfigurationFactory.ParseString(extraConfig + "\nakka.test.timefactor = 3\nakka.loglevel = WARNING\nakka.loggers = [\"Akka.TestKit.TestEventListener, Akka.TestKit\"]")
            .WithFallback(TremorConfig.Reference))
    {
        DataDir = Directory.CreateTempSubdirectory("tremor-kit-data-").FullName;
        Services = new RuntimeServices(new StringWriter(), new StringWriter(), DataDir);
    }

    /// <summary>This kit's <c>tremor.data-dir</c>, a temp folder of its own, removed at the end.</summary>
    protected string DataDir { get; }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        Services.Data.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A plugin instance disposed late may still hold a file; the temp folder is only tidiness.
        }
    }

    protected PluginCatalog Catalog { get; } = new();

    /// <summary>A loopback port free at the moment of asking (the OS picks it), for a socket of this kind.</summary>
    protected static int FreePort(SocketType type = SocketType.Stream, ProtocolType protocol = ProtocolType.Tcp)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, type, protocol);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    protected RuntimeServices Services { get; }

    protected static DataPathSettings DataPath(int batchSize = 10, int credits = 2) => new(batchSize, credits, TimeSpan.FromSeconds(10));

    /// <summary>Parses a flow from HOCON text (the body of tremor.flows.NAME).</summary>
    protected static FlowSpec Flow(string name, string body)
    {
        var config = TremorConfig.Parse($"tremor.flows.{name} {{\n{body}\n}}", "test.conf");
        return TremorConfig.ReadSettings(config, "test.conf").Flows.Single();
    }

    protected static ConnectorSpec Connector(string type, string extra = "") =>
        Flow("f", $"connectors {{\n c {{ type = {type}\n{extra}\n }}\n other {{ type = x }}\n }}\nlinks = [\"c -> other\"]").Connectors[0];

    /// <summary>Starts a world, deploys <paramref name="flow"/>, returns the world and the exit task.</summary>
    protected (IActorRef World, Task<int> Exit) Deploy(FlowSpec flow, DataPathSettings? dataPath = null)
    {
        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var world = Sys.ActorOf(World.Props(Catalog, Services, dataPath ?? DataPath(), exit), "world");
        world.Tell(new World.DeployFlow(flow), TestActor);
        ExpectMsg<World.FlowDeployed>();
        return (world, exit.Task);
    }

    protected void Register(IConnectorFactory factory) => Catalog.RegisterConnector("tests", factory);

    /// <summary>
    /// The status of connector <paramref name="alias"/> (e.g. <c>f.src</c>), once its actor exists: a deploy validates
    /// off the world's thread, so right after <see cref="Deploy"/> the actor may not be there yet, and an Ask to a
    /// selection that names nothing only times out.
    /// </summary>
    protected async Task<ConnectorActor.Status> ConnectorStatus(string alias)
    {
        IActorRef? actor = null;
        await AwaitAssertAsync(
            async () => actor = await Sys.ActorSelection($"/user/world/connectors/{alias}").ResolveOne(TimeSpan.FromSeconds(1)),
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(20));
        return await actor!.Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
    }
}
