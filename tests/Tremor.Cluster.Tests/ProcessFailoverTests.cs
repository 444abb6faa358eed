using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Tremor.Cluster.Tests;

/// <summary>
/// Three <c>tremor</c> processes on loopback; the one running the ticker flow is killed with SIGKILL and the flow
/// resumes on a survivor. Prints the failover time (SIGKILL to the first event the new node processed) without
/// asserting on it: bench/cluster-failover.sh measures it repeatedly.
/// </summary>
public sealed class ProcessFailoverTests(ITestOutputHelper output) : TestKit("akka.test.timefactor = 1"), IAsyncLifetime
{
    private readonly List<TremorNodeProcess> _nodes = [];
    private readonly List<int> _apiPorts = [];
    private bool _passed;
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"tremor-cluster-{Guid.NewGuid():N}");

    private static string NodeConfig(int port, int apiPort, IReadOnlyList<int> seeds) => $$"""
        akka {
          loglevel = INFO
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
          cluster {
            seed-nodes = [{{string.Join(", ", seeds.Select(s => $"\"akka.tcp://tremor@127.0.0.1:{s}\""))}}]
            # As hocon/examples/cluster: fast failover on loopback, but no down-all when a loaded machine is slow to pick a leader.
            split-brain-resolver { stable-after = 2s, down-all-when-unstable = 10s }
            failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
          }
        }
        tremor {
          api { enabled = on, port = {{apiPort}}, token-file = "tremor-api.token" }
          flows {
            ticker {
              connectors {
                metronome { type = metronome, config { interval = 100ms } }
                out { type = file, codec = json, postprocessors = ["separate"], config { path = "ticks.jsonl", mode = append } }
              }
              links = ["metronome -> out"]
            }
          }
        }
        """;

    [Fact]
    public async Task A_flow_on_a_node_killed_with_SIGKILL_resumes_on_a_survivor()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => TremorNodeProcess.FreePort()).ToList();
        _apiPorts.AddRange(Enumerable.Range(0, 3).Select(_ => TremorNodeProcess.FreePort()));
        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(TremorNodeProcess.Start(Path.Combine(_root, $"n{i + 1}"), NodeConfig(ports[i], _apiPorts[i], ports)));
        }

        var runner = -1;
        await AwaitAssertAsync(async () =>
        {
            // Every node itself sees all three up (not only the coordinator): a node still joining cannot take over.
            foreach (var api in _apiPorts)
            {
                var view = (await ClusterStatus(api)).GetProperty("view");
                Assert.Equal(3, view.EnumerateArray().Count(n => n.GetProperty("status").GetString() == "up"));
            }
            var status = await ClusterStatus(_apiPorts[0]);
            Assert.Equal(3, status.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("status").GetString() == "up"));
            var ticker = status.GetProperty("flows").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "ticker");
            var instance = Assert.Single(ticker.GetProperty("instances").EnumerateArray());
            Assert.Equal("running", instance.GetProperty("state").GetString());
            runner = ports.IndexOf(PortOf(instance.GetProperty("node").GetString()!));
            Assert.True(FirstTick(_nodes[runner]) is not null, "the ticker runs but wrote nothing yet");
        }, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(200));

        var killedAt = NowNs();
        _nodes[runner].KillHard();
        var survivors = Enumerable.Range(0, 3).Where(i => i != runner).ToList();

        long firstTick = 0;
        var resumedOn = -1;
        await AwaitAssertAsync(() =>
        {
            foreach (var i in survivors)
            {
                if (FirstTick(_nodes[i]) is { } ns)
                {
                    firstTick = ns;
                    resumedOn = i;
                    return;
                }
            }
            Assert.Fail($"no survivor runs the ticker yet\n{string.Join("\n---\n", survivors.Select(i => Tail(_nodes[i].Output)))}");
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));

        var status = await ClusterStatus(_apiPorts[resumedOn]);
        Assert.Equal(2, status.GetProperty("nodes").GetArrayLength());

        // What an operator sees: tremor cluster status, against the survivor's API, with its generated token.
        var cli = await RunCli("cluster", "status", "--url", $"http://127.0.0.1:{_apiPorts[resumedOn]}", "--token-file", Path.Combine(_nodes[resumedOn].Directory, "tremor-api.token"));
        Assert.True(cli.ExitCode == 0, cli.Output);
        var tickerLine = cli.Output.Split('\n').Single(l => l.StartsWith("ticker ", StringComparison.Ordinal));
        Assert.Contains($"127.0.0.1:{ports[resumedOn]} (running)", tickerLine);
        Assert.Contains("yes", tickerLine);
        // tremor top on that node lists the cluster's nodes, the survivor up and running the ticker.
        var top = await RunCli("top", "--once", "--interval", "200ms", "--url", $"http://127.0.0.1:{_apiPorts[resumedOn]}", "--token-file", Path.Combine(_nodes[resumedOn].Directory, "tremor-api.token"));
        Assert.True(top.ExitCode == 0, top.Output);
        var nodeLine = top.Output.Split('\n').Single(l => l.Contains($"127.0.0.1:{ports[resumedOn]} ", StringComparison.Ordinal) && l.Contains(" up ", StringComparison.Ordinal));
        Assert.Contains("ticker", nodeLine);
        var failoverMs = (firstTick - killedAt) / 1_000_000.0;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"failover: {failoverMs:0} ms from SIGKILL of node {runner + 1} to the first event on node {resumedOn + 1}"));
        _passed = true;
    }

    private static string Tail(string text) => text[^Math.Min(text.Length, 4000)..];

    private static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static int PortOf(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>ingest_ns of the first complete line of the node's ticks.jsonl, or null.</summary>
    private static long? FirstTick(TremorNodeProcess node)
    {
        var file = Path.Combine(node.Directory, "ticks.jsonl");
        if (!File.Exists(file)) return null;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        var end = text.IndexOf('\n');
        if (end < 0) return null;
        using var doc = JsonDocument.Parse(text[..end]);
        return doc.RootElement.GetProperty("ingest_ns").GetInt64();
    }

    private static async Task<(int ExitCode, string Output)> RunCli(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tremor.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private async Task<JsonElement> ClusterStatus(int apiPort)
    {
        var node = _nodes[_apiPorts.IndexOf(apiPort)];
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(Path.Combine(node.Directory, "tremor-api.token"))).Trim());
        using var response = await client.GetAsync("/v1/cluster");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /v1/cluster on {apiPort}: {(int)response.StatusCode} {body}\n{string.Join("\n---\n", _nodes.Select(n => n.Output[^Math.Min(n.Output.Length, 3000)..]))}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes)
        {
            await n.DisposeAsync();
            await File.WriteAllTextAsync(Path.Combine(n.Directory, "tremor.log"), n.Output);
        }
        if (!_passed)
        {
            output.WriteLine($"the nodes' working directories and logs (tremor.log) are kept in {_root}");
            return;
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
