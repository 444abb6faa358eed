using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Tremor.Connectors.Net;

/// <summary>TLS handshakes over a connected stream with <see cref="SslStream"/>.</summary>
internal static class Tls
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    public static async Task<SslStream> AuthenticateAsServerAsync(Stream inner, TlsServerSettings settings, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            var options = new SslServerAuthenticationOptions
            {
                ServerCertificate = settings.Certificate,
                ClientCertificateRequired = settings.ClientCa is not null,
                EnabledSslProtocols = SslProtocols.None, // the system's choice: TLS 1.2 and 1.3
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            if (settings.ClientCa is { } clientCa)
            {
                options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    certificate is not null && ChainsTo(certificate, clientCa, ClientAuthentication);
            }
            await ssl.AuthenticateAsServerAsync(options, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static async Task<SslStream> AuthenticateAsClientAsync(Stream inner, TlsClientSettings settings, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = settings.Domain,
                EnabledSslProtocols = SslProtocols.None,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            if (settings.Certificate is { } own) options.ClientCertificates = [own];
            if (settings.Ca is { } ca)
            {
                options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    certificate is not null
                    && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                    && (errors & SslPolicyErrors.RemoteCertificateNotAvailable) == 0
                    && ChainsTo(certificate, ca, ServerAuthentication);
            }
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>True when <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and only those are trusted).</summary>
    private static bool ChainsTo(X509Certificate certificate, X509Certificate2Collection roots, string usageOid)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usageOid));
        if (certificate is X509Certificate2 leaf) return chain.Build(leaf);
        using var copy = new X509Certificate2(certificate);
        return chain.Build(copy);
    }
}
