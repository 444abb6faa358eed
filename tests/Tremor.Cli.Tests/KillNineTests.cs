using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Tremor.Cli.Tests;

/// <summary>
/// The durability promise proven with kill -9, not a graceful stop: a real tremor is killed at a random moment while
/// an HTTP client posts, then restarted on the same data directory. Every request answered 2xx before the kill must
/// be there after the restart; duplicates are counted and reported.
/// </summary>
public sealed partial class KillNineTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-kill9-");
    private readonly Random _random = new();

    public void Dispose() => _temp.Delete(recursive: true);

    [GeneratedRegex("\"id\":\"(e\\d{6})\"")]
    private static partial Regex IdPattern();

    [Fact]
    public async Task Requests_answered_2xx_before_a_kill_9_are_all_in_the_file_after_the_restart_through_the_wal()
    {
        var port = FreePort();
        var outFile = Path.Combine(_temp.FullName, "out.jsonl");
        var conf = Path.Combine(_temp.FullName, "durable.conf");
        await File.WriteAllTextAsync(conf, $$"""
            tremor {
              data-dir = "{{Path.Combine(_temp.FullName, "data")}}"
              flows.durable {
                connectors {
                  api { type = http_server, codec = json, config { url = "http://127.0.0.1:{{port}}", reply = ack, response-timeout = 30s } }
                  buffer { type = wal }
                  out { type = file, codec = json, postprocessors = ["separate"], config { path = "{{outFile}}", mode = append } }
                }
                pipelines { main { type = passthrough } }
                links = ["api/out -> buffer/in", "buffer/out -> main/in", "main/out -> out/in"]
              }
            }
            """);
        using var http = new HttpClient { Timeout = TremorProcess.DefaultTimeout };
        var acked = new HashSet<string>();
        var next = 0;
        for (var round = 1; round <= 3; round++)
        {
            await using var tremor = TremorProcess.Start(["run", conf], _temp.FullName);
            await ListeningAsync(port, tremor);
            int killAt;
            lock (acked) killAt = acked.Count + _random.Next(10, 120);
            using var stopPosting = new CancellationTokenSource();
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var posters = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stopPosting.IsCancellationRequested)
                {
                    var id = $"e{Interlocked.Increment(ref next):D6}";
                    try
                    {
                        using var body = new StringContent($$"""{"id":"{{id}}","payload":"{{new string('x', 200)}}"}""", Encoding.UTF8, "application/json");
                        using var response = await http.PostAsync($"http://127.0.0.1:{port}/ingest", body, stopPosting.Token);
                        if (!response.IsSuccessStatusCode) continue;
                        lock (acked)
                        {
                            acked.Add(id);
                            if (acked.Count >= killAt) reached.TrySetResult();
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                        return; // killed under the request: not answered 2xx, so not promised
                    }
                }
            })).ToArray();
            await reached.Task.WaitAsync(TremorProcess.DefaultTimeout);
            tremor.KillHard();
            await tremor.WaitAsync(TremorProcess.DefaultTimeout);
            await stopPosting.CancelAsync();
            await Task.WhenAll(posters);
            lock (acked) output.WriteLine($"round {round}: killed after {acked.Count} requests answered 2xx ({next} posted)");
        }

        // The last restart: what the wal held and downstream had not acknowledged reaches the file.
        await using (var tremor = TremorProcess.Start(["run", conf], _temp.FullName))
        {
            await ListeningAsync(port, tremor);
            using var deadline = new CancellationTokenSource(TremorProcess.DefaultTimeout);
            while (!deadline.IsCancellationRequested && Missing(acked, outFile).Count > 0)
            {
                await Task.Delay(50, CancellationToken.None); // polling the file for its content, not ordering anything
            }
            tremor.Terminate();
            await tremor.WaitAsync(TremorProcess.DefaultTimeout);
        }
        var lost = Missing(acked, outFile);
        var written = IdPattern().Matches(await File.ReadAllTextAsync(outFile)).Select(m => m.Groups[1].Value).ToList();
        var duplicates = written.Count - written.Distinct().Count();
        output.WriteLine($"{acked.Count} answered 2xx, {written.Distinct().Count()} distinct ids in the file, lost {lost.Count}, duplicates {duplicates}");
        Assert.True(lost.Count == 0, $"lost {lost.Count} of {acked.Count} acknowledged requests: {string.Join(", ", lost.Take(20))}");
        Assert.True(acked.Count >= 30, $"only {acked.Count} requests were answered 2xx: the test proved little");
    }

    [Fact]
    public async Task Puts_acknowledged_before_a_kill_9_are_all_readable_from_kv_after_the_restart()
    {
        var port = FreePort();
        var conf = Path.Combine(_temp.FullName, "kv.conf");
        await File.WriteAllTextAsync(conf, $$""""
            tremor {
              data-dir = "{{Path.Combine(_temp.FullName, "data")}}"
              flows.store {
                connectors {
                  api { type = http_server, codec = json, config { url = "http://127.0.0.1:{{port}}", response-timeout = 30s } }
                  store { type = kv }
                }
                pipelines {
                  command {
                    query = """
                      define script command
                      script
                        let $kv = event.kv;
                        let $correlation = $http_server.request_id;
                        event.value
                      end;
                      create script command;
                      select event from in into command;
                      select event from command into out;
                    """
                  }
                  answer {
                    query = """
                      define script answer
                      script
                        let $http_server = { "request_id": $correlation };
                        event
                      end;
                      create script answer;
                      select event from in into answer;
                      select event from answer into out;
                    """
                  }
                }
                links = ["api/out -> command/in", "command/out -> store/in", "store/out -> answer/in", "answer/out -> api/in"]
              }
            }
            """");
        using var http = new HttpClient { Timeout = TremorProcess.DefaultTimeout };
        var acked = new HashSet<string>();
        var next = 0;
        for (var round = 1; round <= 2; round++)
        {
            await using var tremor = TremorProcess.Start(["run", conf], _temp.FullName);
            await ListeningAsync(port, tremor);
            int killAt;
            lock (acked) killAt = acked.Count + _random.Next(10, 80);
            using var stopPosting = new CancellationTokenSource();
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var posters = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stopPosting.IsCancellationRequested)
                {
                    var key = $"k{Interlocked.Increment(ref next):D6}";
                    try
                    {
                        using var response = await PostAsync(http, port, $$$"""{"kv":{"put":"{{{key}}}"},"value":{"key":"{{{key}}}"}}""", stopPosting.Token);
                        if (!response.IsSuccessStatusCode) continue;
                        lock (acked)
                        {
                            acked.Add(key);
                            if (acked.Count >= killAt) reached.TrySetResult();
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                        return;
                    }
                }
            })).ToArray();
            await reached.Task.WaitAsync(TremorProcess.DefaultTimeout);
            tremor.KillHard();
            await tremor.WaitAsync(TremorProcess.DefaultTimeout);
            await stopPosting.CancelAsync();
            await Task.WhenAll(posters);
            lock (acked) output.WriteLine($"round {round}: killed after {acked.Count} puts answered 2xx ({next} posted)");
        }

        await using (var tremor = TremorProcess.Start(["run", conf], _temp.FullName))
        {
            await ListeningAsync(port, tremor);
            var missing = new List<string>();
            foreach (var key in acked.Order(StringComparer.Ordinal))
            {
                using var response = await PostAsync(http, port, $$$"""{"kv":{"get":"{{{key}}}"},"value":null}""", CancellationToken.None);
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || !body.Contains($"\"{key}\"", StringComparison.Ordinal)) missing.Add($"{key} ({(int)response.StatusCode} {body})");
            }
            tremor.Terminate();
            await tremor.WaitAsync(TremorProcess.DefaultTimeout);
            output.WriteLine($"{acked.Count} puts answered 2xx, {missing.Count} not readable after the restart");
            Assert.True(missing.Count == 0, $"lost {missing.Count} of {acked.Count} acknowledged puts: {string.Join(", ", missing.Take(10))}");
            Assert.True(acked.Count >= 20, $"only {acked.Count} puts were answered 2xx: the test proved little");
        }
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, int port, string json, CancellationToken cancellationToken) =>
        http.PostAsync($"http://127.0.0.1:{port}/kv", new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);

    private static List<string> Missing(HashSet<string> acked, string file)
    {
        var text = File.Exists(file) ? File.ReadAllText(file) : "";
        var written = IdPattern().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();
        return [.. acked.Where(id => !written.Contains(id)).Order(StringComparer.Ordinal)];
    }

    // tremor is killed and started again on the same port.
    private static int FreePort() => Tremor.Tests.StablePort.Pick();

    /// <summary>Waits until the server accepts connections (a TCP connect, which sends no event).</summary>
    private static async Task ListeningAsync(int port, TremorProcess tremor)
    {
        using var deadline = new CancellationTokenSource(TremorProcess.DefaultTimeout);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
                return;
            }
            catch (SocketException) when (!deadline.IsCancellationRequested)
            {
                await Task.Delay(50, CancellationToken.None); // not listening yet
            }
            catch (OperationCanceledException)
            {
                var result = await tremor.WaitAsync(TimeSpan.FromSeconds(1));
                Assert.Fail($"tremor did not listen on {port} within {TremorProcess.DefaultTimeout.TotalSeconds:0}s\n{result}");
            }
        }
    }
}
