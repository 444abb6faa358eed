using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>When the wal's sink acknowledges what it was given.</summary>
internal enum FsyncPolicy
{
    /// <summary>Each batch is committed to disk before the sink answers it: the safest, the slowest.</summary>
    EveryBatch,
    /// <summary>Batches are committed together every commit-interval and acknowledged when that commit completes.</summary>
    GroupCommit,
    /// <summary>Acknowledged once in memory; committed every commit-interval without waiting: a crash loses what was acknowledged since the last commit.</summary>
    Never,
}

/// <summary>A <c>wal</c> connector's settings, read and checked at create so a bad key stops the flow before it starts.</summary>
internal sealed record WalOptions(FsyncPolicy Fsync, TimeSpan CommitInterval, long MaxBytes, TimeSpan CommitTimeout)
{
    public const long DefaultMaxBytes = 1L << 30;

    public static WalOptions Read(PluginConfig config)
    {
        config.RejectUnknownKeys("fsync", "commit-interval", "max-bytes", "commit-timeout");
        var fsync = config.GetString("fsync", "group-commit") switch
        {
            "every-batch" => FsyncPolicy.EveryBatch,
            "group-commit" => FsyncPolicy.GroupCommit,
            "never" => FsyncPolicy.Never,
            var other => throw new ConfigException($"{config.Path}.fsync", $"must be one of every-batch, group-commit, never; found '{other}'"),
        };
        var interval = config.GetDuration("commit-interval", TimeSpan.FromMilliseconds(5));
        if (interval <= TimeSpan.Zero || interval > TimeSpan.FromMinutes(1))
        {
            throw new ConfigException($"{config.Path}.commit-interval", $"must be between 1ms and 1m, found '{config.Raw["commit-interval"]}'");
        }
        var maxBytes = config.Has("max-bytes") ? ByteSize(config, "max-bytes") : DefaultMaxBytes;
        if (maxBytes < 1L << 20) throw new ConfigException($"{config.Path}.max-bytes", $"must be at least 1MiB, found '{config.Raw["max-bytes"]}'");
        var timeout = config.GetDuration("commit-timeout", TimeSpan.FromSeconds(30));
        if (timeout < TimeSpan.FromMilliseconds(100) || timeout > TimeSpan.FromHours(1))
        {
            throw new ConfigException($"{config.Path}.commit-timeout", $"must be between 100ms and 1h, found '{config.Raw["commit-timeout"]}'");
        }
        return new WalOptions(fsync, interval, maxBytes, timeout);
    }

    /// <summary>A size such as <c>512MiB</c>, <c>64M</c>, <c>1GiB</c>, <c>4096</c> (bytes), as the runtime's own keys take it.</summary>
    public static long ByteSize(PluginConfig config, string key)
    {
        var raw = config.Raw[key];
        if (raw.TryGetI64(out var number) && number > 0) return number;
        var text = (raw.AsString() ?? raw.ToString()).Trim();
        var split = 0;
        while (split < text.Length && char.IsAsciiDigit(text[split])) split++;
        long? factor = text[split..].Trim().ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" or "kb" or "kib" => 1L << 10,
            "m" or "mb" or "mib" => 1L << 20,
            "g" or "gb" or "gib" => 1L << 30,
            _ => null,
        };
        if (split == 0 || factor is null || !long.TryParse(text.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > long.MaxValue / factor.Value)
        {
            throw new ConfigException($"{config.Path}.{key}", $"expected a size such as 512MiB, found '{text}'");
        }
        return n * factor.Value;
    }
}
