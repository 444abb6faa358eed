using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

/// <summary>Config checks shared by the four connector types; every error names its key.</summary>
internal static class ConfigReading
{
    public static string KeyPath(PluginConfig config, string key) => ConfigChecks.KeyPath(config, key);

    public static Uri Url(PluginConfig config, string key, string[] schemes, string? defaultValue = null)
    {
        var text = config.GetString(key, defaultValue);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || Array.IndexOf(schemes, uri.Scheme) < 0)
        {
            throw new ConfigException(KeyPath(config, key), $"expected an absolute URL with scheme {string.Join(" or ", schemes)}, found '{text}'");
        }
        return uri;
    }

    /// <summary>The address a server listens on: an IP literal, <c>localhost</c> (loopback) or <c>0.0.0.0</c> / <c>*</c> (any).</summary>
    public static IPAddress ListenAddress(PluginConfig config, string key, Uri url)
    {
        var host = url.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        if (host is "*" or "+") return IPAddress.Any;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address)) return address;
        throw new ConfigException(KeyPath(config, key), $"a server listens on an IP address or localhost, found host '{host}'");
    }

    public static TimeSpan PositiveDuration(PluginConfig config, string key, TimeSpan defaultValue) => ConfigChecks.PositiveDuration(config, key, defaultValue);

    public static int PositiveInt(PluginConfig config, string key, long defaultValue, long max = int.MaxValue) => ConfigChecks.PositiveInt(config, key, defaultValue, max);

    public static string OneOf(PluginConfig config, string key, string defaultValue, params string[] allowed) => ConfigChecks.OneOf(config, key, defaultValue, allowed);

    /// <summary>A server's <c>tls { cert, key }</c>: PEM files read now, so a bad file stops the flow before it starts.</summary>
    public static X509Certificate2? ServerCertificate(PluginConfig config, bool secureScheme)
    {
        if (!config.Has("tls"))
        {
            if (secureScheme) throw new ConfigException(KeyPath(config, "tls"), "an https/wss url needs tls { cert = FILE.pem, key = FILE.pem }");
            return null;
        }
        var tls = config.GetSection("tls");
        tls.RejectUnknownKeys("cert", "key");
        if (!secureScheme) throw new ConfigException(tls.Path, "tls is set but the url is not https/wss");
        var cert = tls.GetString("cert");
        var key = tls.GetString("key");
        if (!System.IO.File.Exists(cert)) throw new ConfigException(KeyPath(tls, "cert"), $"file '{cert}' does not exist");
        if (!System.IO.File.Exists(key)) throw new ConfigException(KeyPath(tls, "key"), $"file '{key}' does not exist");
        try
        {
            return X509Certificate2.CreateFromPemFile(cert, key);
        }
        catch (CryptographicException e)
        {
            throw new ConfigException(tls.Path, $"cannot load certificate '{cert}' with key '{key}' (PEM expected): {e.Message}");
        }
    }

    /// <summary>
    /// A client's <c>tls { ca = FILE.pem }</c>: the certificates a server's chain must end in; without <c>ca</c> (or
    /// without <c>tls</c>) the system roots are used.
    /// </summary>
    public static X509Certificate2Collection? ClientTrust(PluginConfig config)
    {
        if (!config.Has("tls")) return null;
        var tls = config.GetSection("tls");
        tls.RejectUnknownKeys("ca");
        var ca = tls.GetOptionalString("ca");
        if (ca is null) return null;
        if (!System.IO.File.Exists(ca)) throw new ConfigException(KeyPath(tls, "ca"), $"file '{ca}' does not exist");
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(ca);
        }
        catch (CryptographicException e)
        {
            throw new ConfigException(KeyPath(tls, "ca"), $"cannot read certificates from '{ca}' (PEM expected): {e.Message}");
        }
        if (roots.Count == 0) throw new ConfigException(KeyPath(tls, "ca"), $"'{ca}' holds no certificate");
        return roots;
    }

    /// <summary>Validates a server certificate against custom roots only (the <c>ca</c> file), host name included.</summary>
    public static bool ValidateAgainst(X509Certificate2Collection roots, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        if ((errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
