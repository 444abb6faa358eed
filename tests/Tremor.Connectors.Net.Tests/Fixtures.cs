using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>Sink batches with meta, and a deadline helper.</summary>
internal static partial class Fixtures
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>A sink batch of events (payload and meta) whose payloads lie back to back, as the runtime hands them over.</summary>
    public static SinkBatch SinkBatch(params (string Payload, Value Meta)[] events) =>
        SinkBatch(events.Select(e => (Encoding.UTF8.GetBytes(e.Payload), e.Meta)).ToArray());

    public static SinkBatch SinkBatch(params (byte[] Payload, Value Meta)[] events) =>
        BackToBack(events.Select(e => (e.Payload, 1UL, Value.Null, e.Meta)).ToArray());

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }

    public static int Port(EndPoint? endPoint) => Assert.IsType<IPEndPoint>(endPoint).Port;

    public static string Text(IEnumerable<byte[]> parts) => Encoding.UTF8.GetString(parts.SelectMany(p => p).ToArray());
}

/// <summary>A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, as PEM files.</summary>
internal sealed class Certificates : IDisposable
{
    private readonly TempDir _dir = new();

    public Certificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = TestCa.Create(now);
        CaPem = Write("ca.pem", ca.ExportCertificatePem());

        (ServerCertPem, ServerKeyPem) = Issue(ca, "server", "CN=localhost", serverAuth: true, now);
        (ClientCertPem, ClientKeyPem) = Issue(ca, "client", "CN=tremor-client", serverAuth: false, now);

        // A second CA that signed nothing here: trusting only it must refuse the server.
        using var other = TestCa.Create(now, "CN=Other CA");
        OtherCaPem = Write("other-ca.pem", other.ExportCertificatePem());
    }

    public string CaPem { get; }

    public string OtherCaPem { get; }

    public string ServerCertPem { get; }

    public string ServerKeyPem { get; }

    public string ClientCertPem { get; }

    public string ClientKeyPem { get; }

    private (string Cert, string Key) Issue(X509Certificate2 ca, string name, string subject, bool serverAuth, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usage = new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usage, false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(ca, now.AddDays(-1), now.AddDays(29), serial);
        return (Write($"{name}.pem", issued.ExportCertificatePem()), Write($"{name}-key.pem", key.ExportPkcs8PrivateKeyPem()));
    }

    private string Write(string name, string pem)
    {
        var path = _dir.File(name);
        System.IO.File.WriteAllText(path, pem);
        return path;
    }

    public void Dispose() => _dir.Dispose();
}
