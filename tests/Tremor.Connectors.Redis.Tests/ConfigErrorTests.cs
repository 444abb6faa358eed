using Tremor.Pdk;

namespace Tremor.Connectors.Redis.Tests;

public sealed class ConfigErrorTests
{
    private static Value S(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    public static TheoryData<(string, Value)[], string> BadConfigs => new()
    {
        { [("sink", S(("list", "x")))], "url" },
        { [("url", "http://127.0.0.1:6379"), ("sink", S(("list", "x")))], "url" },
        { [("url", "redis://user:pw@127.0.0.1:6379"), ("sink", S(("list", "x")))], "url" },
        { [("url", "redis://127.0.0.1:6379")], "source" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S())], "source.stream" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S(("stream", "a"), ("list", "b")))], "source.list" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S(("list", "a"), ("group", "g")))], "source.group" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S(("stream", "a"), ("start", "tomorrow")))], "source.start" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S(("channels", Value.From(new List<Value>()))))], "source.channels" },
        { [("url", "redis://127.0.0.1:6379"), ("source", S(("stream", "")))], "source.stream" },
        { [("url", "redis://127.0.0.1:6379"), ("sink", S(("channel", "a"), ("lisst", "b")))], "sink.lisst" },
        { [("url", "redis://127.0.0.1:6379"), ("sink", S(("list", "a"))), ("username", "u")], "password" },
        { [("url", "redis://127.0.0.1:6379"), ("sink", S(("list", "a"))), ("connect-timeout", "0s")], "connect-timeout" },
        { [("url", "redis://127.0.0.1:6379"), ("sink", S(("list", "a"))), ("databse", 1)], "databse" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_key_is_refused_at_create_naming_its_path((string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(new RedisFactory(), config, key);
}
