using Tremor.Pdk;

namespace Tremor.Connectors.Http.Tests;

public sealed class ConfigAndPluginTests
{
    private static readonly Value ServerUrl = "http://127.0.0.1:0";

    public static TheoryData<IConnectorFactory, (string, Value)[], string> BadConfigs => new()
    {
        { new HttpServerFactory(), [], "url" },
        { new HttpServerFactory(), [("url", "ftp://127.0.0.1:1")], "url" },
        { new HttpServerFactory(), [("url", "http://example.com:80")], "url" },
        { new HttpServerFactory(), [("url", ServerUrl), ("prot", 1)], "prot" },
        { new HttpServerFactory(), [("url", ServerUrl), ("reply", "never")], "reply" },
        { new HttpServerFactory(), [("url", ServerUrl), ("response-timeout", "0s")], "response-timeout" },
        { new HttpServerFactory(), [("url", ServerUrl), ("response-timeout", "soon")], "response-timeout" },
        { new HttpServerFactory(), [("url", ServerUrl), ("max-body-size", 0)], "max-body-size" },
        { new HttpServerFactory(), [("url", ServerUrl), ("max-connections", -1)], "max-connections" },
        { new HttpServerFactory(), [("url", ServerUrl), ("idle-timeout", "never")], "idle-timeout" },
        { new HttpServerFactory(), [("url", ServerUrl), ("max-pending-requests", 0)], "max-pending-requests" },
        { new HttpServerFactory(), [("url", "https://127.0.0.1:0")], "tls" },
        { new HttpServerFactory(), [("url", ServerUrl), ("tls", Fixtures.Record(("cert", "a.pem"), ("key", "b.pem")))], "tls" },
        { new HttpServerFactory(), [("url", "https://127.0.0.1:0"), ("tls", Fixtures.Record(("cert", "missing.pem"), ("key", "missing.pem")))], "tls.cert" },
        { new HttpServerFactory(), [("url", "https://127.0.0.1:0"), ("tls", Fixtures.Record(("cert", "a.pem"), ("ca", "b.pem")))], "tls.ca" },
        { new HttpClientFactory(), [], "url" },
        { new HttpClientFactory(), [("url", "ws://127.0.0.1:1")], "url" },
        { new HttpClientFactory(), [("url", ServerUrl), ("method", "GET PUT")], "method" },
        { new HttpClientFactory(), [("url", ServerUrl), ("headers", "x")], "headers" },
        { new HttpClientFactory(), [("url", ServerUrl), ("headers", Fixtures.Record(("x", 1)))], "headers" },
        { new HttpClientFactory(), [("url", ServerUrl), ("timeout", "-1s")], "timeout" },
        { new HttpClientFactory(), [("url", ServerUrl), ("concurrency", 0)], "concurrency" },
        { new HttpClientFactory(), [("url", ServerUrl), ("fail-on-status", "maybe")], "fail-on-status" },
        { new HttpClientFactory(), [("url", ServerUrl), ("max-queued-responses", 0)], "max-queued-responses" },
        { new HttpClientFactory(), [("url", ServerUrl), ("max-response-size", 0)], "max-response-size" },
        { new HttpClientFactory(), [("url", "https://127.0.0.1:1"), ("tls", Fixtures.Record(("ca", "missing.pem")))], "tls.ca" },
        { new HttpClientFactory(), [("url", ServerUrl), ("tls", Fixtures.Record(("cert", "x.pem")))], "tls.cert" },
        { new HttpClientFactory(), [("url", ServerUrl), ("retries", 3)], "retries" },
        { new WsServerFactory(), [("url", ServerUrl)], "url" },
        { new WsServerFactory(), [("url", "ws://127.0.0.1:0"), ("mode", "morse")], "mode" },
        { new WsServerFactory(), [("url", "ws://127.0.0.1:0"), ("max-message-size", 0)], "max-message-size" },
        { new WsServerFactory(), [("url", "ws://127.0.0.1:0"), ("max-queued-messages", 0)], "max-queued-messages" },
        { new WsServerFactory(), [("url", "wss://127.0.0.1:0")], "tls" },
        { new WsServerFactory(), [("url", "ws://127.0.0.1:0"), ("path", "/x")], "path" },
        { new WsClientFactory(), [], "url" },
        { new WsClientFactory(), [("url", "ws://127.0.0.1:1"), ("mode", "morse")], "mode" },
        { new WsClientFactory(), [("url", "ws://127.0.0.1:1"), ("connect-timeout", "0s")], "connect-timeout" },
        { new WsClientFactory(), [("url", "ws://127.0.0.1:1"), ("max-message-size", -5)], "max-message-size" },
        { new WsClientFactory(), [("url", "ws://127.0.0.1:1"), ("headers", Fixtures.Record())], "headers" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bad_configs_are_refused_at_create_naming_the_key_path(IConnectorFactory factory, (string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(factory, config, key);

    [Fact]
    public async Task Creating_does_no_network_io()
    {
        // Nothing listens or connects before ConnectAsync: a port in use or a server that is down is a connect error.
        await using var client = new HttpClientFactory().Create(Fixtures.Context(new TestHost(), ("url", "http://127.0.0.1:1/")));
        await using var ws = new WsClientFactory().Create(Fixtures.Context(new TestHost(), ("url", "ws://127.0.0.1:1/")));
        await using var server = new HttpServerFactory().Create(Fixtures.Context(new TestHost(), ("url", "http://127.0.0.1:1")));
        Assert.NotNull(client.Sink);
        Assert.NotNull(ws.Source);
        Assert.NotNull(server.Source);
    }

    [Fact]
    public void The_assembly_has_one_plugin_class_with_the_four_connector_types_and_references_only_the_pdk()
    {
        var candidates = typeof(HttpPlugin).Assembly.GetExportedTypes()
            .Where(t => typeof(ITremorPlugin).IsAssignableFrom(t) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .ToList();
        Assert.Equal(typeof(HttpPlugin), Assert.Single(candidates));
        Assert.Equal(typeof(HttpPlugin).Namespace, typeof(HttpPlugin).Assembly.GetName().Name);

        var plugin = new HttpPlugin();
        Assert.Equal("http", plugin.Manifest.Name);
        Assert.Equal(PdkVersion.Text, plugin.Manifest.PdkVersion);
        Assert.Equal(["http_server", "http_client", "ws_server", "ws_client"], plugin.Connectors.Select(c => c.Type));
        Assert.All(plugin.Connectors, c => Assert.Equal(ConnectorKinds.Both, c.Kinds));
        Assert.All(plugin.Connectors, c => Assert.Equal("json", c.DefaultCodec));
        Assert.All(plugin.Connectors, c => Assert.DoesNotContain('\n', c.Description));

        var tremor = typeof(HttpPlugin).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Tremor.", StringComparison.Ordinal));
        Assert.Equal(["Tremor.Pdk"], tremor);
    }
}
