using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>Reads the <c>separator</c> option shared by the <c>separate</c> preprocessor and postprocessor.</summary>
internal static class SeparatorConfig
{
    public const string Key = "separator";

    /// <summary>
    /// The separator bytes: a non-empty string (its UTF-8) or one byte given as an integer 0-255; "\n" when absent.
    /// </summary>
    public static byte[] Read(PluginConfig config)
    {
        if (!config.Raw.TryGetValue(Key, out var raw) || raw.IsNull) return "\n"u8.ToArray();
        var path = config.Path.Length == 0 ? Key : $"{config.Path}.{Key}";
        if (raw.TryGetI64(out var b))
        {
            return b is >= 0 and <= 255 ? [(byte)b] : throw new ConfigException(path, $"a separator byte must be 0-255, found {b}");
        }
        var text = config.GetString(Key);
        if (text.Length == 0) throw new ConfigException(path, "the separator must not be empty (use a string such as \"\\n\" or a byte 0-255)");
        return Encoding.UTF8.GetBytes(text);
    }
}
