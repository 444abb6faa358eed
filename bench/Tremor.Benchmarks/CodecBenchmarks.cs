using BenchmarkDotNet.Attributes;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Benchmarks;

/// <summary>JSON decode and encode of tremor's 100 demo records; one operation is one record.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class JsonBenchmarks
{
    private const int Records = 100;
    private readonly JsonCodec _codec = new();
    private readonly PooledBufferWriter _output = new(128 * 1024);
    private ReadOnlyMemory<byte>[] _lines = [];
    private Value[] _values = [];
    private Value[] _baselineValues = [];

    [GlobalSetup]
    public void Setup()
    {
        _lines = [.. BenchData.JsonLines().Select(l => (ReadOnlyMemory<byte>)l)];
        if (_lines.Length != Records) throw new InvalidOperationException($"expected {Records} records, found {_lines.Length}");
        _values = [.. _lines.Select(l => _codec.TryDecode(l, out var v, out var e) ? v : throw new InvalidOperationException(e))];
        _baselineValues = [.. _lines.Select(l => Baseline.JsonDecoder.TryDecode(l.Span, out var v, out var e) ? v : throw new InvalidOperationException(e))];
    }

    /// <summary>The decoder as it was before issue 8 (a frozen copy in Baseline/), for a ratio in the same run.</summary>
    [Benchmark(OperationsPerInvoke = Records, Baseline = true)]
    [BenchmarkCategory("Decode")]
    public Value DecodeBaseline()
    {
        Value last = default;
        foreach (var line in _lines)
        {
            if (!Baseline.JsonDecoder.TryDecode(line.Span, out last, out var error)) throw new InvalidOperationException(error);
        }
        return last;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    [BenchmarkCategory("Decode")]
    public Value Decode()
    {
        Value last = default;
        foreach (var line in _lines)
        {
            if (!_codec.TryDecode(line, out last, out var error)) throw new InvalidOperationException(error);
        }
        return last;
    }

    /// <summary>The encoder as it was before issue 8 (a frozen copy in Baseline/), for a ratio in the same run.</summary>
    [Benchmark(OperationsPerInvoke = Records, Baseline = true)]
    [BenchmarkCategory("Encode")]
    public int EncodeBaseline()
    {
        _output.Reset();
        foreach (var value in _baselineValues) Baseline.JsonEncoder.Encode(value, _output);
        return _output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    [BenchmarkCategory("Encode")]
    public int Encode()
    {
        _output.Reset();
        foreach (var value in _values) _codec.Encode(value, _output);
        return _output.WrittenCount;
    }
}

/// <summary>The separate preprocessor over all of data.json (63 KB, 100 lines) in one chunk; one operation is the whole buffer.</summary>
[MemoryDiagnoser]
public class SeparateBenchmarks
{
    private readonly SeparatePreprocessor _separate = new("\n"u8);
    private readonly List<ReadOnlyMemory<byte>> _output = new(128);
    private ReadOnlyMemory<byte> _data;

    [GlobalSetup]
    public void Setup() => _data = BenchData.Json;

    [Benchmark]
    public int Separate()
    {
        _output.Clear();
        if (!_separate.TryProcess(_data, _output, out var error)) throw new InvalidOperationException(error);
        return _output.Count;
    }

    [Benchmark]
    public int SeparateIn4KChunks()
    {
        _output.Clear();
        var data = _data;
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(4096, data.Length)];
            if (!_separate.TryProcess(chunk, _output, out var error)) throw new InvalidOperationException(error);
            data = data[chunk.Length..];
        }
        return _output.Count;
    }
}

/// <summary>Field lookup and update on a decoded demo record (13 fields, linear search) and on a 32-field one (hash index).</summary>
[MemoryDiagnoser]
public class ValueRecordBenchmarks
{
    private ValueRecord _record = new();
    private ValueRecord _wide = new();

    [GlobalSetup]
    public void Setup()
    {
        var codec = new JsonCodec();
        codec.TryDecode(BenchData.JsonLines()[0], out var value, out _);
        _record = BenchData.Record(value);
        _wide = new ValueRecord(32);
        for (var i = 0; i < 32; i++) _wide.Append($"field_{i}", i);
    }

    [Benchmark]
    public Value LookupFirst() => _record["about"];

    [Benchmark]
    public Value LookupLast() => _record["doc-type"];

    [Benchmark]
    public Value LookupMissing() => _record["no-such-field"];

    [Benchmark]
    public void SetExisting() => _record.Set("aint", 42);

    [Benchmark]
    public Value LookupWide() => _wide["field_31"];

    [Benchmark]
    public void SetWide() => _wide.Set("field_17", 1);
}
