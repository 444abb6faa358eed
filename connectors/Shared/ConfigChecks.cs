using Tremor.Pdk;

namespace Tremor.Connectors;

/// <summary>
/// Config checks more than one plugin needs, each error naming its key path. Linked as a source file into the plugins
/// that use it (plugins reference nothing but the Pdk).
/// </summary>
internal static class ConfigChecks
{
    public static string KeyPath(PluginConfig config, string key) => $"{config.Path}.{key}";

    public static TimeSpan PositiveDuration(PluginConfig config, string key, TimeSpan defaultValue)
    {
        var value = config.GetDuration(key, defaultValue);
        if (value <= TimeSpan.Zero) throw new ConfigException(KeyPath(config, key), $"must be positive, found {value}");
        return value;
    }

    public static int PositiveInt(PluginConfig config, string key, long defaultValue, long max = int.MaxValue)
    {
        var value = config.GetInt(key, defaultValue);
        if (value < 1 || value > max) throw new ConfigException(KeyPath(config, key), $"must be between 1 and {max}, found {value}");
        return (int)value;
    }

    public static string OneOf(PluginConfig config, string key, string defaultValue, params string[] allowed)
    {
        var value = config.GetString(key, defaultValue);
        if (Array.IndexOf(allowed, value) < 0)
        {
            throw new ConfigException(KeyPath(config, key), $"expected {string.Join(" or ", allowed)}, found '{value}'");
        }
        return value;
    }
}
