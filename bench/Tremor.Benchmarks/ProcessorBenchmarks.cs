using System.Buffers;
using BenchmarkDotNet.Attributes;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>
/// The length-prefixed preprocessor over data.json's 100 records, each framed with a 4-byte length (63,315 bytes);
/// one operation is the whole stream, in one chunk or in 4 KiB chunks (frames spanning chunks are copied once).
/// </summary>
[MemoryDiagnoser]
public class LengthPrefixedBenchmarks
{
    private readonly List<ReadOnlyMemory<byte>> _output = new(128);
    private readonly LengthPrefixedPreprocessor _pre = new();
    private ReadOnlyMemory<byte> _stream;

    [GlobalSetup]
    public void Setup()
    {
        var post = new LengthPrefixedPostprocessor();
        var writer = new ArrayBufferWriter<byte>();
        foreach (var line in BenchData.JsonLines()) post.TryProcess(line, writer, out _);
        _stream = writer.WrittenMemory.ToArray();
    }

    [Benchmark]
    public int OneChunk()
    {
        _output.Clear();
        if (!_pre.TryProcess(_stream, _output, out var error)) throw new InvalidOperationException(error);
        return _output.Count;
    }

    [Benchmark]
    public int In4KChunks()
    {
        _output.Clear();
        var data = _stream;
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(4096, data.Length)];
            if (!_pre.TryProcess(chunk, _output, out var error)) throw new InvalidOperationException(error);
            data = data[chunk.Length..];
        }
        return _output.Count;
    }
}

/// <summary>
/// compress and decompress per event: one operation is one data.json record (629 bytes on average), so the figures
/// include what each format costs per payload (stream set-up, headers), which dominates for small events.
/// </summary>
[MemoryDiagnoser]
public class CompressionBenchmarks
{
    private readonly PooledBufferWriter _writer = new(64 * 1024);
    private readonly List<ReadOnlyMemory<byte>> _output = new(128);
    private byte[][] _records = [];
    private byte[][] _compressed = [];
    private IPostprocessor _compress = null!;
    private IPreprocessor _decompress = null!;

    [Params("gzip", "lz4", "snappy", "zstd")]
    public string Format { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var config = new ValueRecord();
        config.Append("format", Format);
        _compress = new CompressPostprocessor(new PluginConfig("bench", config));
        _decompress = new DecompressPreprocessor(new PluginConfig("bench", config));
        _records = BenchData.JsonLines();
        _compressed = [.. _records.Select(r =>
        {
            var w = new ArrayBufferWriter<byte>();
            _compress.TryProcess(r, w, out _);
            return w.WrittenSpan.ToArray();
        })];
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int Compress()
    {
        _writer.Reset();
        foreach (var record in _records)
        {
            if (!_compress.TryProcess(record, _writer, out var error)) throw new InvalidOperationException(error);
        }
        return _writer.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int Decompress()
    {
        _output.Clear();
        foreach (var chunk in _compressed)
        {
            if (!_decompress.TryProcess(chunk, _output, out var error)) throw new InvalidOperationException(error);
        }
        return _output.Count;
    }
}
