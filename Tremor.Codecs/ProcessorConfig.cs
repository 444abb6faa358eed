using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>Reads the size options the built-in processors share, with errors naming the full key path.</summary>
internal static class ProcessorConfig
{
    /// <summary>The full path of <paramref name="key"/> in <paramref name="config"/>, as a <see cref="ConfigException"/> names it.</summary>
    public static string PathOf(PluginConfig config, string key) => config.Path.Length == 0 ? key : $"{config.Path}.{key}";

    /// <summary>A byte count between <paramref name="min"/> and <paramref name="max"/>; <paramref name="defaultValue"/> null makes it required.</summary>
    public static int ReadBytes(PluginConfig config, string key, int? defaultValue, int min = 1, int max = int.MaxValue / 2)
    {
        var value = config.GetInt(key, defaultValue);
        if (value < min || value > max)
        {
            throw new ConfigException(PathOf(config, key), $"must be between {min} and {max} bytes, found {value}");
        }
        return (int)value;
    }
}
