using System.Text;
using System.Text.Json;

namespace Tremor.Api.Tests;

/// <summary>A troy deployment posted to <c>/v1/flows</c>, by content type or recognised by its first word, against a real tremor process.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TroyApiTests
{
    private static string Ticks(string name) => $$"""
        # posted as troy
        use tremor::pipelines;
        define flow {{name}}
        flow
          define connector tick from metronome with config = {"interval": nanos::from_millis(50)} end;
          define connector out from null;
          create connector tick;
          create connector out;
          create pipeline pass from pipelines::passthrough;
          connect /connector/tick to /pipeline/pass;
          connect /pipeline/pass to /connector/out;
        end;
        deploy flow {{name}};
        """;

    [Fact]
    public async Task Troy_bodies_deploy_and_a_bad_one_is_a_400_at_its_line_while_the_process_keeps_running()
    {
        await using var tremor = await TremorProcess.StartAsync();

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/flows") { Content = new StringContent(Ticks("typed"), Encoding.UTF8, "application/x-troy") })
        {
            using var response = await tremor.Client.SendAsync(request);
            Assert.True((int)response.StatusCode == 201, await response.Content.ReadAsStringAsync());
        }
        var (detected, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("detected"));
        Assert.True(detected == 201, body.ToString());

        var (bad, error) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("bad").Replace("from pipelines::passthrough", "from pipelines::passthrogh", StringComparison.Ordinal));
        Assert.Equal(400, bad);
        var message = error.GetProperty("error").GetString()!;
        Assert.StartsWith("request body:9:29: module `tremor::pipelines` has no pipeline definition `passthrogh`", message);
        Assert.Contains("hint: did you mean `passthrough`?", message);

        var (_, flows) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");
        Assert.Equal(["detected", "typed"], flows.EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
    }
}
