using Tremor.Pdk;

namespace Tremor.Connectors.Amqp.Tests;

public sealed class ConfigErrorTests
{
    private static readonly (string, Value) Url = ("url", "amqp://127.0.0.1:5672");

    private static Value Section(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    public static TheoryData<(string, Value)[], string> BadConfigs => new()
    {
        { [("source", Section(("queue", "q")))], "url" },
        { [("url", "mqtt://127.0.0.1:5672"), ("source", Section(("queue", "q")))], "url" },
        { [("url", "amqp://guest:guest@127.0.0.1:5672"), ("source", Section(("queue", "q")))], "url" },
        { [Url], "source" },
        { [Url, ("source", Section())], "source.queue" },
        { [Url, ("source", Section(("queue", "")))], "source.queue" },
        { [Url, ("source", Section(("queue", "q"), ("prefetch", 0)))], "source.prefetch" },
        { [Url, ("source", Section(("queue", "q"), ("undecodable", "drop")))], "source.undecodable" },
        { [Url, ("source", Section(("queue", "q"), ("binding-keys", Value.From([Value.From("#")]))))], "source.binding-keys" },
        { [Url, ("source", Section(("queue", "q"), ("exchange", "x"), ("exchange-type", "fan")))], "source.exchange-type" },
        { [Url, ("source", Section(("queue", "q"), ("declare", false), ("dead-letter-exchange", "dlx")))], "source.dead-letter-exchange" },
        { [Url, ("source", Section(("queue", "q"), ("queues", "r")))], "source.queues" },
        { [Url, ("sink", Section(("exchange-type", "topic")))], "sink.exchange-type" },
        { [Url, ("sink", Section(("routingkey", "k")))], "sink.routingkey" },
        { [Url, ("sink", Section()), ("connect-timeout", "0s")], "connect-timeout" },
        { [Url, ("sink", Section()), ("username", "")], "username" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_key_is_refused_at_create_naming_its_path((string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(new AmqpFactory(), config, key);

    [Fact]
    public void The_url_gives_host_port_and_virtual_host_and_defaults_are_rabbitmqs()
    {
        var options = AmqpOptions.Read(new PluginConfig(Fixtures.ConfigPath, Fixtures.Record(("url", "amqps://broker/prod%2Feu"), ("sink", Section())).AsRecord()));
        Assert.Equal(("broker", 5671, true, "prod/eu", "guest"), (options.Host, options.Port, options.Tls, options.VirtualHost, options.Username));
        Assert.Equal(("", "", true, true), (options.Sink!.Exchange, options.Sink.RoutingKey, options.Sink.Mandatory, options.Sink.Persistent));
    }
}
