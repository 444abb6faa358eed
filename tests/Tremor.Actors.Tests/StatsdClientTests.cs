using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Connectors.Net;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// The statsd and dogstatsd codecs against a client nobody here wrote: the npm package <c>hot-shots</c> (pinned), run
/// with Node.js, sending every kind of metric over UDP to a <c>udp_server</c>.
/// </summary>
public sealed class StatsdClientTests : TremorTestKit, IClassFixture<StatsdClientTests.HotShots>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly HotShots _client;

    public StatsdClientTests(HotShots client) => _client = client;

    [Fact]
    public async Task Counters_gauges_timers_sets_and_sampled_counters_from_hot_shots_arrive_as_statsd_events()
    {
        var sink = await Deploy("statsd");
        // Sampling is the client's dice roll: Math.random is pinned so the sampled counter is always sent (and says so).
        await _client.Run(Port, false, """
            Math.random = () => 0;
            await send(cb => client.increment('page.views', cb));
            await send(cb => client.increment('page.views', 5, 0.25, cb));
            await send(cb => client.decrement('stock', 2, cb));
            await send(cb => client.gauge('queue.depth', 42, cb));
            await send(cb => client.gaugeDelta('queue.depth', -3, cb));
            await send(cb => client.timing('db.query', 320, cb));
            await send(cb => client.set('users.unique', 1234, cb));
            """);

        AwaitCondition(() => sink.Events.Count == 7, Patience, TimeSpan.FromMilliseconds(20));
        var events = sink.Events.Select(e => e.Data.ToString()).ToList();
        Assert.Equal(
            [
                """{"metric":"page.views","type":"c","value":1}""",
                """{"metric":"page.views","type":"c","sample_rate":0.25,"value":5}""",
                """{"metric":"stock","type":"c","value":-2}""",
                """{"metric":"queue.depth","type":"g","value":42}""",
                """{"metric":"queue.depth","type":"g","action":"sub","value":3}""",
                """{"metric":"db.query","type":"ms","value":320}""",
                """{"metric":"users.unique","type":"s","value":1234}""",
            ],
            events);
    }

    [Fact]
    public async Task Dogstatsd_metrics_with_tags_events_and_service_checks_from_hot_shots_arrive_in_tremors_shape()
    {
        var sink = await Deploy("dogstatsd");
        await _client.Run(Port, true, """
            await send(cb => client.increment('requests', 1, ['route:/home', 'method:get'], cb));
            await send(cb => client.histogram('latency', 12.5, ['route:/home'], cb));
            await send(cb => client.distribution('payload.size', 2048, cb));
            await send(cb => client.event('deploy', 'version 2 is out', { alert_type: 'info', hostname: 'web-1' }, cb));
            await send(cb => client.check('db.up', client.CHECKS.WARNING, { message: 'slow' }, cb));
            """);

        AwaitCondition(() => sink.Events.Count == 5, Patience, TimeSpan.FromMilliseconds(20));
        var events = sink.Events.Select(e => e.Data).ToList();
        var requests = events[0]["metric"];
        Assert.Equal("requests", requests["metric"].AsString());
        Assert.Equal("c", requests["type"].AsString());
        Assert.Equal("[1]", requests["values"].ToString());
        // The client's global tag comes before the metric's own.
        Assert.Equal("""["env:test","route:/home","method:get"]""", requests["tags"].ToString());
        var latency = events[1]["metric"];
        Assert.Equal(("latency", "h", "[12.5]"), (latency["metric"].AsString(), latency["type"].AsString(), latency["values"].ToString()));
        var size = events[2]["metric"];
        Assert.Equal(("payload.size", "d", """["env:test"]"""), (size["metric"].AsString(), size["type"].AsString(), size["tags"].ToString()));
        var deploy = events[3]["event"];
        Assert.Equal(("deploy", "version 2 is out", "web-1"), (deploy["title"].AsString(), deploy["text"].AsString(), deploy["hostname"].AsString()));
        var check = events[4]["service_check"];
        Assert.Equal("db.up", check["name"].AsString());
        Assert.True(check["status"].TryGetI64(out var status) && status == 1, check.ToString());
        Assert.Equal("slow", check["message"].AsString());
    }

    private int Port { get; set; }

    private async Task<TestSinkFactory> Deploy(string codec)
    {
        foreach (var factory in new NetPlugin().Connectors) Register(factory);
        var sink = new TestSinkFactory { KeepEvents = true };
        Register(sink);
        Port = FreePort(SocketType.Dgram, ProtocolType.Udp);
        Deploy(Flow("f", $$"""
            connectors {
              metrics { type = udp_server, codec = {{codec}}, config { url = "127.0.0.1:{{Port}}" } }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["metrics -> main", "main -> snk"]
            """));
        await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Running, (await ConnectorStatus("f.metrics")).State), Patience, TimeSpan.FromMilliseconds(50));
        return sink;
    }

    /// <summary>
    /// hot-shots at a pinned version, installed once with npm into a cache folder beside the test binaries (never
    /// globally); a missing node or npm fails the test with what to install.
    /// </summary>
    public sealed class HotShots
    {
        public const string Version = "17.1.1";

        private readonly string _dir = Path.Combine(AppContext.BaseDirectory, "npm-cache", $"hot-shots-{Version}");
        private readonly SemaphoreSlim _installed = new(1, 1);
        private bool _ready;

        /// <summary>Runs <paramref name="body"/> (awaits of <c>send(cb =&gt; client.x(..., cb))</c>) against a client for 127.0.0.1:<paramref name="port"/>.</summary>
        public async Task Run(int port, bool dogstatsd, string body)
        {
            await Install();
            var script = Path.Combine(_dir, $"send-{Guid.NewGuid():N}.js");
            // Every metric in a datagram of its own (no buffering), so each is one event of the udp_server.
            await File.WriteAllTextAsync(script, $$"""
                const StatsD = require('hot-shots');
                const client = new StatsD({
                  host: '127.0.0.1', port: {{port}}, protocol: 'udp', maxBufferSize: 0,
                  {{(dogstatsd ? "globalTags: { env: 'test' }," : "")}}
                  errorHandler: e => { console.error('hot-shots: ' + e.message); process.exit(2); },
                });
                const send = f => new Promise((resolve, reject) => f(err => err ? reject(err) : resolve()));
                (async () => {
                {{body}}
                  client.close(() => process.exit(0));
                })().catch(e => { console.error(e.stack || e); process.exit(3); });
                """);
            try
            {
                var (code, output) = await Exec("node", _dir, script);
                Assert.True(code == 0, $"node {script} exited with {code}: {output}");
            }
            finally
            {
                File.Delete(script);
            }
        }

        private async Task Install()
        {
            await _installed.WaitAsync();
            try
            {
                if (_ready) return;
                var package = Path.Combine(_dir, "node_modules", "hot-shots", "package.json");
                if (!File.Exists(package) || !(await File.ReadAllTextAsync(package)).Contains($"\"version\": \"{Version}\"", StringComparison.Ordinal))
                {
                    Directory.CreateDirectory(_dir);
                    // unix-dgram, an optional native dependency for unix sockets, is not needed for UDP: no compiler run.
                    var (code, output) = await Exec("npm", _dir, "install", "--prefix", _dir, "--no-save", "--omit=optional", "--no-audit", "--no-fund", "--no-package-lock", $"hot-shots@{Version}");
                    Assert.True(code == 0, $"npm install hot-shots@{Version} failed ({code}): {output}");
                }
                _ready = true;
            }
            finally
            {
                _installed.Release();
            }
        }

        private static async Task<(int Code, string Output)> Exec(string program, string dir, params string[] args)
        {
            var info = new ProcessStartInfo(program) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                Assert.Fail($"'{program}' could not be run ({e.Message}): install the Debian packages 'nodejs' and 'npm' (apt-get install -y nodejs npm; ./test.sh installs them when missing)");
                throw;
            }
            using (process)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
                return (process.ExitCode, (await stdout + await stderr).Trim());
            }
        }
    }
}
