using System.Text.RegularExpressions;
using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>How multiline joining groups lines into one event (a stack trace under its first line).</summary>
/// <param name="Start">A line that matches starts a new event; others join the one before (one of the two patterns).</param>
/// <param name="Continuation">A line that matches joins the one before; others start a new event.</param>
/// <param name="MaxBytes">An event is emitted once it would grow past this; the line that did not fit starts the next.</param>
/// <param name="FlushTimeout">An event no line joined for this long is emitted (the next line cannot be known yet).</param>
internal sealed record MultilineOptions(Regex? Start, Regex? Continuation, int MaxBytes, TimeSpan FlushTimeout)
{
    /// <summary>True when <paramref name="line"/> belongs to the event before it.</summary>
    public bool Joins(string line) => Start is not null ? !Start.IsMatch(line) : Continuation!.IsMatch(line);
}

/// <summary>The settings of <c>mode = follow</c>.</summary>
internal sealed record FollowOptions(
    IReadOnlyList<string> Patterns,
    TimeSpan PollInterval,
    TimeSpan? PartialLineTimeout,
    bool ReadFromEnd,
    int MaxLineBytes,
    MultilineOptions? Multiline)
{
    public const int DefaultMaxLineBytes = 1024 * 1024;
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Reads and checks the follow keys of <paramref name="config"/>; errors name the key.</summary>
    public static FollowOptions From(PluginConfig config, IReadOnlyList<string> patterns)
    {
        var poll = config.GetDuration("poll-interval", DefaultPollInterval);
        if (poll < TimeSpan.FromMilliseconds(1) || poll > TimeSpan.FromMinutes(10))
        {
            throw new ConfigException($"{config.Path}.poll-interval", $"must be between 1ms and 10m, found {poll.TotalMilliseconds}ms");
        }
        var partial = config.GetDuration("partial-line-timeout", TimeSpan.Zero);
        if (partial < TimeSpan.Zero) throw new ConfigException($"{config.Path}.partial-line-timeout", "must not be negative (0 holds a partial line until its newline)");
        var readFrom = config.GetString("read-from", "beginning");
        if (readFrom is not ("beginning" or "end"))
        {
            throw new ConfigException($"{config.Path}.read-from", $"expected beginning or end, found '{readFrom}'");
        }
        var maxLine = config.GetInt("max-line-bytes", DefaultMaxLineBytes);
        if (maxLine is < 16 or > 64 * 1024 * 1024)
        {
            throw new ConfigException($"{config.Path}.max-line-bytes", $"must be between 16 and 67108864 bytes, found {maxLine}");
        }
        return new FollowOptions(patterns, poll, partial == TimeSpan.Zero ? null : partial, readFrom == "end", (int)maxLine, ReadMultiline(config));
    }

    private static MultilineOptions? ReadMultiline(PluginConfig config)
    {
        if (!config.Has("multiline")) return null;
        var section = config.GetSection("multiline");
        section.RejectUnknownKeys("start-pattern", "continuation-pattern", "max-bytes", "flush-timeout");
        var start = Pattern(section, "start-pattern");
        var continuation = Pattern(section, "continuation-pattern");
        if ((start is null) == (continuation is null))
        {
            throw new ConfigException(section.Path, "give exactly one of start-pattern (a line that begins an event) or continuation-pattern (a line that joins the one before)");
        }
        var maxBytes = section.GetInt("max-bytes", 1024 * 1024);
        if (maxBytes is < 16 or > 64 * 1024 * 1024)
        {
            throw new ConfigException($"{section.Path}.max-bytes", $"must be between 16 and 67108864 bytes, found {maxBytes}");
        }
        var flush = section.GetDuration("flush-timeout", TimeSpan.FromSeconds(1));
        if (flush <= TimeSpan.Zero) throw new ConfigException($"{section.Path}.flush-timeout", "must be positive (how long an event waits for more lines)");
        return new MultilineOptions(start, continuation, (int)maxBytes, flush);
    }

    private static Regex? Pattern(PluginConfig section, string key)
    {
        if (section.GetOptionalString(key) is not { } text) return null;
        try
        {
            return new Regex(text, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{section.Path}.{key}", $"'{text}' is not a valid regular expression: {e.Message}");
        }
    }
}
