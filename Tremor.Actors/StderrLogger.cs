using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Tremor.Actors;

/// <summary>Akka logger writing one line per log event to stderr, so stdout stays the data's.</summary>
internal sealed class StderrLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    /// <summary>Creates the logger.</summary>
    public StderrLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e =>
        {
            var level = e.LogLevel() switch
            {
                LogLevel.DebugLevel => "DEBUG",
                LogLevel.InfoLevel => "INFO ",
                LogLevel.WarningLevel => "WARN ",
                _ => "ERROR",
            };
            var message = e.Message?.ToString() ?? "";
            // Messages carry user-given text (names, paths, payload errors): escaped, a newline in it cannot forge a log line.
            Console.Error.WriteLine($"{e.Timestamp:HH:mm:ss.fff} {level} {Configuration.Names.EscapeControl(message + Causes(e.Cause))}");
        });
    }

    private static string Causes(Exception? cause)
    {
        var text = "";
        for (var c = cause; c is not null; c = c.InnerException) text += $" | {c.GetType().Name}: {c.Message}";
        return text;
    }
}
