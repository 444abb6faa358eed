using System.Diagnostics;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

/// <summary>Builders for configs, sink batches, pulls and temp files.</summary>
internal static class Fixtures
{
    public const string ConfigPath = "tremor.flows.main.connectors.under_test.config";

    public static ConnectorContext Context(TestHost host, params (string Key, Value Value)[] config)
    {
        var record = new ValueRecord();
        foreach (var (key, value) in config) record.Set(key, value);
        return new ConnectorContext(host, new PluginConfig(ConfigPath, record));
    }

    /// <summary>A sink batch of events whose payloads lie back to back in one buffer, as the runtime hands them over.</summary>
    public static SinkBatch SinkBatch(params (string Payload, ulong IngestNs, Value Data)[] events)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(events.Select(e => e.Payload)));
        var memory = new ReadOnlyMemory<byte>(bytes);
        var list = new List<SinkEvent>(events.Length);
        var offset = 0;
        for (var i = 0; i < events.Length; i++)
        {
            var length = Encoding.UTF8.GetByteCount(events[i].Payload);
            var id = new EventId(1, 0, (ulong)i, (ulong)i);
            var e = new Event { Id = id, IngestNs = events[i].IngestNs, Data = events[i].Data };
            list.Add(new SinkEvent(id, events[i].IngestNs, memory.Slice(offset, length), e));
            offset += length;
        }
        return new SinkBatch(list, memory);
    }

    public static SinkBatch SinkBatch(params string[] payloads) =>
        SinkBatch(payloads.Select(p => (p, 1UL, Value.Null)).ToArray());

    /// <summary>What a source produced, pull by pull, until it said Finished (copied, since batches are reused).</summary>
    public sealed record Pull(PullStatus Status, List<SourceChunk> Chunks, List<byte[]> Data);

    public static async Task<List<Pull>> PullUntilFinishedAsync(ISource source, int capacity = 16, int maxPulls = 10_000)
    {
        var pulls = new List<Pull>();
        var batch = new SourceBatch(capacity);
        for (var i = 0; i < maxPulls; i++)
        {
            batch.Clear();
            var status = await source.PullAsync(batch, CancellationToken.None);
            var chunks = Enumerable.Range(0, batch.Count).Select(j => batch[j]).ToList();
            pulls.Add(new Pull(status, chunks, chunks.Select(c => c.Data.ToArray()).ToList()));
            if (status == PullStatus.Finished) return pulls;
        }
        throw new InvalidOperationException($"the source did not finish within {maxPulls} pulls");
    }

    public static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Compresses <paramref name="path"/> into <c>path.xz</c> with the <c>xz</c> tool (SharpCompress cannot write xz).</summary>
    public static string Xz(string path)
    {
        var start = new ProcessStartInfo("xz", ["--keep", "--force", "-z", path])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("xz did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("these tests need the 'xz' command (apt-get install xz-utils) to make .xz fixtures", e);
        }
        using (process)
        {
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"xz failed with {process.ExitCode}: {error}");
        }
        return path + ".xz";
    }
}

/// <summary>A temp directory per test, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("tremor-connectors-tests-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
