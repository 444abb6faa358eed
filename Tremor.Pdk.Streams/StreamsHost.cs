using Akka.Actor;
using Akka.Streams;

namespace Tremor.Pdk.Streams;

/// <summary>
/// What a runtime built on Akka offers stream connectors besides <see cref="IPluginHost"/>: its actor system and the
/// materializer their graphs run on (on the runtime's plugin dispatcher, so a stage never blocks Akka's own threads).
/// The Tremor.NET runtime's host implements it; a host that does not gets a private actor system
/// (<see cref="StreamsHost.For"/>).
/// </summary>
public interface IStreamsHost
{
    /// <summary>The runtime's actor system (for extensions such as <c>Tcp()</c>).</summary>
    ActorSystem System { get; }

    /// <summary>The materializer to run a connector's graphs with.</summary>
    IMaterializer Materializer { get; }
}

/// <summary>Finds the <see cref="IStreamsHost"/> of a plugin host.</summary>
public static class StreamsHost
{
    private static readonly Lazy<IStreamsHost> Private = new(() => new OwnSystem());

    /// <summary>
    /// <paramref name="host"/> itself when it runs Akka; otherwise one actor system of this process's own, created on
    /// first use (a host that checks or verifies plugins without running flows).
    /// </summary>
    public static IStreamsHost For(IPluginHost host) => host as IStreamsHost ?? Private.Value;

    private sealed class OwnSystem : IStreamsHost
    {
        public OwnSystem()
        {
            System = ActorSystem.Create("tremor-pdk-streams", "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF");
            Materializer = System.Materializer(namePrefix: "tremor-pdk-streams");
        }

        public ActorSystem System { get; }

        public IMaterializer Materializer { get; }
    }
}
