namespace Tremor.Connectors.Redis.Tests;

/// <summary>Debian's redis-server on a free loopback port, nothing persisted, its files in a temp dir.</summary>
public sealed class RedisServer : ServerFixture
{
    public RedisServer()
        : this([])
    {
    }

    internal RedisServer(string[] extra)
    {
        var binary = ServerProcess.Find("redis-server", "redis-server", "/usr/bin/redis-server");
        Server = new ServerProcess(binary, s =>
            ["--port", s.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.Dir.Path, .. extra]);
    }

    internal override ServerProcess Server { get; }

    public string Url => $"redis://127.0.0.1:{Server.Port}";
}
