using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>The otel plugin in a real run: hocon/examples/otel-to-file.conf, loaded from disk into its own load context.</summary>
public sealed class OtelFlowTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-otel-");

    public void Dispose() => _temp.Delete(recursive: true);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task An_OTLP_JSON_export_is_answered_once_its_event_is_in_the_file_and_a_malformed_one_is_refused()
    {
        var (grpc, http) = (FreePort(), FreePort());
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "hocon", "examples", "otel-to-file.conf"));
        var output = Path.Combine(_temp.FullName, "otel.jsonl");
        var file = Path.Combine(_temp.FullName, "otel-to-file.conf");
        await File.WriteAllTextAsync(file, example
            .Replace("\"127.0.0.1:4317\"", $"\"127.0.0.1:{grpc}\"", StringComparison.Ordinal)
            .Replace("\"127.0.0.1:4318\"", $"\"127.0.0.1:{http}\"", StringComparison.Ordinal)
            .Replace("\"otel.jsonl\"", JsonSerializer.Serialize(output), StringComparison.Ordinal));
        await using var tremor = TremorProcess.Start(["run", file]);

        using var client = new HttpClient { Timeout = TremorProcess.DefaultTimeout };
        var url = $"http://127.0.0.1:{http}/v1/logs";
        const string Export = """{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cli-test"}}]},"scopeLogs":[{"logRecords":[{"severityNumber":9,"body":{"stringValue":"hello otel"},"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}""";
        HttpResponseMessage good;
        var deadline = DateTime.UtcNow + TremorProcess.DefaultTimeout;
        while (true)
        {
            try
            {
                good = await client.PostAsync(url, new StringContent(Export, Encoding.UTF8, "application/json"));
                break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50); // not listening yet
            }
        }
        Assert.True(good.StatusCode == HttpStatusCode.OK, $"{(int)good.StatusCode} {await good.Content.ReadAsStringAsync()}");
        // Answered only once the file sink took the event: it is there now, not eventually.
        var line = JsonDocument.Parse(File.ReadAllLines(output).Single()).RootElement;
        var record = line.GetProperty("logs")[0].GetProperty("scope_logs")[0].GetProperty("logs")[0];
        Assert.Equal("hello otel", record.GetProperty("body").GetString());
        Assert.Equal("5b8efff798038103d269b633813fc60c", record.GetProperty("trace_id").GetString());
        Assert.Equal("cli-test", line.GetProperty("logs")[0].GetProperty("resource").GetProperty("attributes").GetProperty("service.name").GetString());

        var bad = await client.PostAsync(url, new StringContent("""{"resourceLogs": 7}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not a valid OTLP/JSON ExportLogsServiceRequest", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        tremor.Terminate();
        var result = await tremor.WaitAsync(TremorProcess.DefaultTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("every accepted event was delivered (1 from sources, 1 delivered by sinks)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("refused (1 so far)", result.Stderr, StringComparison.Ordinal);
    }
}
