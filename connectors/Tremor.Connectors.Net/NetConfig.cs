using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tremor.Pdk;

namespace Tremor.Connectors.Net;

/// <summary>A host and port as configured (the host may still need a DNS lookup at connect time).</summary>
internal sealed record HostPort(string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Resolves the host (an IP address is taken as is).</summary>
    public async ValueTask<IPEndPoint> ResolveAsync(CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(Host, out var ip)) return new IPEndPoint(ip, Port);
        var addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0) throw new IOException($"host '{Host}' has no address");
        // Prefer IPv4 for names like localhost that resolve to both: servers usually listen on 127.0.0.1.
        var chosen = Array.Find(addresses, a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses[0];
        return new IPEndPoint(chosen, Port);
    }
}

/// <summary>Typed getters over a connector's config whose errors name the key, shared by every connector type here.</summary>
internal static class NetConfig
{
    public static string Key(PluginConfig config, string key) => $"{config.Path}.{key}";

    /// <summary>
    /// The endpoint from <c>url</c> (<c>scheme://host:port</c> or <c>host:port</c>) or from <c>host</c> and <c>port</c>.
    /// </summary>
    public static HostPort Endpoint(PluginConfig config, string scheme, string defaultHost, bool portRequired)
    {
        if (config.Has("url"))
        {
            if (config.Has("host") || config.Has("port"))
            {
                throw new ConfigException(Key(config, "url"), "give either url or host and port, not both");
            }
            var text = config.GetString("url");
            var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : $"{scheme}://{text}";
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                throw new ConfigException(Key(config, "url"), $"expected {scheme}://HOST:PORT or HOST:PORT, found '{text}'");
            }
            if (!string.Equals(uri.Scheme, scheme, StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(Key(config, "url"), $"expected the scheme {scheme}://, found '{uri.Scheme}://'");
            }
            if (uri.IsDefaultPort || uri.Port < 0)
            {
                throw new ConfigException(Key(config, "url"), $"needs a port ({scheme}://HOST:PORT), found '{text}'");
            }
            if (portRequired && uri.Port == 0)
            {
                throw new ConfigException(Key(config, "url"), $"needs a port between 1 and 65535 to connect to, found '{text}'");
            }
            if (uri.AbsolutePath.Length > 1 || uri.Query.Length > 0)
            {
                throw new ConfigException(Key(config, "url"), $"expected only {scheme}://HOST:PORT, found '{text}'");
            }
            return new HostPort(uri.DnsSafeHost, uri.Port);
        }

        var host = config.GetString("host", defaultHost);
        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            throw new ConfigException(Key(config, "host"), $"expected a host name or IP address, found '{host}'");
        }
        if (!config.Has("port"))
        {
            if (portRequired) throw new ConfigException(Key(config, "port"), "is required (or give url = \"HOST:PORT\")");
        }
        var port = config.GetInt("port", 0);
        if (port is < 0 or > 65535 || portRequired && port == 0)
        {
            throw new ConfigException(Key(config, "port"), $"must be between {(portRequired ? 1 : 0)} and 65535, found {port}");
        }
        return new HostPort(host.Trim('[', ']'), (int)port);
    }

    public static int Int(PluginConfig config, string key, int defaultValue, int min, int max, string unit)
    {
        var value = config.GetInt(key, defaultValue);
        if (value < min || value > max)
        {
            throw new ConfigException(Key(config, key), $"must be between {min} and {max} {unit}, found {value}");
        }
        return (int)value;
    }

    /// <summary>A duration where 0 (or absent) means off.</summary>
    public static TimeSpan? OptionalDuration(PluginConfig config, string key)
    {
        var value = config.GetDuration(key, TimeSpan.Zero);
        if (value < TimeSpan.Zero) throw new ConfigException(Key(config, key), $"must not be negative, found '{value}'");
        return value == TimeSpan.Zero ? null : value;
    }

    public static TimeSpan PositiveDuration(PluginConfig config, string key, TimeSpan defaultValue)
    {
        var value = config.GetDuration(key, defaultValue);
        if (value <= TimeSpan.Zero) throw new ConfigException(Key(config, key), $"must be greater than zero, found '{config.Raw[key]}'");
        return value;
    }

    /// <summary>A socket path: not empty, no NUL, short enough for sockaddr_un (107 bytes on Linux).</summary>
    public static string SocketPath(PluginConfig config)
    {
        var path = config.GetString("path");
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ConfigException(Key(config, "path"), $"expected a socket file path, found '{path}'");
        }
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException(Key(config, "path"), $"'{path}' is not a valid path ({e.Message})");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(full) > 107)
        {
            throw new ConfigException(Key(config, "path"), $"'{full}' is longer than the 107 bytes a unix socket path may have");
        }
        return full;
    }

    /// <summary>File permissions in octal (<c>"0660"</c>, <c>"660"</c> or <c>660</c>), or null when absent.</summary>
    public static UnixFileMode? Permissions(PluginConfig config)
    {
        if (!config.Has("permissions")) return null;
        var text = config.GetString("permissions").Trim();
        if (text.Length is 0 or > 4 || !text.All(c => c is >= '0' and <= '7'))
        {
            throw new ConfigException(Key(config, "permissions"), $"expected octal file permissions such as \"0660\", found '{text}'");
        }
        return (UnixFileMode)Convert.ToInt32(text, 8);
    }

    /// <summary>Reads <c>tls</c> for a server: a section with <c>cert</c>, <c>key</c> and optionally <c>client-ca</c>.</summary>
    public static TlsServerSettings? TlsServer(PluginConfig config)
    {
        if (!config.Has("tls") || config.Raw["tls"].IsNull) return null;
        var raw = config.Raw["tls"];
        if (raw.TryGetBool(out var on))
        {
            if (!on) return null;
            throw new ConfigException(Key(config, "tls"), "a server needs its certificate: tls { cert = \"server.pem\", key = \"server-key.pem\" }");
        }
        var tls = config.GetSection("tls");
        tls.RejectUnknownKeys("cert", "key", "client-ca");
        var cert = LoadCertificate(tls, "cert", "key", required: true)!;
        var clientCa = tls.Has("client-ca") ? LoadBundle(tls, "client-ca") : null;
        return new TlsServerSettings(cert, clientCa);
    }

    /// <summary>
    /// Reads <c>tls</c> for a client: <c>true</c> (system roots, the host as the name to check) or a section with
    /// <c>ca</c>, <c>domain</c>, and <c>cert</c> / <c>key</c> for client authentication.
    /// </summary>
    public static TlsClientSettings? TlsClient(PluginConfig config, string host)
    {
        if (!config.Has("tls") || config.Raw["tls"].IsNull) return null;
        var raw = config.Raw["tls"];
        if (raw.TryGetBool(out var on) || raw.AsString() is not null)
        {
            return config.GetBool("tls") ? new TlsClientSettings(host, null, null) : null;
        }
        var tls = config.GetSection("tls");
        tls.RejectUnknownKeys("ca", "domain", "cert", "key");
        var domain = tls.GetString("domain", host);
        if (domain.Length == 0) throw new ConfigException(Key(tls, "domain"), "must not be empty");
        var ca = tls.Has("ca") ? LoadBundle(tls, "ca") : null;
        if (tls.Has("key") && !tls.Has("cert")) throw new ConfigException(Key(tls, "cert"), "is required when key is given (client authentication)");
        var cert = LoadCertificate(tls, "cert", "key", required: false);
        return new TlsClientSettings(domain, ca, cert);
    }

    private static X509Certificate2? LoadCertificate(PluginConfig tls, string certKey, string keyKey, bool required)
    {
        if (!tls.Has(certKey))
        {
            if (required) throw new ConfigException(Key(tls, certKey), "is required (a PEM certificate file)");
            return null;
        }
        var certPath = ExistingFile(tls, certKey);
        var keyPath = tls.Has(keyKey) ? ExistingFile(tls, keyKey) : null;
        if (keyPath is null && required) throw new ConfigException(Key(tls, keyKey), "is required (the PEM private key of the certificate)");
        try
        {
            // A certificate and key in one file are fine too: then key may be left out.
            return X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigException(Key(tls, keyPath is null ? certKey : keyKey), $"'{keyPath ?? certPath}' does not hold a usable PEM certificate and private key: {e.Message}");
        }
    }

    private static X509Certificate2Collection LoadBundle(PluginConfig tls, string key)
    {
        var path = ExistingFile(tls, key);
        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(path);
        }
        catch (CryptographicException e)
        {
            throw new ConfigException(Key(tls, key), $"'{path}' is not a PEM certificate file: {e.Message}");
        }
        if (bundle.Count == 0) throw new ConfigException(Key(tls, key), $"'{path}' holds no PEM certificate");
        return bundle;
    }

    private static string ExistingFile(PluginConfig tls, string key)
    {
        var path = tls.GetString(key);
        if (path.Length == 0 || !File.Exists(path))
        {
            throw new ConfigException(Key(tls, key), $"file '{path}' does not exist");
        }
        return Path.GetFullPath(path);
    }

    public static string Describe(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => ip.ToString(),
        null => "?",
        _ => endPoint.ToString() is { Length: > 0 } s ? s : "(unnamed)",
    };

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>TLS for a server: its certificate (with key) and, when set, the CAs client certificates must chain to.</summary>
internal sealed record TlsServerSettings(X509Certificate2 Certificate, X509Certificate2Collection? ClientCa);

/// <summary>TLS for a client: the name to check, the CAs to trust instead of the system's, a client certificate.</summary>
internal sealed record TlsClientSettings(string Domain, X509Certificate2Collection? Ca, X509Certificate2? Certificate);
