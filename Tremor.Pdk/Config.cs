using System.Globalization;

namespace Tremor.Pdk;

/// <summary>Bad configuration: the message names the key path and what was expected.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>A configuration error at <paramref name="path"/>.</summary>
    public ConfigException(string path, string message)
        : base($"{path}: {message}")
    {
        Path = path;
    }

    /// <summary>The key path of the offending value, e.g. <c>tremor.flows.main.connectors.in.config.interval</c>.</summary>
    public string Path { get; }
}

/// <summary>
/// A read-only view of a plugin's configuration section with typed getters whose errors name the full key path.
/// </summary>
public sealed class PluginConfig
{
    private readonly ValueRecord _record;

    /// <summary>Wraps a record (null means an empty section) found at <paramref name="path"/>.</summary>
    public PluginConfig(string path, ValueRecord? record)
    {
        Path = path;
        _record = record ?? new ValueRecord();
    }

    /// <summary>The key path of this section.</summary>
    public string Path { get; }

    /// <summary>The raw section.</summary>
    public ValueRecord Raw => _record;

    /// <summary>True when the key is set.</summary>
    public bool Has(string key) => _record.ContainsKey(key);

    private string KeyPath(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>A required or defaulted string.</summary>
    public string GetString(string key, string? defaultValue = null)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull)
        {
            return defaultValue ?? throw new ConfigException(KeyPath(key), "is required (a string)");
        }
        return v.Kind switch
        {
            ValueKind.String => v.AsString()!,
            ValueKind.I64 or ValueKind.U64 or ValueKind.F64 or ValueKind.Bool => v.ToString(),
            _ => throw new ConfigException(KeyPath(key), $"expected a string, found {v.Kind.ToString().ToLowerInvariant()}"),
        };
    }

    /// <summary>An optional string.</summary>
    public string? GetOptionalString(string key) => Has(key) ? GetString(key) : null;

    /// <summary>A required or defaulted integer.</summary>
    public long GetInt(string key, long? defaultValue = null)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull)
        {
            return defaultValue ?? throw new ConfigException(KeyPath(key), "is required (an integer)");
        }
        if (v.TryGetI64(out var i)) return i;
        if (v.AsString() is { } s && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        throw new ConfigException(KeyPath(key), $"expected an integer, found '{v}'");
    }

    /// <summary>A required or defaulted number.</summary>
    public double GetDouble(string key, double? defaultValue = null)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull)
        {
            return defaultValue ?? throw new ConfigException(KeyPath(key), "is required (a number)");
        }
        if (v.TryGetF64(out var d)) return d;
        if (v.AsString() is { } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        throw new ConfigException(KeyPath(key), $"expected a number, found '{v}'");
    }

    /// <summary>A required or defaulted bool (true/false/on/off/yes/no).</summary>
    public bool GetBool(string key, bool? defaultValue = null)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull)
        {
            return defaultValue ?? throw new ConfigException(KeyPath(key), "is required (true or false)");
        }
        if (v.TryGetBool(out var b)) return b;
        switch (v.AsString()?.ToLowerInvariant())
        {
            case "true" or "on" or "yes": return true;
            case "false" or "off" or "no": return false;
            default: throw new ConfigException(KeyPath(key), $"expected true or false, found '{v}'");
        }
    }

    /// <summary>
    /// A duration: a number of milliseconds, or HOCON-style text such as <c>500ms</c>, <c>2s</c>, <c>1m</c>, <c>1h</c>.
    /// </summary>
    public TimeSpan GetDuration(string key, TimeSpan? defaultValue = null)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull)
        {
            return defaultValue ?? throw new ConfigException(KeyPath(key), "is required (a duration such as 500ms or 2s)");
        }
        if (v.TryGetF64(out var ms)) return TimeSpan.FromMilliseconds(ms);
        if (v.AsString() is { } s && DurationText.TryParse(s, out var d)) return d;
        throw new ConfigException(KeyPath(key), $"expected a duration such as 500ms or 2s, found '{v}'");
    }

    /// <summary>A list of strings (a single string counts as a list of one).</summary>
    public IReadOnlyList<string> GetStringList(string key)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull) return [];
        if (v.AsString() is { } single) return [single];
        if (v.AsArray() is { } array)
        {
            var result = new List<string>(array.Count);
            for (var i = 0; i < array.Count; i++)
            {
                result.Add(array[i].AsString() ?? throw new ConfigException($"{KeyPath(key)}[{i}]", $"expected a string, found '{array[i]}'"));
            }
            return result;
        }
        throw new ConfigException(KeyPath(key), $"expected a list of strings, found '{v}'");
    }

    /// <summary>A nested section (empty when absent).</summary>
    public PluginConfig GetSection(string key)
    {
        if (!_record.TryGetValue(key, out var v) || v.IsNull) return new PluginConfig(KeyPath(key), null);
        return new PluginConfig(KeyPath(key), v.AsRecord() ?? throw new ConfigException(KeyPath(key), $"expected a section {{ ... }}, found '{v}'"));
    }

    /// <summary>Refuses keys not in <paramref name="known"/>, so a typo is an error, not a silent default.</summary>
    public void RejectUnknownKeys(params string[] known)
    {
        foreach (var (key, _) in _record)
        {
            if (Array.IndexOf(known, key) < 0)
            {
                throw new ConfigException(KeyPath(key), known.Length == 0 ? "unknown key; this section takes no keys" : $"unknown key; known keys are: {string.Join(", ", known)}");
            }
        }
    }
}

/// <summary>Parses durations written as <c>250ms</c>, <c>2s</c>, <c>1.5m</c>, <c>1h</c>, <c>100us</c>, <c>10ns</c> or a bare number of milliseconds.</summary>
public static class DurationText
{
    /// <summary>Parses <paramref name="text"/>; false when it is not a duration.</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        var s = text.Trim();
        var split = 0;
        while (split < s.Length && (char.IsDigit(s[split]) || s[split] == '.')) split++;
        if (split == 0 || !double.TryParse(s.AsSpan(0, split), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)) return false;
        var unit = s[split..].Trim().ToLowerInvariant();
        double? ms = unit switch
        {
            "" or "ms" or "milli" or "millis" or "milliseconds" => n,
            "ns" or "nanos" or "nanoseconds" => n / 1_000_000,
            "us" or "micros" or "microseconds" => n / 1000,
            "s" or "sec" or "secs" or "second" or "seconds" => n * 1000,
            "m" or "min" or "mins" or "minute" or "minutes" => n * 60_000,
            "h" or "hour" or "hours" => n * 3_600_000,
            "d" or "day" or "days" => n * 86_400_000,
            _ => null,
        };
        if (ms is null) return false;
        duration = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }
}
