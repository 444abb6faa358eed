using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

public sealed class TlsTests : IClassFixture<TlsTests.CertificateFixture>
{
    public sealed class CertificateFixture : IDisposable
    {
        internal Certificates Certificates { get; } = new();

        public void Dispose() => Certificates.Dispose();
    }

    private readonly Certificates _certs;

    public TlsTests(CertificateFixture fixture)
    {
        _certs = fixture.Certificates;
    }

    private async Task<(Runner Runner, int Port, TestHost Host)> StartServerAsync(bool requireClientCertificate)
    {
        var tls = new List<(string, Value)> { ("cert", _certs.ServerCertPem), ("key", _certs.ServerKeyPem) };
        if (requireClientCertificate) tls.Add(("client-ca", _certs.CaPem));
        var host = new TestHost();
        var connector = new TcpServerFactory().Create(Fixtures.Context(host, ("url", "127.0.0.1:0"), ("tls", Fixtures.Record([.. tls]))));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        return (new Runner(connector), Fixtures.Port(((StreamServer)connector).LocalEndPoint), host);
    }

    private Runner Client(TestHost host, int port, params (string, Value)[] tls) =>
        new(new TcpClientFactory().Create(Fixtures.Context(host, ("url", $"127.0.0.1:{port}"), ("tls", Fixtures.Record(tls)))));

    [Fact]
    public async Task Tls_client_and_server_with_a_private_ca_talk_both_ways_and_the_meta_says_tls()
    {
        var (server, port, _) = await StartServerAsync(requireClientCertificate: false);
        await using var __ = server;
        await using var client = Client(new TestHost(), port, ("ca", _certs.CaPem), ("domain", "localhost"));

        Assert.True(await client.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await client.DeliverAsync(Fixtures.SinkBatch(("{\"secret\":1}\n", Value.Null)))).Status);
        await Fixtures.Eventually(() => server.Text == "{\"secret\":1}\n", "the event at the server");
        var meta = server.Chunks[0].Meta;
        Assert.True(meta["tcp_server"]["tls"].AsBool());

        Assert.Equal(SinkStatus.Ack, (await server.DeliverAsync(Fixtures.SinkBatch(("{\"ok\":true}\n", meta)))).Status);
        await Fixtures.Eventually(() => client.Text == "{\"ok\":true}\n", "the reply at the client");
        Assert.True(client.Chunks[0].Meta["tcp_client"]["tls"].AsBool());
    }

    [Fact]
    public async Task A_client_that_trusts_another_ca_or_expects_another_name_does_not_connect()
    {
        var (server, port, _) = await StartServerAsync(requireClientCertificate: false);
        await using var __ = server;
        var host = new TestHost();
        await using var wrongCa = Client(host, port, ("ca", _certs.OtherCaPem), ("domain", "localhost"));
        await using var wrongName = Client(host, port, ("ca", _certs.CaPem), ("domain", "elsewhere.example"));

        Assert.False(await wrongCa.ConnectAsync(1));
        Assert.False(await wrongName.ConnectAsync(1));
        Assert.Equal(2, host.Logs.Count(l => l.Message.Contains("connecting to 127.0.0.1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_server_that_requires_client_certificates_refuses_a_client_without_one_and_accepts_one_with_one()
    {
        var (server, port, serverHost) = await StartServerAsync(requireClientCertificate: true);
        await using var __ = server;

        // Without a certificate: the handshake fails (TLS 1.3 may let the client finish first; the server then closes).
        var anonymousHost = new TestHost();
        await using (var anonymous = Client(anonymousHost, port, ("ca", _certs.CaPem), ("domain", "localhost")))
        {
            if (await anonymous.ConnectAsync(1))
            {
                await anonymous.DeliverAsync(Fixtures.SinkBatch(("{\"anonymous\":1}\n", Value.Null)));
                await Fixtures.Eventually(() => anonymousHost.ConnectionsLost.Count == 1, "the server to close the connection");
            }
            await Fixtures.Eventually(() => serverHost.Logged("TLS handshake with 127.0.0.1"), "the server's handshake failure log");
        }

        // A plain-text peer is refused too.
        using (var plain = new TcpClient())
        {
            await plain.ConnectAsync(IPAddress.Loopback, port);
            await plain.GetStream().WriteAsync("{\"plain\":1}\n"u8.ToArray());
            var buffer = new byte[256];
            try
            {
                while (await plain.GetStream().ReadAsync(buffer).AsTask().WaitAsync(Fixtures.Timeout) > 0)
                {
                }
            }
            catch (IOException)
            {
                // Reset: refused.
            }
        }

        await using var authenticated = Client(new TestHost(), port, ("ca", _certs.CaPem), ("domain", "localhost"), ("cert", _certs.ClientCertPem), ("key", _certs.ClientKeyPem));
        Assert.True(await authenticated.ConnectAsync(1));
        Assert.Equal(SinkStatus.Ack, (await authenticated.DeliverAsync(Fixtures.SinkBatch(("{\"authenticated\":1}\n", Value.Null)))).Status);
        await Fixtures.Eventually(() => server.Text.Contains("authenticated", StringComparison.Ordinal), "the authenticated client's event");
        Assert.Equal("{\"authenticated\":1}\n", server.Text);
    }

    [Fact]
    public async Task An_SslStream_client_trusting_the_ca_can_talk_to_the_server()
    {
        var (server, port, _) = await StartServerAsync(requireClientCertificate: false);
        await using var __ = server;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(_certs.CaPem);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build((X509Certificate2)certificate!);
            },
        }).WaitAsync(Fixtures.Timeout);

        await ssl.WriteAsync("{\"n\":1}\n"u8.ToArray());
        await Fixtures.Eventually(() => server.Text == "{\"n\":1}\n", "the event at the server");
    }
}
