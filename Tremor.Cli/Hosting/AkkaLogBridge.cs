using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;

namespace Tremor.Cli.Hosting;

/// <summary>
/// Akka.Hosting's bridge from Akka's log events to Microsoft.Extensions.Logging, writing each event's own message under
/// the category of the class that logged it (<c>Tremor.Actors.World</c>, <c>Akka.Actor.CoordinatedShutdown</c>), so
/// <c>tremor.log.categories</c> can single one out. Akka.Hosting's own text repeats level, time, thread and actor path,
/// which the log format already carries or leaves out.
/// </summary>
internal sealed class AkkaLogBridge : LoggerFactoryLogger
{
    private readonly ILoggerFactory _factory = Context.System.Settings.Setup.Get<LoggerFactorySetup>().Value.LoggerFactory;
    private readonly ConcurrentDictionary<Type, ILogger> _loggers = new();

    protected override void Log(LogEvent log, ActorPath path)
    {
        var logger = _loggers.GetOrAdd(log.LogClass ?? typeof(ActorSystem), type => _factory.CreateLogger(type.FullName ?? type.Name));
        var level = log.LogLevel() switch
        {
            Akka.Event.LogLevel.DebugLevel => Microsoft.Extensions.Logging.LogLevel.Debug,
            Akka.Event.LogLevel.InfoLevel => Microsoft.Extensions.Logging.LogLevel.Information,
            Akka.Event.LogLevel.WarningLevel => Microsoft.Extensions.Logging.LogLevel.Warning,
            _ => Microsoft.Extensions.Logging.LogLevel.Error,
        };
        logger.Log(level, default, log, log.Cause, static (e, _) => e.Message?.ToString() ?? "");
    }
}
