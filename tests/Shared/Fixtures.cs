using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>The builders every connector test project needs: connector contexts, records and sink batches.</summary>
internal static partial class Fixtures
{
    public const string ConfigPath = "tremor.flows.main.connectors.under_test.config";

    public static ConnectorContext Context(TestHost host, params (string Key, Value Value)[] config) =>
        new(host, new PluginConfig(ConfigPath, RecordOf(config)));

    public static Value Record(params (string Key, Value Value)[] fields) => Value.From(RecordOf(fields));

    /// <summary>
    /// Asserts that <paramref name="factory"/> refuses <paramref name="config"/> at create with a <see cref="ConfigException"/>
    /// whose path and message name the config key <paramref name="key"/>.
    /// </summary>
    public static void AssertRefusedNaming(IConnectorFactory factory, (string, Value)[] config, string key)
    {
        var error = Assert.Throws<ConfigException>(() => factory.Create(Context(new TestHost(), config)));
        Assert.Equal($"{ConfigPath}.{key}", error.Path);
        Assert.StartsWith($"{ConfigPath}.{key}: ", error.Message, StringComparison.Ordinal);
    }

    private static ValueRecord RecordOf((string Key, Value Value)[] fields)
    {
        var record = new ValueRecord();
        foreach (var (key, value) in fields) record.Set(key, value);
        return record;
    }

    /// <summary>A sink batch of events whose payloads lie back to back in one buffer, as the runtime hands them over.</summary>
    private static SinkBatch BackToBack(IReadOnlyList<(byte[] Payload, ulong IngestNs, Value Data, Value Meta)> events)
    {
        var memory = new ReadOnlyMemory<byte>(events.SelectMany(e => e.Payload).ToArray());
        var list = new List<SinkEvent>(events.Count);
        var offset = 0;
        for (var i = 0; i < events.Count; i++)
        {
            var (payload, ingestNs, data, meta) = events[i];
            var id = new EventId(1, 0, (ulong)i, (ulong)i);
            var e = new Event { Id = id, IngestNs = ingestNs, Data = data, Meta = meta };
            list.Add(new SinkEvent(id, ingestNs, memory.Slice(offset, payload.Length), e));
            offset += payload.Length;
        }
        return new SinkBatch(list, memory);
    }
}

/// <summary>A temp directory per test, removed afterwards (a short name, so socket paths in it fit sockaddr_un).</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("tremor-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
