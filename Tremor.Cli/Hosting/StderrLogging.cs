using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tremor.Actors.Configuration;

namespace Tremor.Cli.Hosting;

/// <summary>
/// The one log sink of a running tremor: every Microsoft.Extensions.Logging entry (Akka's, bridged by Akka.Hosting's
/// logger; ASP.NET Core's; tremor's own) becomes one line on stderr, so stdout stays the data's. Written at once under
/// a lock, not queued: a line logged before the run's last line is printed before it.
/// </summary>
internal sealed class StderrLoggerProvider(TextWriter error, LogFormat format) : ILoggerProvider
{

    private readonly Lock _write = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => error.Flush();

    /// <summary>One entry as text: <c>HH:mm:ss.fff LEVEL message | Cause: why | Inner: why</c>, control characters escaped.</summary>
    internal static string Text(DateTime utc, LogLevel level, string category, string message, Exception? exception)
    {
        var label = level switch
        {
            LogLevel.Trace => "TRACE",
            LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO ",
            LogLevel.Warning => "WARN ",
            _ => "ERROR",
        };
        // Tremor's and Akka's own lines read as they always did; another library's (ASP.NET Core's) say whose they are.
        var origin = category.StartsWith("Akka.", StringComparison.Ordinal) || category.StartsWith("Tremor.", StringComparison.Ordinal) ? "" : $"{category}: ";
        // Messages carry user-given text (names, paths, payload errors): escaped, a newline in it cannot forge a log line.
        return $"{utc:HH:mm:ss.fff} {label} {Names.EscapeControl(origin + message + Causes(exception))}";
    }

    /// <summary>One entry as a JSON object on one line (for log shippers).</summary>
    internal static string Json(DateTime utc, LogLevel level, string category, string message, Exception? exception)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", level switch
            {
                LogLevel.Trace => "trace",
                LogLevel.Debug => "debug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warning",
                _ => "error",
            });
            json.WriteString("category", category);
            json.WriteString("message", message);
            if (exception is not null) json.WriteString("exception", Causes(exception)[3..]);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Causes(Exception? cause)
    {
        var text = "";
        for (var c = cause; c is not null; c = c.InnerException) text += $" | {c.GetType().Name}: {c.Message}";
        return text;
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var utc = DateTime.UtcNow;
        var line = format == LogFormat.Json ? Json(utc, level, category, message, exception) : Text(utc, level, category, message, exception);
        lock (_write) error.WriteLine(line);
    }

    private sealed class Logger(StderrLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // The level filter is the logging builder's (tremor.log.level and .categories): whatever reaches here is written.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            provider.Write(logLevel, category, formatter(state, exception), exception);
        }
    }
}

/// <summary>Wires <c>tremor.log</c> into a host's logging: one provider, one level, per-category levels on top.</summary>
internal static class StderrLogging
{
    /// <summary>
    /// Replaces the builder's providers with the stderr one. At the default level (info) ASP.NET Core's and the host's
    /// own categories (<c>Microsoft.*</c>) write warnings and errors only, as ASP.NET Core's templates do: their
    /// info lines (a line per request) would drown tremor's; any other level applies to them too, and
    /// <c>tremor.log.categories</c> overrides both.
    /// </summary>
    public static ILoggingBuilder AddTremorStderr(this ILoggingBuilder logging, LogSettings settings, TextWriter error)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(settings.Level);
        if (settings.Level == LogLevel.Information) logging.AddFilter("Microsoft", LogLevel.Warning);
        foreach (var (category, level) in settings.Categories) logging.AddFilter(category, level);
        logging.Services.AddSingleton<ILoggerProvider>(new StderrLoggerProvider(error, settings.Format));
        return logging;
    }

    /// <summary>
    /// The Akka level that lets through whatever <paramref name="settings"/> let through (tremor's actors log through
    /// Akka, under their class names): Akka drops events below its own level before they reach the bridge.
    /// </summary>
    public static Akka.Event.LogLevel AkkaLevel(LogSettings settings)
    {
        var level = settings.Level;
        foreach (var categoryLevel in settings.Categories.Values)
        {
            if (categoryLevel < level) level = categoryLevel;
        }
        return AkkaLevel(level);
    }

    private static Akka.Event.LogLevel AkkaLevel(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
        LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };
}
