using System.Net;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

/// <summary>Config checks shared by the plugin's connector types; every error names its key.</summary>
internal static class ConfigReading
{
    public static string KeyPath(PluginConfig config, string key) => ConfigChecks.KeyPath(config, key);

    /// <summary>
    /// An http(s) URL; Tremor writes OTLP endpoints without a scheme (<c>127.0.0.1:4317</c>), which means http. Null
    /// when the key is <c>off</c> (or <c>false</c>) and <paramref name="canBeOff"/>.
    /// </summary>
    public static Uri? Url(PluginConfig config, string key, string? defaultValue, bool canBeOff = false)
    {
        var text = config.GetString(key, defaultValue);
        if (canBeOff && text is "off" or "false") return null;
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : $"http://{text}";
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            var off = canBeOff ? ", or off" : "";
            throw new ConfigException(KeyPath(config, key), $"expected an http URL such as http://127.0.0.1:4317 (or HOST:PORT){off}, found '{text}'");
        }
        return uri;
    }

    /// <summary>The address a server listens on: an IP literal, <c>localhost</c> (loopback) or <c>0.0.0.0</c> (any).</summary>
    public static IPAddress ListenAddress(PluginConfig config, string key, Uri url)
    {
        if (url.Scheme != "http") throw new ConfigException(KeyPath(config, key), $"otel_server listens on plain http (put TLS in front of it), found '{url}'");
        var host = url.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address)) return address;
        throw new ConfigException(KeyPath(config, key), $"a server listens on an IP address or localhost, found host '{host}'");
    }

    public static TimeSpan PositiveDuration(PluginConfig config, string key, TimeSpan defaultValue) => ConfigChecks.PositiveDuration(config, key, defaultValue);

    public static int PositiveInt(PluginConfig config, string key, long defaultValue, long max = int.MaxValue) => ConfigChecks.PositiveInt(config, key, defaultValue, max);

    public static string OneOf(PluginConfig config, string key, string defaultValue, params string[] allowed) => ConfigChecks.OneOf(config, key, defaultValue, allowed);

    /// <summary>A <c>headers { name = value }</c> section (string values), e.g. for an API key.</summary>
    public static List<(string Name, string Value)> Headers(PluginConfig config, string key)
    {
        var section = config.GetSection(key);
        var headers = new List<(string, string)>();
        foreach (var (name, value) in section.Raw)
        {
            if (value.AsString() is not { } text || value.IsNull)
            {
                throw new ConfigException(KeyPath(section, name), $"a header value is a string, found {ValueToOtlp.Kind(value)}");
            }
            headers.Add((name, text));
        }
        return headers;
    }
}
