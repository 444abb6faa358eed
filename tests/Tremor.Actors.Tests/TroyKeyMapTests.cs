using Tremor.Actors.Configuration;
using Tremor.Actors.Configuration.Troy;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// Tremor's connector config keys and value shapes in a troy file become ours (the README's tables), read back
/// through the same HOCON reader as any config; a Tremor key we lack is an error at its line and column.
/// </summary>
public sealed class TroyKeyMapTests
{
    private static string Troy(string type, string with) => $$"""
        define flow main
        flow
          define connector c from {{type}}
          with
            {{with}}
          end;
          define pipeline p pipeline select event from in into out; end;
          create connector c;
          create pipeline p;
          connect /pipeline/p to /connector/c;
          connect /connector/c to /pipeline/p;
        end;
        deploy flow main;
        """;

    private static ConnectorSpec Read(string type, string with)
    {
        var hocon = TroyConfig.ToHocon(Troy(type, with), "deploy.troy", null);
        var settings = TremorConfig.ReadSettings(TremorConfig.Parse(hocon, "deploy.troy"), "deploy.troy");
        return settings.Flows.Single().Connectors.Single();
    }

    private static string Config(string type, string tremorConfig) => Value.From(Read(type, $"config = {tremorConfig}").Config.Raw).ToString();

    private static ConfigException Fails(string type, string with) => Assert.Throws<ConfigException>(() => TroyConfig.ToHocon(Troy(type, with), "deploy.troy", null));

    [Theory]
    [InlineData("file", """{"path": "in.json", "mode": "read", "chunk_size": 4096}""", """{"path":"in.json","mode":"read","chunk_size":4096}""")]
    [InlineData("file", """{"path": "app.log", "mode": "follow", "poll-interval": "100ms"}""", """{"path":"app.log","mode":"follow","poll-interval":"100ms"}""")]
    [InlineData("metronome", """{"interval": nanos::from_millis(250)}""", """{"interval":"250ms"}""")]
    [InlineData("metronome", """{"interval": 1500, "iterations": 3}""", """{"interval":0.0015,"iterations":3}""")]
    [InlineData("bench", """{"path": "data.json.xz", "iters": 2, "interval": 0, "base64": false, "stop_after_secs": 10, "warmup_secs": 1}""",
        """{"path":"data.json.xz","iterations":2,"interval":"0s","base64":false,"stop-after-secs":10,"warmup-secs":1}""")]
    [InlineData("tcp_server", """{"url": "127.0.0.1:4242", "buf_size": 16384, "backlog": 64, "tls": {"cert": "c.pem", "key": "k.pem"}}""",
        """{"url":"127.0.0.1:4242","buffer-size":16384,"backlog":64,"tls":{"cert":"c.pem","key":"k.pem"}}""")]
    [InlineData("tcp_client", """{"url": "localhost:4242", "buf_size": 1024, "tls": {"cafile": "ca.pem", "domain": "example"}}""",
        """{"url":"localhost:4242","buffer-size":1024,"tls":{"ca":"ca.pem","domain":"example"}}""")]
    [InlineData("tcp_client", """{"url": "localhost:4242", "tls": true}""", """{"url":"localhost:4242","tls":true}""")]
    [InlineData("udp_server", """{"url": "0.0.0.0:5000", "buf_size": 9000}""", """{"url":"0.0.0.0:5000","max-datagram-size":9000}""")]
    [InlineData("udp_client", """{"url": "127.0.0.1:5000"}""", """{"url":"127.0.0.1:5000"}""")]
    [InlineData("unix_socket_server", """{"path": "/run/t.sock", "permissions": "=600", "buf_size": 2048}""", """{"path":"/run/t.sock","permissions":"=600","buffer-size":2048}""")]
    [InlineData("unix_socket_client", """{"path": "/run/t.sock", "buf_size": 2048}""", """{"path":"/run/t.sock","buffer-size":2048}""")]
    [InlineData("http_server", """{"url": "http://127.0.0.1:8080"}""", """{"url":"http://127.0.0.1:8080"}""")]
    [InlineData("http_client", """{"url": "https://example.com/", "method": "PUT", "headers": {"x-a": "b"}, "timeout": nanos::from_seconds(5), "concurrency": 8, "tls": {"cafile": "ca.pem"}}""",
        """{"url":"https://example.com/","method":"PUT","headers":{"x-a":"b"},"timeout":"5s","concurrency":8,"tls":{"ca":"ca.pem"}}""")]
    [InlineData("ws_server", """{"url": "ws://127.0.0.1:9000"}""", """{"url":"ws://127.0.0.1:9000"}""")]
    [InlineData("ws_client", """{"url": "wss://example.com/", "tls": true}""", """{"url":"wss://example.com/"}""")]
    public void Tremor_config_keys_become_ours(string type, string tremor, string ours) => Assert.Equal(ours, Config(type, tremor));

    [Theory]
    [InlineData("tcp_server", "socket_options", """{"url": "127.0.0.1:1", "socket_options": {"SO_REUSEPORT": true}}""")]
    [InlineData("tcp_client", "no_delay", """{"url": "127.0.0.1:1", "no_delay": false}""")]
    [InlineData("udp_client", "bind", """{"url": "127.0.0.1:1", "bind": "0.0.0.0:0"}""")]
    [InlineData("http_client", "auth", """{"url": "http://x/", "auth": "gcp"}""")]
    [InlineData("bench", "structured", """{"path": "x", "structured": true}""")]
    [InlineData("ws_server", "backlog", """{"url": "ws://127.0.0.1:1", "backlog": 8}""")]
    public void A_Tremor_key_we_lack_is_an_error_naming_it_and_the_connector_at_its_line(string type, string key, string tremor)
    {
        var e = Fails(type, $"config = {tremor}");
        Assert.StartsWith("deploy.troy:5:", e.Path, StringComparison.Ordinal);
        Assert.Contains($"Tremor's {type} key `{key}` has no equivalent in Tremor.NET", e.Message);
        Assert.Contains("hint: ", e.Message);
    }

    [Fact]
    public void A_key_neither_system_has_is_an_error_with_the_nearest_one()
    {
        var e = Fails("file", """config = {"path": "x", "chunksize": 4096}""");
        Assert.Contains("a file connector has no config key `chunksize`", e.Message);
        Assert.Contains("hint: did you mean `chunk_size`?", e.Message);
    }

    [Fact]
    public void Codecs_and_processors_given_as_records_or_by_Tremor_names_become_ours()
    {
        var c = Read("file", """
            codec = {"name": "json", "config": {"mode": "sorted"}},
                preprocessors = ["lines", {"name": "separate", "config": {"separator": "|", "max_length": 100}}, "gzip"],
                postprocessors = [{"name": "compress", "config": {"algorithm": "zstd"}}, "lines"],
                config = {"path": "x", "mode": "read"}
            """);
        Assert.Equal("json", c.Codec!.Name);
        Assert.Equal("""{"mode":"sorted"}""", Value.From(c.Codec.Config.Raw).ToString());
        Assert.Equal(["separate", "separate", "decompress"], c.Preprocessors.Select(p => p.Name));
        Assert.Equal("""{"separator":"|","max-length":100}""", Value.From(c.Preprocessors[1].Config.Raw).ToString());
        Assert.Equal("""{"format":"gzip"}""", Value.From(c.Preprocessors[2].Config.Raw).ToString());
        Assert.Equal(["compress", "separate"], c.Postprocessors.Select(p => p.Name));
        Assert.Equal("""{"format":"zstd"}""", Value.From(c.Postprocessors[0].Config.Raw).ToString());
        Assert.Equal("""{"mode":"sorted"}""", Value.From(Read("file", "codec = \"json-sorted\", config = {\"path\": \"x\"}").Codec!.Config.Raw).ToString());
    }

    [Fact]
    public void Reconnect_retry_becomes_our_backoff_and_none_leaves_it_off()
    {
        var c = Read("tcp_client", """
            config = {"url": "127.0.0.1:1"},
                reconnect = {"retry": {"interval_ms": 100, "growth_rate": 2, "max_retries": 3, "randomized": false}}
            """);
        Assert.Equal(new ReconnectSettings(true, TimeSpan.FromMilliseconds(100), 2, TimeSpan.FromMinutes(1), 3, 0), c.Reconnect);
        Assert.Equal(ReconnectSettings.None, Read("tcp_client", """config = {"url": "127.0.0.1:1"}, reconnect = "none" """).Reconnect);

        var bad = Fails("tcp_client", """config = {"url": "127.0.0.1:1"}, reconnect = {"retry": {"interval": 100}}""");
        Assert.Contains("`reconnect.retry` has no key `interval`", bad.Message);
    }

    [Fact]
    public void Metrics_interval_is_refused_rather_than_dropped()
    {
        var e = Fails("file", """config = {"path": "x"}, metrics_interval_s = 10""");
        Assert.StartsWith("deploy.troy:5:", e.Path, StringComparison.Ordinal);
        Assert.Contains("`metrics_interval_s` has no equivalent in Tremor.NET", e.Message);
    }

    [Fact]
    public void Stdio_ports_are_Tremors_and_stderr_says_what_to_do()
    {
        var hocon = TroyConfig.ToHocon(Troy("stdio", "codec = \"json\"").Replace("/connector/c;", "/connector/c/stdout;", StringComparison.Ordinal), "deploy.troy", null);
        Assert.Contains("\"p/out -> c/in\"", hocon);
        var e = Assert.Throws<ConfigException>(() => TroyConfig.ToHocon(Troy("stdio", "codec = \"json\"").Replace("/connector/c;", "/connector/c/stderr;", StringComparison.Ordinal), "deploy.troy", null));
        Assert.Contains("output", e.Message);
    }

    [Fact]
    public void A_request_body_is_recognised_as_troy_by_its_first_word_or_content_type()
    {
        Assert.True(TroyConfig.LooksLikeTroy("# comment\n\ndefine flow x flow end;"));
        Assert.True(TroyConfig.LooksLikeTroy("use tremor::connectors;"));
        Assert.False(TroyConfig.LooksLikeTroy("tremor.flows.x { }"));
        var config = TremorConfig.ParseBody(Troy("metronome", "config = {\"interval\": 1000000}"), "request body", "application/x-troy");
        Assert.Equal("main", TremorConfig.ReadSettings(config, "request body").Flows.Single().Name);
    }
}
