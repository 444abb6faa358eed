using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>The benchmark data (tremor-runtime's demo records, kept beside the codec tests), found from the repository root.</summary>
internal static class BenchData
{
    private static readonly Lazy<byte[]> s_json = new(() => File.ReadAllBytes(Path.Combine(RepoRoot(), "tests", "Tremor.Codecs.Tests", "data", "data.json")));

    /// <summary>data.json: 100 JSON records, one per line (63,015 bytes).</summary>
    public static byte[] Json => s_json.Value;

    /// <summary>The records of data.json without their separators.</summary>
    public static byte[][] JsonLines()
    {
        var lines = new List<byte[]>();
        var span = Json.AsSpan();
        while (!span.IsEmpty)
        {
            var end = span.IndexOf((byte)'\n');
            var line = end < 0 ? span : span[..end];
            if (!line.IsEmpty) lines.Add(line.ToArray());
            span = end < 0 ? default : span[(end + 1)..];
        }
        return [.. lines];
    }

    /// <summary>The average size of one record, without its separator.</summary>
    public static double AverageRecordBytes => JsonLines().Average(l => (double)l.Length);

    /// <summary>Walks up from the running binary (BenchmarkDotNet builds beneath bin/) or the working directory to Tremor.sln.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Tremor.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (a folder holding Tremor.sln) above the benchmark binary or the working directory.");
    }

    public static ValueRecord Record(Value value) => value.AsRecord() ?? throw new InvalidOperationException("expected a record");
}
