using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>The shared test data (see data/README.md) and small helpers.</summary>
internal static class TestData
{
    public static byte[] Json => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "data.json"));

    public static byte[] MsgpackBase64Lines => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "data.msgpack"));

    /// <summary>The lines of <paramref name="data"/> as split by the separate preprocessor.</summary>
    public static List<byte[]> Lines(byte[] data)
    {
        var separate = new SeparatePreprocessor("\n"u8);
        var chunks = new List<ReadOnlyMemory<byte>>();
        Assert.True(separate.TryProcess(data, chunks, out var error), error);
        separate.Finish(chunks);
        return chunks.Select(c => c.ToArray()).ToList();
    }

    public static byte[] Encode(ICodec codec, Value value)
    {
        var output = new ArrayBufferWriter<byte>();
        codec.Encode(value, output);
        return output.WrittenSpan.ToArray();
    }

    public static string EncodeText(ICodec codec, Value value) => Encoding.UTF8.GetString(Encode(codec, value));

    public static Value Decode(ICodec codec, byte[] data)
    {
        Assert.True(codec.TryDecode(data, out var value, out var error), error);
        Assert.Null(error);
        return value;
    }

    public static Value Decode(ICodec codec, string text) => Decode(codec, Encoding.UTF8.GetBytes(text));

    public static string DecodeError(ICodec codec, byte[] data)
    {
        Assert.False(codec.TryDecode(data, out var value, out var error));
        Assert.True(value.IsNull);
        Assert.NotNull(error);
        return error;
    }

    public static string DecodeError(ICodec codec, string text) => DecodeError(codec, Encoding.UTF8.GetBytes(text));

    /// <summary>A record exercising every kind of value.</summary>
    public static Value EveryKind()
    {
        var nested = new ValueRecord();
        nested.Append("empty-record", Value.NewRecord());
        nested.Append("empty-array", Value.NewArray());
        nested.Append("list", Value.From(new List<Value> { 1, "two", 3.5, Value.Null, true }));
        var record = new ValueRecord();
        record.Append("null", Value.Null);
        record.Append("true", true);
        record.Append("false", false);
        record.Append("i64", -42);
        record.Append("min", long.MinValue);
        record.Append("max", long.MaxValue);
        record.Append("u64", Value.From(ulong.MaxValue));
        record.Append("f64", 3.141592653589793);
        record.Append("tiny", 5e-324);
        record.Append("huge", 1.7976931348623157e308);
        record.Append("string", "héllo \"wörld\"\n\t\\ 😀 \u0001");
        record.Append("", "empty key");
        record.Append("nested", Value.From(nested));
        return Value.From(record);
    }
}
