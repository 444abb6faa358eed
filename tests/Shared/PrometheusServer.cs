using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Tremor.Connectors.Testing;

/// <summary>
/// Debian's prometheus on a free loopback port with its remote-write receiver on, in a temp dir with its own TSDB;
/// what it holds is read back through its query API. <see cref="ScrapeConfigs"/> (YAML under
/// <c>scrape_configs:</c>) has it scrape targets; by default it scrapes nothing.
/// </summary>
public class PrometheusServer : ServerFixture
{
    public PrometheusServer()
    {
        var binary = ServerProcess.Find("prometheus", "prometheus", "/usr/bin/prometheus");
        // The port accepts before the TSDB is open; /-/ready says when writes and queries are served.
        Server = new ServerProcess(binary, server =>
        {
            var config = server.Dir.File("prometheus.yml");
            var scrapes = ScrapeConfigs.Length == 0 ? "" : "scrape_configs:\n" + ScrapeConfigs;
            System.IO.File.WriteAllText(config, "global:\n  scrape_interval: 1m\n" + scrapes);
            return [
                $"--config.file={config}",
                $"--storage.tsdb.path={server.Dir.File("data")}",
                $"--web.listen-address=127.0.0.1:{server.Port}",
                "--web.enable-remote-write-receiver",
            ];
        })
        { ReadyWhen = ReadyAsync };
    }

    /// <summary>The scrape jobs, YAML list items indented by two spaces (read at start).</summary>
    public string ScrapeConfigs { get; init; } = "";

    internal override ServerProcess Server { get; }

    /// <summary>A file in the server's temp dir (a bearer token file for a scrape job).</summary>
    public string PathOf(string name) => Server.Dir.File(name);

    public Uri WriteUrl => new($"http://127.0.0.1:{Server.Port}/api/v1/write");

    /// <summary>The values of an instant query's vector result, by the series' labels rendered as text.</summary>
    public async Task<Dictionary<string, double>> QueryAsync(string promql)
    {
        using var http = new HttpClient();
        var json = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{Server.Port}/api/v1/query?query={Uri.EscapeDataString(promql)}"))!;
        Assert.Equal("success", json["status"]!.GetValue<string>());
        var result = new Dictionary<string, double>();
        foreach (var series in json["data"]!["result"]!.AsArray())
        {
            var labels = string.Join(",", series!["metric"]!.AsObject().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
            result[labels] = double.Parse(series["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture);
        }
        return result;
    }

    /// <summary>Prometheus' own view of its scrape targets (<c>/api/v1/targets</c>): health and last error of each.</summary>
    public async Task<string> TargetsAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{Server.Port}/api/v1/targets");
    }

    private async Task<bool> ReadyAsync()
    {
        using var http = new HttpClient();
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{Server.Port}/-/ready")).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
