using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

public sealed class ConfigErrorTests : IClassFixture<TlsTests.CertificateFixture>
{
    private readonly Certificates _certs;

    public ConfigErrorTests(TlsTests.CertificateFixture fixture)
    {
        _certs = fixture.Certificates;
    }

    public static TheoryData<IConnectorFactory, (string, Value)[], string> BadConfigs => new()
    {
        { new TcpServerFactory(), [], "url" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("port", 2)], "url" },
        { new TcpServerFactory(), [("url", "udp://127.0.0.1:1")], "url" },
        { new TcpServerFactory(), [("url", "127.0.0.1")], "url" },
        { new TcpServerFactory(), [("url", "tcp://127.0.0.1:99999")], "url" },
        { new TcpServerFactory(), [("port", 70000)], "port" },
        { new TcpServerFactory(), [("port", "http")], "port" },
        { new TcpServerFactory(), [("host", "a b"), ("port", 1)], "host" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("backlog", 0)], "backlog" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("max-connections", 0)], "max-connections" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("max-connections", "many")], "max-connections" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("idle-timeout", "soon")], "idle-timeout" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("buffer-size", 0)], "buffer-size" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("write-timeout", "-1s")], "write-timeout" },
        { new UnixSocketServerFactory(), [("path", "x.sock"), ("write-timeout", "never")], "write-timeout" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("max-conections", 3)], "max-conections" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("tls", true)], "tls" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("tls", Fixtures.Record())], "tls.cert" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("tls", Fixtures.Record(("cert", "missing.pem"), ("key", "missing.pem")))], "tls.cert" },
        { new TcpServerFactory(), [("url", "127.0.0.1:1"), ("tls", Fixtures.Record(("cert", "x"), ("kee", "y")))], "tls.kee" },
        { new TcpClientFactory(), [], "url" },
        { new TcpClientFactory(), [("host", "127.0.0.1")], "port" },
        { new TcpClientFactory(), [("host", "127.0.0.1"), ("port", 0)], "port" },
        { new TcpClientFactory(), [("url", "127.0.0.1:0")], "url" },
        { new UdpClientFactory(), [("url", "udp://127.0.0.1:0")], "url" },
        { new TcpClientFactory(), [("url", "127.0.0.1:1"), ("connect-timeout", "0s")], "connect-timeout" },
        { new TcpClientFactory(), [("url", "127.0.0.1:1"), ("tls", "perhaps")], "tls" },
        { new TcpClientFactory(), [("url", "127.0.0.1:1"), ("tls", Fixtures.Record(("ca", "missing.pem")))], "tls.ca" },
        { new TcpClientFactory(), [("url", "127.0.0.1:1"), ("tls", Fixtures.Record(("domain", "")))], "tls.domain" },
        { new TcpClientFactory(), [("url", "127.0.0.1:1"), ("backlog", 3)], "backlog" },
        { new UnixSocketServerFactory(), [], "path" },
        { new UnixSocketServerFactory(), [("path", "")], "path" },
        { new UnixSocketServerFactory(), [("path", new string('s', 120) + ".sock")], "path" },
        { new UnixSocketServerFactory(), [("path", "x.sock"), ("permissions", "rw-rw----")], "permissions" },
        { new UnixSocketServerFactory(), [("path", "x.sock"), ("permissions", "0999")], "permissions" },
        { new UnixSocketServerFactory(), [("path", "x.sock"), ("url", "127.0.0.1:1")], "url" },
        { new UnixSocketClientFactory(), [], "path" },
        { new UnixSocketClientFactory(), [("path", "x.sock"), ("permissions", "0600")], "permissions" },
        { new UdpServerFactory(), [], "url" },
        { new UdpServerFactory(), [("url", "tcp://127.0.0.1:1")], "url" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("max-datagram-size", 70000)], "max-datagram-size" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("tls", true)], "tls" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("stream-mode", "peer")], "stream-mode" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("receive-buffer-size", 0)], "receive-buffer-size" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("receive-buffer-size", "4MiB")], "receive-buffer-size" },
        { new UdpServerFactory(), [("url", "127.0.0.1:1"), ("receive-buffer-size", 1L << 31)], "receive-buffer-size" },
        { new UdpClientFactory(), [], "url" },
        { new UdpClientFactory(), [("url", "127.0.0.1:1"), ("max-datagram-size", 0)], "max-datagram-size" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bad_configs_are_refused_at_create_naming_the_key_path(IConnectorFactory factory, (string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(factory, config, key);

    [Fact]
    public void A_key_file_that_is_not_the_certificates_key_is_refused_naming_tls_key()
    {
        var tls = Fixtures.Record(("cert", _certs.ServerCertPem), ("key", _certs.ClientKeyPem));

        var error = Assert.Throws<ConfigException>(() => new TcpServerFactory().Create(Fixtures.Context(new TestHost(), ("url", "127.0.0.1:1"), ("tls", tls))));

        Assert.Equal($"{Fixtures.ConfigPath}.tls.key", error.Path);
    }

    [Fact]
    public async Task Good_configs_create_without_io()
    {
        // Nothing listens or connects before ConnectAsync: creating against unreachable places is fine.
        var host = new TestHost();
        await using var server = new TcpServerFactory().Create(Fixtures.Context(host, ("host", "127.0.0.1"), ("port", 4242), ("idle-timeout", "30s"), ("tls", Fixtures.Record(("cert", _certs.ServerCertPem), ("key", _certs.ServerKeyPem), ("client-ca", _certs.CaPem)))));
        await using var client = new TcpClientFactory().Create(Fixtures.Context(host, ("url", "tcp://db.invalid:4242"), ("tls", true)));
        await using var unix = new UnixSocketServerFactory().Create(Fixtures.Context(host, ("path", "does/not/exist.sock"), ("permissions", 660)));
        await using var udp = new UdpClientFactory().Create(Fixtures.Context(host, ("url", "udp://[::1]:9")));

        Assert.NotNull(server.Source);
        Assert.NotNull(server.Sink);
        Assert.NotNull(client.Source);
        Assert.NotNull(unix.Sink);
        Assert.Null(udp.Source);
        Assert.Empty(host.Logs);
    }

    [Fact]
    public void The_plugin_provides_every_network_connector_type_with_a_description_and_json_as_default_codec()
    {
        var plugin = new NetPlugin();

        Assert.Equal(
            ["tcp_client", "tcp_server", "udp_client", "udp_server", "unix_socket_client", "unix_socket_server"],
            plugin.Connectors.Select(c => c.Type).Order(StringComparer.Ordinal));
        Assert.All(plugin.Connectors, c =>
        {
            Assert.False(string.IsNullOrWhiteSpace(c.Description));
            Assert.DoesNotContain('\n', c.Description);
            Assert.Equal("json", c.DefaultCodec);
        });
        Assert.Equal(PdkVersion.Text, plugin.Manifest.PdkVersion);
    }
}
