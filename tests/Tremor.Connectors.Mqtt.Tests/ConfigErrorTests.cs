using Tremor.Pdk;

namespace Tremor.Connectors.Mqtt.Tests;

public sealed class ConfigErrorTests
{
    public static TheoryData<(string, Value)[], string> BadConfigs => new()
    {
        { [], "url" },
        { [("url", "http://127.0.0.1:1883")], "url" },
        { [("url", "mqtt://127.0.0.1:1883/path")], "url" },
        { [("url", "mqtt://127.0.0.1:1883"), ("qos", 2)], "qos" },
        { [("url", "mqtt://127.0.0.1:1883"), ("topic", "a/#")], "topic" },
        { [("url", "mqtt://127.0.0.1:1883"), ("topics", Value.From([Value.From("")]))], "topics[0]" },
        { [("url", "mqtt://127.0.0.1:1883"), ("password", "secret")], "username" },
        { [("url", "mqtt://127.0.0.1:1883"), ("keep-alive", "-1s")], "keep-alive" },
        { [("url", "mqtt://127.0.0.1:1883"), ("connect-timeout", "0s")], "connect-timeout" },
        { [("url", "mqtt://127.0.0.1:1883"), ("client-id", "")], "client-id" },
        { [("url", "mqtt://127.0.0.1:1883"), ("topicz", "a")], "topicz" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_key_is_refused_at_create_naming_its_path((string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(new MqttFactory(), config, key);

    [Fact]
    public void The_default_client_id_is_stable_per_connector_so_the_broker_keeps_its_session()
    {
        var host = new TestHost { Alias = "ingest::sensors" };
        var options = MqttOptions.Read(new PluginConfig(Fixtures.ConfigPath, Fixtures.Record(("url", "mqtt://broker")).AsRecord()), host.Alias);
        Assert.Equal("tremor-ingest--sensors", options.ClientId);
        Assert.Equal(1883, options.Port);
    }
}
