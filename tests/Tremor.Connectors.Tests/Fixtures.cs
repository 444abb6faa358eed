using System.Diagnostics;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>Sink batches with data and ingest times, pulls until finished, and xz fixtures.</summary>
internal static partial class Fixtures
{
    public static SinkBatch SinkBatch(params (string Payload, ulong IngestNs, Value Data)[] events) =>
        BackToBack(events.Select(e => (Encoding.UTF8.GetBytes(e.Payload), e.IngestNs, e.Data, Value.Null)).ToArray());

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
