using Tremor.Pdk;

namespace Tremor.Connectors.Postgres.Tests;

public sealed class ConfigErrorTests
{
    private static readonly (string, Value) Url = ("url", "postgres://127.0.0.1:5432/db");

    private static Value Section(params (string Key, Value Value)[] fields) => Fixtures.Record(fields);

    private static Value Strings(params string[] items) => Value.From(items.Select(Value.From).ToList());

    public static TheoryData<(string, Value)[], string> BadConfigs => new()
    {
        { [("sink", Section(("table", "t")))], "url" },
        { [("url", "postgres://127.0.0.1:5432"), ("sink", Section(("table", "t")))], "url" },
        { [("url", "mysql://127.0.0.1/db"), ("sink", Section(("table", "t")))], "url" },
        { [("url", "postgres://u:p@127.0.0.1/db"), ("sink", Section(("table", "t")))], "url" },
        { [Url], "source" },
        { [Url, ("sink", Section())], "sink.table" },
        { [Url, ("sink", Section(("table", "t"), ("columns", Section(("a", 1)))))], "sink.columns.a" },
        { [Url, ("sink", Section(("table", "t"), ("columns", Section(("a", "x"))), ("on-conflict", Strings("b"))))], "sink.on-conflict[0]" },
        { [Url, ("sink", Section(("table", "t"), ("on-conflict", Strings())))], "sink.on-conflict" },
        { [Url, ("sink", Section(("table", "t"), ("upsert", true)))], "sink.upsert" },
        { [Url, ("source", Section())], "source.query" },
        { [Url, ("source", Section(("query", "SELECT * FROM t WHERE id > $1")))], "source.cursor" },
        { [Url, ("source", Section(("query", "SELECT * FROM t"), ("cursor", "id")))], "source.query" },
        { [Url, ("source", Section(("query", "SELECT * FROM t WHERE id > $1"), ("cursor", "id"), ("interval", "0s")))], "source.interval" },
        { [Url, ("source", Section(("query", "SELECT * FROM t WHERE id > $1"), ("cursor", "id"), ("start", true)))], "source.start" },
        { [Url, ("source", Section(("channels", Strings("a")), ("cursor", "id")))], "source.cursor" },
        { [Url, ("source", Section(("channels", Strings(""))))], "source.channels[0]" },
        { [Url, ("sink", Section(("table", "t"))), ("connect-timeout", "0s")], "connect-timeout" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_key_is_refused_at_create_naming_its_path((string, Value)[] config, string key) =>
        Fixtures.AssertRefusedNaming(new PostgresFactory(), config, key);
}
