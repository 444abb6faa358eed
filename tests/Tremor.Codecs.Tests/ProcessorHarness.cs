using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>Builds built-in processors from flow-style configuration and runs them the way the runtime does.</summary>
internal static class ProcessorHarness
{
    public static PluginConfig Config(params (string Key, Value Value)[] entries)
    {
        var record = new ValueRecord();
        foreach (var (key, value) in entries) record.Append(key, value);
        return new PluginConfig("flow.connectors.in.preprocessors[0].config", record);
    }

    public static IPreprocessor Pre(string name, params (string Key, Value Value)[] entries) =>
        (BuiltinCodecs.FindPreprocessor(name) ?? throw new InvalidOperationException(name)).Create(Config(entries));

    public static IPostprocessor Post(string name, params (string Key, Value Value)[] entries) =>
        (BuiltinCodecs.FindPostprocessor(name) ?? throw new InvalidOperationException(name)).Create(Config(entries));

    public static ConfigException PreConfigError(string name, params (string Key, Value Value)[] entries) =>
        Assert.Throws<ConfigException>(() => Pre(name, entries));

    public static ConfigException PostConfigError(string name, params (string Key, Value Value)[] entries) =>
        Assert.Throws<ConfigException>(() => Post(name, entries));

    /// <summary>One event through a postprocessor; fails the test on an error.</summary>
    public static byte[] Apply(IPostprocessor post, ReadOnlySpan<byte> data)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(post.TryProcess(data, output, out var error), error);
        Assert.Null(error);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Chunks through a preprocessor then its finish, copying each output chunk at once (output may alias the input,
    /// valid until the next call). Errors are collected, or fail the test when <paramref name="errors"/> is null.
    /// </summary>
    public static List<byte[]> Run(IPreprocessor pre, IEnumerable<byte[]> chunks, List<string>? errors = null)
    {
        var result = new List<byte[]>();
        var output = new List<ReadOnlyMemory<byte>>();
        foreach (var chunk in chunks)
        {
            output.Clear();
            if (!pre.TryProcess(chunk, output, out var error))
            {
                Assert.NotNull(error);
                if (errors is null) Assert.Fail(error);
                errors.Add(error);
            }
            else
            {
                Assert.Null(error);
            }
            result.AddRange(output.Select(o => o.ToArray()));
        }
        output.Clear();
        pre.Finish(output);
        result.AddRange(output.Select(o => o.ToArray()));
        return result;
    }

    /// <summary>
    /// Events through postprocessors the way the runtime runs them (a <see cref="PayloadChain"/>), then the end of the
    /// stream when <paramref name="end"/>: the payloads, each with the events (by index) it carries, and the failures.
    /// </summary>
    public static (List<(byte[] Bytes, CarriedRange Carries)> Payloads, List<(CarriedRange Events, string Reason)> Failures) Chain(
        IEnumerable<byte[]> events, bool end, params IPostprocessor[] stages)
    {
        var chain = new PayloadChain(stages.Select((s, i) => (s, $"stage{i}")).ToList());
        var output = new ChainOutput();
        var payloads = new List<(byte[], CarriedRange)>();
        var failures = new List<(CarriedRange, string)>();
        void Take()
        {
            payloads.AddRange(output.Payloads.Select(p => (output.Bytes.Slice(p.Start, p.Length).ToArray(), p.Carries)));
            failures.AddRange(output.Failures);
            output.Reset();
        }
        var n = 0L;
        foreach (var e in events)
        {
            chain.Process(e, n++, 0, output);
            Take();
        }
        if (end)
        {
            chain.Flush(endOfStream: true, output);
            Take();
        }
        return (payloads, failures);
    }

    /// <summary>One chunk through a preprocessor, expecting it to fail; returns the reason and asserts nothing came out.</summary>
    public static string Fail(IPreprocessor pre, byte[] chunk)
    {
        var output = new List<ReadOnlyMemory<byte>>();
        Assert.False(pre.TryProcess(chunk, output, out var error));
        Assert.Empty(output);
        return Assert.IsType<string>(error);
    }
}
