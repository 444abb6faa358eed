using Tremor.Connectors.Testing;

namespace Tremor.Api.Tests;

/// <summary>
/// The runtime's own <c>/metrics</c> scraped by a real Prometheus (Debian's), with the API's bearer token from the
/// token file tremor wrote, the way an operator configures it; the series are read back through Prometheus' API.
/// </summary>
public sealed class PrometheusScrapeTests
{
    [Fact]
    public async Task A_real_prometheus_scrapes_metrics_with_the_bearer_token_and_finds_the_flows_connectors_counting()
    {
        await using var tremor = await TremorProcess.StartAsync("""
            tremor.flows.scraped {
              connectors {
                tick { type = metronome, config { interval = 10ms } }
                out { type = null }
              }
              pipelines { main { type = passthrough } }
              links = ["tick -> main", "main -> out"]
            }
            """);
        var target = $"127.0.0.1:{tremor.Client.BaseAddress!.Port}";
        var tokenFile = Path.Combine(tremor.Directory, "token");
        await using var prometheus = new PrometheusServer
        {
            ScrapeConfigs = $"""
              - job_name: tremor
                scrape_interval: 1s
                scrape_timeout: 1s
                authorization:
                  credentials_file: {tokenFile}
                static_configs:
                  - targets: ["{target}"]
            """,
        };
        await prometheus.InitializeAsync();

        var emitted = new Dictionary<string, double>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((emitted = await prometheus.QueryAsync("tremor_connector_events_total{job=\"tremor\",connector=\"scraped::tick\",port=\"out\"} > 0")).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"prometheus has no non-zero tremor_connector_events_total for scraped::tick; its targets: {await prometheus.TargetsAsync()}");
            await Task.Delay(100);
        }
        var series = Assert.Single(emitted);
        Assert.Contains("type=metronome", series.Key);
        // The pipeline and the sink side of the same flow, and the plugin that provides them, from the same scrapes.
        await WaitForSeries(prometheus, "tremor_pipeline_events_total{pipeline=\"scraped::main\",port=\"out\"} > 0");
        await WaitForSeries(prometheus, "tremor_connector_events_total{connector=\"scraped::out\",port=\"in\"} > 0");
        await WaitForSeries(prometheus, "tremor_plugin_calls_total{plugin=\"std\"} > 0");
        await WaitForSeries(prometheus, "tremor_connector_up{connector=\"scraped::out\"} == 1");
    }

    [Fact]
    public async Task With_metrics_off_the_endpoint_says_so_and_how_to_turn_them_on()
    {
        await using var tremor = await TremorProcess.StartAsync("tremor.metrics.enabled = off");

        var (status, body) = await tremor.SendAsync(HttpMethod.Get, "/metrics");

        Assert.Equal(404, status);
        Assert.Contains("tremor.metrics.enabled", body.GetProperty("error").GetString());
    }

    private static async Task WaitForSeries(PrometheusServer prometheus, string promql)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await prometheus.QueryAsync(promql)).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"prometheus has no series for {promql}; its targets: {await prometheus.TargetsAsync()}");
            await Task.Delay(100);
        }
    }
}
