using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>Sink batches whose data is the payload, pulls that wait for data, and certificates.</summary>
internal static partial class Fixtures
{
    /// <summary>A safety net so a broken connector fails a test instead of hanging it; never a synchronisation.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static Value Strings(params string[] values) => Value.From(values.Select(Value.From).ToList());

    /// <summary>A sink batch of events whose data is their payload (as a string).</summary>
    public static SinkBatch SinkBatch(params (string Payload, Value Meta)[] events) =>
        BackToBack(events.Select(e => (Encoding.UTF8.GetBytes(e.Payload), 1UL, (Value)e.Payload, e.Meta)).ToArray());

    /// <summary>A chunk a pull produced, copied (batches are reused).</summary>
    public sealed record Chunk(ulong StreamId, byte[] Data, Value Meta, bool IsStreamEnd, bool IsStructured = false, Value Structured = default)
    {
        public string Text => Encoding.UTF8.GetString(Data);
    }

    /// <summary>Pulls until at least one data chunk came (the source waits asynchronously inside the pull).</summary>
    public static async Task<List<Chunk>> PullDataAsync(ISource source, int capacity = 16)
    {
        using var patience = new CancellationTokenSource(Patience);
        var batch = new SourceBatch(capacity);
        while (true)
        {
            batch.Clear();
            var status = await source.PullAsync(batch, patience.Token);
            patience.Token.ThrowIfCancellationRequested();
            var chunks = Enumerable.Range(0, batch.Count).Select(i => batch[i])
                .Select(c => new Chunk(c.StreamId, c.Data.ToArray(), c.Meta, c.IsStreamEnd, c.IsStructured, c.Structured)).ToList();
            if (chunks.Any(c => !c.IsStreamEnd)) return chunks;
            Assert.NotEqual(PullStatus.Finished, status);
        }
    }

    /// <summary>One pull with an already cancelled token: what is queued right now, without waiting.</summary>
    public static async Task<int> PullNowAsync(ISource source)
    {
        var batch = new SourceBatch(16);
        var status = await source.PullAsync(batch, new CancellationToken(canceled: true));
        Assert.NotEqual(PullStatus.Finished, status);
        return batch.Count;
    }

    public static async Task<T> Within<T>(Task<T> task) => await task.WaitAsync(Patience);

    public static async Task Within(Task task) => await task.WaitAsync(Patience);

    /// <summary>A port nobody listens on right now (bound, read, released).</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>A CA and a server certificate it signed for 127.0.0.1 and localhost, as PEM files in a temp folder.</summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Folder = Directory.CreateTempSubdirectory("tremor-http-tests-").FullName;
        var now = DateTimeOffset.UtcNow;
        using var ca = TestCa.Create(now);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, now.AddDays(-1), now.AddDays(29), [1, 2, 3, 4]);

        CaFile = Path.Combine(Folder, "ca.pem");
        CertFile = Path.Combine(Folder, "server.pem");
        KeyFile = Path.Combine(Folder, "server.key.pem");
        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        File.WriteAllText(CertFile, server.ExportCertificatePem());
        File.WriteAllText(KeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        CaThumbprint = ca.Thumbprint;
    }

    public string Folder { get; }
    public string CaFile { get; }
    public string CertFile { get; }
    public string KeyFile { get; }
    public string CaThumbprint { get; }

    public Value ServerTls => Fixtures.Record(("cert", CertFile), ("key", KeyFile));

    public Value ClientTls => Fixtures.Record(("ca", CaFile));

    /// <summary>An HttpClient handler that trusts exactly this CA.</summary>
    public HttpClientHandler TrustingHandler()
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(CaFile);
        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is null) return false;
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.AddRange(roots);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return custom.Build(certificate);
            },
        };
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
