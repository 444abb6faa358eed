using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class ProcessorTests
{
    [Fact]
    public void Base64_round_trips_every_length()
    {
        var pre = new Base64Preprocessor();
        var post = new Base64Postprocessor();
        var random = new Random(3);
        for (var length = 0; length < 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var encoded = new ArrayBufferWriter<byte>();
            Assert.True(post.TryProcess(data, encoded, out var error), error);
            Assert.Equal(Convert.ToBase64String(data), Encoding.ASCII.GetString(encoded.WrittenSpan));
            var output = new List<ReadOnlyMemory<byte>>();
            Assert.True(pre.TryProcess(encoded.WrittenMemory, output, out error), error);
            if (length == 0) Assert.Empty(output);
            else Assert.Equal(data, Assert.Single(output).ToArray());
        }
    }

    [Fact]
    public void Base64_output_stays_valid_after_later_calls()
    {
        var pre = new Base64Preprocessor();
        var output = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < 5000; i++) Assert.True(pre.TryProcess(Encoding.ASCII.GetBytes(Convert.ToBase64String(BitConverter.GetBytes(i))), output, out _));
        for (var i = 0; i < 5000; i++) Assert.Equal(i, BitConverter.ToInt32(output[i].Span));
    }

    [Fact]
    public void Base64_ignores_whitespace()
    {
        var output = new List<ReadOnlyMemory<byte>>();
        Assert.True(new Base64Preprocessor().TryProcess(Encoding.ASCII.GetBytes(" aGk=\r\n"), output, out _));
        Assert.Equal("hi", Encoding.ASCII.GetString(Assert.Single(output).Span));
    }

    [Theory]
    [InlineData("aGVsbG8gd29ybGQ=", null)]
    [InlineData("aGVs!G8gd29ybGQ=", "invalid base64 at byte 4: '!' (0x21) is not a base64 character")]
    [InlineData("  aGVsbG8g\r\nd29ybGQ=", null)]
    [InlineData("  aGVsbG8g\r\n-d29ybGQ=", "invalid base64 at byte 12: '-' (0x2d) is not a base64 character")]
    [InlineData("aGVsbG8gd29ybGQ", "invalid base64: 15 characters is not a multiple of 4 (truncated input or missing '=' padding) at byte 15")]
    [InlineData("aG=sbG8g", "invalid base64 at byte 2: misplaced '=' padding (it may only end the input)")]
    [InlineData("aGVsbG8gd29ybGQ=\u00e9", "invalid base64 at byte 16: 0xc3 is not a base64 character")]
    public void Bad_base64_is_an_error_naming_the_offset(string text, string? expected)
    {
        var output = new List<ReadOnlyMemory<byte>>();
        var ok = new Base64Preprocessor().TryProcess(Encoding.UTF8.GetBytes(text), output, out var error);
        Assert.Equal(expected is null, ok);
        Assert.Equal(expected, error);
        if (!ok) Assert.Empty(output);
    }

    [Fact]
    public void Separate_postprocessor_appends_the_separator()
    {
        var config = new ValueRecord();
        config.Append("separator", "\r\n");
        var post = BuiltinCodecs.FindPostprocessor("separate")!.Create(new PluginConfig("post", config));
        var output = new ArrayBufferWriter<byte>();
        Assert.True(post.TryProcess("a"u8, output, out _));
        Assert.True(post.TryProcess(""u8, output, out _));
        Assert.Equal("a\r\n\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        var defaults = BuiltinCodecs.FindPostprocessor("separate")!.Create(new PluginConfig("post", null));
        output.Clear();
        Assert.True(defaults.TryProcess("b"u8, output, out _));
        Assert.Equal("b\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Postprocessed_json_lines_split_back_into_the_same_events()
    {
        var json = new JsonCodec();
        var lines = TestData.Lines(TestData.Json);
        var post = new SeparatePostprocessor("\n"u8);
        using var batch = new PooledBufferWriter(64);
        using var scratch = new PooledBufferWriter();
        foreach (var line in lines)
        {
            scratch.Reset();
            json.Encode(TestData.Decode(json, line), scratch);
            Assert.True(post.TryProcess(scratch.WrittenSpan, batch, out _));
        }
        Assert.Equal(TestData.Json, batch.WrittenSpan.ToArray());
    }
}
