using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tremor.Connectors.Testing;

/// <summary>The self-signed certificate authority the TLS tests issue their certificates from.</summary>
internal static class TestCa
{
    /// <summary>A CA certificate with its private key, valid from a day before <paramref name="now"/> for 30 days.</summary>
    public static X509Certificate2 Create(DateTimeOffset now, string subject = "CN=Tremor Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }
}
