using System.Net.Sockets;
using System.Text.Json;

namespace Tremor.Api.Tests;

/// <summary><c>/v1/health</c>, <c>/v1/ready</c> and <c>/v1/version</c>: what an orchestrator's probes see, without a token.</summary>
public sealed class ProbeTests
{
    /// <summary>Like TestKit's AwaitAssert, for a condition in another process: probes until true or 30 s passed.</summary>
    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Health_and_version_answer_without_a_token_and_ready_waits_for_a_connector_that_cannot_connect()
    {
        await using var tremor = await TremorProcess.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = tremor.Client.BaseAddress };

        var health = await anonymous.GetAsync("/v1/health");
        Assert.Equal(200, (int)health.StatusCode);
        Assert.Equal("ok", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());

        var version = JsonDocument.Parse(await anonymous.GetStringAsync("/v1/version")).RootElement;
        Assert.Equal(Tremor.Pdk.PdkVersion.Text, version.GetProperty("pdk").GetString());
        Assert.False(string.IsNullOrEmpty(version.GetProperty("version").GetString()));

        // Nothing deployed: nothing to wait for.
        Assert.Equal(200, (int)(await anonymous.GetAsync("/v1/ready")).StatusCode);

        var port = ClosedPort();
        var (deployed, _) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", $$"""
            tremor.flows.probe {
              connectors {
                tick { type = metronome, config { interval = 50ms } }
                client {
                  type = tcp_client, codec = json
                  config { url = "127.0.0.1:{{port}}" }
                  reconnect { interval = 100ms, max-interval = 200ms }
                }
              }
              links = ["tick -> client"]
            }
            """);
        Assert.Equal(201, deployed);

        await Eventually(async () => (int)(await anonymous.GetAsync("/v1/ready")).StatusCode == 503, "ready to say 503 while the client cannot connect");
        var anonymousBody = JsonDocument.Parse(await (await anonymous.GetAsync("/v1/ready")).Content.ReadAsStringAsync()).RootElement;
        Assert.False(anonymousBody.GetProperty("ready").GetBoolean());
        Assert.True(anonymousBody.GetProperty("waiting").GetInt32() >= 1);
        Assert.False(anonymousBody.TryGetProperty("waiting_for", out _), "without the token the probe names no flow or connector");

        var (status, detail) = await tremor.SendAsync(HttpMethod.Get, "/v1/ready");
        Assert.Equal(503, status);
        Assert.Contains(detail.GetProperty("waiting_for").EnumerateArray(), w => w.GetString()!.StartsWith("probe::client ", StringComparison.Ordinal));

        // Once the server is there the client connects and the instance is ready.
        using var server = new TcpListener(System.Net.IPAddress.Loopback, port);
        server.Start();
        await Eventually(async () => (int)(await anonymous.GetAsync("/v1/ready")).StatusCode == 200, "ready once the client connected");
    }
}
