using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Tremor.Pdk;
using Tremor.Pdk.Streams;

namespace Tremor.Actors.Connectors;

/// <summary>The <see cref="IPluginHost"/> a connector instance gets: logging, clock, output, shutdown, async acks, and the runtime's materializer for stream connectors.</summary>
internal sealed class ConnectorHost(string alias, RuntimeServices services, ILoggingAdapter log, IActorRef connector) : IPluginHost, IStreamsHost
{
    public ActorSystem System => services.System ?? throw new InvalidOperationException($"{alias}: no actor system yet");

    public IMaterializer Materializer => services.Materializer;

    public string Alias => alias;

    public TextWriter Out => services.Out;

    public TextWriter Error => services.Error;

    public void Log(PluginLogLevel level, string message)
    {
        switch (level)
        {
            case PluginLogLevel.Debug: log.Debug("{0}: {1}", alias, message); break;
            case PluginLogLevel.Info: log.Info("{0}: {1}", alias, message); break;
            case PluginLogLevel.Warning: log.Warning("{0}: {1}", alias, message); break;
            default: log.Error("{0}: {1}", alias, message); break;
        }
    }

    public ulong NowNs() => RuntimeServices.NowNs();

    public void RequestShutdown(int exitCode, string reason) =>
        services.World.Tell(new World.ShutdownRequested(exitCode, $"{alias}: {reason}"));

    public void Ack(IReadOnlyList<EventId> ids) => connector.Tell(new ConnectorActor.SinkAsyncReply(ids.ToArray(), null));

    public void Fail(IReadOnlyList<EventId> ids, string reason) => connector.Tell(new ConnectorActor.SinkAsyncReply(ids.ToArray(), reason));

    public void ConnectionLost(string reason) => connector.Tell(new ConnectorActor.ConnectionLost(reason));

    public void SinkHasRoom() => connector.Tell(ConnectorActor.SinkHasRoom.Instance);

    public string StateDirectory => services.Data.ForConnector(alias);
}
