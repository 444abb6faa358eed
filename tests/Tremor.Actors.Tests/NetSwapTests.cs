using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Connectors.Net;

namespace Tremor.Actors.Tests;

/// <summary>A tcp_server (a source that stops reading at a drain and then answers Finished) swapped while running.</summary>
public sealed class NetSwapTests : TremorTestKit
{
    [Fact]
    public async Task A_swapped_tcp_server_hands_over_what_it_read_and_the_new_instance_goes_on_serving()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        Catalog.RegisterConnector("net", new TcpServerFactory());
        var sink = new TestSinkFactory();
        Register(sink);
        var (world, _) = Deploy(Flow("f", $$"""
            connectors {
              src { type = tcp_server, preprocessors = ["separate"], config { url = "127.0.0.1:{{port}}" } }
              out { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> out"]
            """));

        using (var before = await ConnectAsync(port))
        {
            await before.GetStream().WriteAsync(Lines(0, 50));
            AwaitCondition(() => sink.ReceivedCount == 50, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));

            Catalog.RegisterConnector("net", new TcpServerFactory());
            world.Tell(new World.SwapPlugin("net", ["tcp_server"]), TestActor);
            Assert.Equal(["f::src"], ExpectMsg<World.PluginSwapped>(TimeSpan.FromSeconds(30)).Restarted);
        }

        // The old instance's Finished ended its hand-over, not the source: the new one listens and its lines arrive.
        using var after = await ConnectAsync(port);
        await after.GetStream().WriteAsync(Lines(50, 50));
        AwaitCondition(() => sink.ReceivedCount == 100, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        Assert.Equal(ConnectorState.Running, (await Sys.ActorSelection($"/user/world/connectors/{ConnectorManager.ActorName("f::src")}")
            .Ask<ConnectorActor.Status>(new ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10))).State);
    }

    private static byte[] Lines(int from, int count) =>
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(from, count).Select(n => $"{{\"n\":{n}}}\n")));

    /// <summary>Connects once the server listens (it is started by the deploy, and again after the swap).</summary>
    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                await Task.Delay(20);
            }
        }
    }
}
