using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Tremor.Connectors.Nats.Tests;

/// <summary>Debian's nats-server with JetStream on a free loopback port, its store in a temp dir.</summary>
public sealed class NatsServer : ServerFixture
{
    public NatsServer()
    {
        var binary = ServerProcess.Find("nats-server", "nats-server", "/usr/sbin/nats-server");
        Server = new ServerProcess(binary, s => ["-js", "-a", "127.0.0.1", "-p", s.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", s.Dir.Path]);
    }

    internal override ServerProcess Server { get; }

    public string Url => $"nats://127.0.0.1:{Server.Port}";

    /// <summary>Makes a JetStream stream over <paramref name="subjects"/> (what an operator does with `nats stream add`).</summary>
    public async Task CreateStreamAsync(string name, params string[] subjects)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = Url });
        await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig(name, subjects));
    }
}
