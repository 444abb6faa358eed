using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Tremor.Cli.Tests;

/// <summary>The http plugin in a real run: a server answered by a pipeline, and a client of it, in one flow.</summary>
public sealed class HttpFlowTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-http-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task A_request_goes_through_a_pipeline_and_its_reply_comes_back_through_the_same_http_server()
    {
        // The reply half is hocon/examples/http-ingest-reply.conf; a metronome tick posted by an http_client is the request.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var file = Path.Combine(_temp.FullName, "http.conf");
        await File.WriteAllTextAsync(file, $$""""
            tremor.flows.http {
              connectors {
                api { type = http_server, codec = json, config { url = "http://127.0.0.1:{{port}}", response-timeout = 30s } }
                tick { type = metronome, config { interval = 10ms, iterations = 1 } }
                client {
                  type = http_client, codec = json
                  config { url = "http://127.0.0.1:{{port}}/orders", headers { content-type = "application/json" } }
                  reconnect { enabled = on, interval = 50ms, growth-rate = 1 }
                }
                console { type = stdio, codec = json, postprocessors = ["separate"] }
              }
              pipelines {
                reply {
                  query = """
                    define script answer
                    script
                      let $http_server.response = { "status": 201, "headers": { "x-answered-by": "pipeline" } };
                      { "received": event.id, "path": $http_server.request.path }
                    end;
                    create script answer;
                    select event from in into answer;
                    select event from answer into out;
                  """
                }
                show { query = """select { "status": $http_client.response.status, "by": $http_client.response.headers["x-answered-by"][0], "body": event } from in into out;""" }
              }
              links = [
                "api/out -> reply/in"
                "reply/out -> api/in"
                "tick/out -> client/in"
                "client/out -> show/in"
                "show/out -> console/in"
              ]
            }
            """");

        await using var tremor = TremorProcess.Start(["run", file]);
        await tremor.FirstLine.WaitAsync(TremorProcess.DefaultTimeout);
        tremor.Terminate();
        var result = await tremor.WaitAsync(TremorProcess.DefaultTimeout);

        var line = JsonDocument.Parse(result.StdoutLines[0]).RootElement;
        Assert.True(line.GetProperty("status").GetInt32() == 201, result.ToString());
        Assert.Equal("pipeline", line.GetProperty("by").GetString());
        Assert.Equal(0, line.GetProperty("body").GetProperty("received").GetInt32());
        Assert.Equal("/orders", line.GetProperty("body").GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_answered_400_with_the_codecs_reason_and_a_413_is_counted_in_the_log()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var example = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "hocon", "examples", "http-ingest-reply.conf"));
        var file = Path.Combine(_temp.FullName, "http-ingest-reply.conf");
        await File.WriteAllTextAsync(file, example.Replace("\"http://127.0.0.1:8139\"", $"\"http://127.0.0.1:{port}\"", StringComparison.Ordinal));
        await using var tremor = TremorProcess.Start(["run", file]);

        using var http = new HttpClient { Timeout = TremorProcess.DefaultTimeout };
        var url = $"http://127.0.0.1:{port}/orders";
        HttpResponseMessage good;
        var deadline = DateTime.UtcNow + TremorProcess.DefaultTimeout;
        while (true)
        {
            try
            {
                good = await http.PostAsync(url, new StringContent("""{"id":7}""", System.Text.Encoding.UTF8, "application/json"));
                break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50); // not listening yet
            }
        }
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);

        var bad = await http.PostAsync(url, new StringContent("""{"id":""", System.Text.Encoding.UTF8, "application/json"));
        var reason = await bad.Content.ReadAsStringAsync();
        Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, $"{(int)bad.StatusCode} {reason}");
        Assert.Contains("the request body could not be decoded", reason, StringComparison.Ordinal);
        Assert.Contains("JSON", reason, StringComparison.OrdinalIgnoreCase);

        var huge = await http.PostAsync(url, new ByteArrayContent(new byte[70_000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        tremor.Terminate();
        var result = await tremor.WaitAsync(TremorProcess.DefaultTimeout);
        Assert.Contains("answered 413, not emitted (1 so far)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("answered 400 (1 so far)", result.Stderr, StringComparison.Ordinal);
    }
}
