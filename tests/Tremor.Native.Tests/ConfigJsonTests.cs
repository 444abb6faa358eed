using System.Text;
using Tremor.Native.Connectors;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>
/// The config JSON a native plugin receives, per value kind, without and with a schema typing the key; and the
/// schema's required / type / additionalProperties / enum enforced before create, with the key path in the error.
/// Values are built as the runtime's HOCON reader builds them (TremorConfig.ToValue).
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class ConfigJsonTests(NativeFixture fixture)
{
    private static PluginConfig Config(string key, Value value)
    {
        var record = new ValueRecord();
        record.Set(key, value);
        return new PluginConfig("tremor.flows.f.connectors.snk.config", record);
    }

    private static string Json(string? schema, string key, Value value) =>
        Encoding.UTF8.GetString(ConfigSchema.Parse(schema, "test-plugin (test.so)").Encode(Config(key, value)));

    private static string Typed(string type, string? format = null) =>
        "{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"" + type + "\"" + (format is null ? "" : $",\"format\":\"{format}\"") + "}}}";

    public static TheoryData<string, Value, string?, string> Kinds => new()
    {
        // HOCON (as read)              value                                 schema                      JSON the plugin gets
        { "k = text",                   "text",                               null,                       "\"text\"" },
        { "k = true",                   true,                                 null,                       "true" },
        { "k = \"true\" (string)",      true,                                 Typed("string"),            "\"true\"" },
        { "k = on",                     "on",                                 null,                       "\"on\"" },
        { "k = on (boolean)",           "on",                                 Typed("boolean"),           "true" },
        { "k = no (boolean)",           "no",                                 Typed("boolean"),           "false" },
        { "k = 42",                     42,                                   null,                       "42" },
        { "k = -7 (integer)",           -7,                                   Typed("integer"),           "-7" },
        { "k = 42 (string)",            42,                                   Typed("string"),            "\"42\"" },
        { "k = 12345678901234567890",   Value.From(12345678901234567890UL),   null,                       "12345678901234567890" },
        { "k = 12345678901234567890 (integer)", Value.From(12345678901234567890UL), Typed("integer"),     "12345678901234567890" },
        { "k = 12345678901234567890 (string)", Value.From(12345678901234567890UL), Typed("string"),       "\"12345678901234567890\"" },
        { "k = 99999999999999999999999", "99999999999999999999999",           null,                       "\"99999999999999999999999\"" },
        { "k = 1.5",                    1.5,                                  null,                       "1.5" },
        { "k = 1.5 (number)",           1.5,                                  Typed("number"),            "1.5" },
        { "k = 10s",                    "10s",                                null,                       "\"10s\"" },
        { "k = 10s (duration)",         "10s",                                Typed("integer", "duration"), "10000000000" },
        { "k = 1.5ms (duration)",       "1.5ms",                              Typed("integer", "duration"), "1500000" },
        { "k = 64MiB",                  "64MiB",                              null,                       "\"64MiB\"" },
        { "k = 64MiB (size)",           "64MiB",                              Typed("integer", "size"),   "67108864" },
        { "k = null",                   default(Value),                       null,                       "null" },
        { "k = [1, a]",                 Value.From(new List<Value> { 1, "a" }), null,                     "[1,\"a\"]" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kind_arrives_as_documented(string hocon, Value value, string? schema, string expected)
    {
        Assert.Equal($"{{\"k\":{expected}}}", Json(schema, "k", value));
        Assert.NotEmpty(hocon);
    }

    [Theory]
    [InlineData("""{"type":"object","required":["path"],"properties":{"path":{"type":"string"}}}""", "mode", "x",
        "tremor.flows.f.connectors.snk.config.path: is required (the config schema of test-plugin (test.so))")]
    [InlineData("""{"type":"object","properties":{"k":{"type":"integer"}}}""", "k", "many",
        "tremor.flows.f.connectors.snk.config.k: expected an integer, found the string \"many\" (the config schema of test-plugin (test.so))")]
    [InlineData("""{"type":"object","properties":{"k":{"type":"integer"}},"additionalProperties":false}""", "kk", 1,
        "tremor.flows.f.connectors.snk.config.kk: unknown key; known keys are: k (the config schema of test-plugin (test.so))")]
    [InlineData("""{"type":"object","properties":{"k":{"enum":["a","b"]}}}""", "k", "c",
        "tremor.flows.f.connectors.snk.config.k: expected one of \"a\", \"b\", found the string \"c\" (the config schema of test-plugin (test.so))")]
    [InlineData("""{"type":"object","properties":{"k":{"type":"integer"}}}""", "k", "99999999999999999999999",
        "tremor.flows.f.connectors.snk.config.k: 99999999999999999999999 is out of range: integers go from -9223372036854775808 to 18446744073709551615 (the config schema of test-plugin (test.so))")]
    public void The_schema_refuses_with_the_key_path(string schema, string key, object raw, string expected)
    {
        Value value = raw switch
        {
            string s => s,
            int i => i,
            _ => default,
        };
        var error = Assert.Throws<ConfigException>(() => Json(schema, key, value));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void A_nested_list_item_error_names_its_index()
    {
        var schema = """{"type":"object","properties":{"hosts":{"type":"array","items":{"type":"object","required":["port"]}}}}""";
        var first = new ValueRecord();
        first.Set("port", 1);
        var second = new ValueRecord();
        second.Set("name", "b");
        var error = Assert.Throws<ConfigException>(() => Json(schema, "hosts", Value.From(new List<Value> { Value.From(first), Value.From(second) })));
        Assert.StartsWith("tremor.flows.f.connectors.snk.config.hosts[1].port: is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_plugin_receives_exactly_these_bytes_in_process_and_isolated()
    {
        using var plugin = NativePluginLoader.Load(fixture.HostileSink);
        var record = new ValueRecord();
        record.Set("mode", "config-echo");
        record.Set("big", Value.From(12345678901234567890UL));
        record.Set("flag", "true");
        var config = new PluginConfig("test.config", record);
        var expected = """{"mode":"config-echo","big":12345678901234567890,"flag":"true"}""";

        var inProcess = new FakeHost();
        await (plugin.ConnectorFactory.Create(new ConnectorContext(inProcess, config))).DisposeAsync();
        Assert.Equal(expected, Assert.Single(inProcess.Logs).Message);

        var isolated = new FakeHost();
        await (plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(10), null)).Create(new ConnectorContext(isolated, config))).DisposeAsync();
        Assert.Equal(expected, Assert.Single(isolated.Logs).Message);
    }

    [Fact]
    public void A_schema_error_creates_no_instance_in_either_tier()
    {
        using var plugin = NativePluginLoader.Load(Path.Combine(fixture.PluginDir, "c-crasher.so"));
        var context = FakeHost.Context(new FakeHost(), ("mode", "segfault"), ("marker", Value.From(new List<Value>())));
        var inProcess = Assert.Throws<ConfigException>(() => plugin.ConnectorFactory.Create(context));
        var isolated = Assert.Throws<ConfigException>(() => plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(10), null)).Create(context));
        Assert.Equal("test.config.marker: expected a string, found a list (the config schema of c-crasher (" + Path.Combine(fixture.PluginDir, "c-crasher.so") + "))", inProcess.Message);
        Assert.Equal(inProcess.Message, isolated.Message);
        Assert.Equal(0, plugin.LiveInstances);
    }
}
