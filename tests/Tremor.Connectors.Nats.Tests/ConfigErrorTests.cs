using Tremor.Pdk;

namespace Tremor.Connectors.Nats.Tests;

public sealed class ConfigErrorTests
{
    private static Value S(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    public static TheoryData<(string, Value)[], string> BadConfigs => new()
    {
        { [("sink", S(("subject", "x")))], "url" },
        { [("url", "http://127.0.0.1:4222"), ("sink", S(("subject", "x")))], "url" },
        { [("url", "nats://u:p@127.0.0.1:4222"), ("sink", S(("subject", "x")))], "url" },
        { [("url", "nats://127.0.0.1:4222")], "source" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S())], "source.subject" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("stream", "A"), ("subject", "b")))], "source.subject" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("stream", "A"), ("queue", "q")))], "source.queue" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("subject", "a"), ("consumer", "c")))], "source.consumer" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("stream", "has space")))], "source.stream" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("subject", "a"), ("subjects", Value.From([Value.From("a")]))))], "source.subjects" },
        { [("url", "nats://127.0.0.1:4222"), ("source", S(("stream", "A"), ("subjects", Value.From([Value.From("")]))))], "source.subjects[0]" },
        { [("url", "nats://127.0.0.1:4222"), ("sink", S(("subject", "a.>")))], "sink.subject" },
        { [("url", "nats://127.0.0.1:4222"), ("sink", S(("subject", "a"), ("jetstrem", true)))], "sink.jetstrem" },
        { [("url", "nats://127.0.0.1:4222"), ("sink", S(("subject", "a"))), ("password", "p")], "username" },
        { [("url", "nats://127.0.0.1:4222"), ("sink", S(("subject", "a"))), ("connect-timeout", "0s")], "connect-timeout" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_key_is_refused_at_create_naming_its_path((string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(new NatsFactory(), config, key);
}
