namespace Tremor.Connectors.Mqtt.Tests;

/// <summary>
/// Debian's mosquitto on a free loopback port, with a config file written into its temp dir: persistence on (so a
/// broker stopped with SIGTERM keeps sessions and queued messages), anonymous clients allowed unless told otherwise.
/// </summary>
public sealed class Mosquitto : ServerFixture
{
    private readonly bool _anonymous;

    public Mosquitto()
        : this(anonymous: true)
    {
    }

    internal Mosquitto(bool anonymous)
    {
        _anonymous = anonymous;
        var binary = ServerProcess.Find("mosquitto", "mosquitto", "/usr/sbin/mosquitto");
        Server = new ServerProcess(binary, Arguments);
    }

    internal override ServerProcess Server { get; }

    public string Url => $"mqtt://127.0.0.1:{Server.Port}";

    private IEnumerable<string> Arguments(ServerProcess server)
    {
        var conf = server.Dir.File("mosquitto.conf");
        File.WriteAllText(conf, $"""
            listener {server.Port} 127.0.0.1
            allow_anonymous {(_anonymous ? "true" : "false")}
            persistence true
            persistence_location {server.Dir.Path}/
            log_dest stderr
            """);
        return ["-c", conf];
    }
}
