using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class TextCodecTests
{
    private readonly StringCodec _string = new();
    private readonly BinaryCodec _binary = new();

    [Fact]
    public void String_codec_round_trips_every_benchmark_line()
    {
        foreach (var line in TestData.Lines(TestData.Json))
        {
            var value = TestData.Decode(_string, line);
            Assert.Equal(Encoding.UTF8.GetString(line), value.AsString());
            Assert.Equal(line, TestData.Encode(_string, value));
        }
    }

    [Fact]
    public void String_codec_keeps_unicode_and_empty_text()
    {
        Assert.Equal("é中😀", TestData.Decode(_string, "é中😀").AsString());
        Assert.Equal(string.Empty, TestData.Decode(_string, Array.Empty<byte>()).AsString());
        Assert.Equal("é中😀"u8.ToArray(), TestData.Encode(_string, "é中😀"));
    }

    [Fact]
    public void String_codec_encodes_other_values_as_json_and_bytes_as_they_are()
    {
        Assert.Equal("{\"a\":[1,2.5,null]}", TestData.EncodeText(_string, TestData.Decode(new JsonCodec(), "{\"a\":[1,2.5,null]}")));
        Assert.Equal("42", TestData.EncodeText(_string, 42));
        Assert.Equal(new byte[] { 1, 2, 3 }, TestData.Encode(_string, Value.From(new byte[] { 1, 2, 3 })));
    }

    [Fact]
    public void String_codec_rejects_invalid_utf8_naming_the_byte()
    {
        byte[] data = [.. "hello "u8, 0xe2, 0x82, .. " world"u8];
        var error = TestData.DecodeError(_string, data);
        Assert.Contains("invalid UTF-8 at byte 6 of 14", error, StringComparison.Ordinal);
        Assert.Contains("0xe2", error, StringComparison.Ordinal);

        byte[] overlong = [0x41, 0xc0, 0xaf];
        Assert.Contains("byte 1", TestData.DecodeError(_string, overlong), StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_codec_round_trips_any_bytes()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var value = TestData.Decode(_binary, bytes);
        Assert.Equal(ValueKind.Bytes, value.Kind);
        Assert.Equal(bytes, value.AsBytes());
        Assert.Equal(bytes, TestData.Encode(_binary, value));
        Assert.Empty(TestData.Decode(_binary, Array.Empty<byte>()).AsBytes()!);
    }

    [Fact]
    public void Binary_codec_copies_its_input()
    {
        var bytes = new byte[] { 1, 2, 3 };
        var value = TestData.Decode(_binary, bytes);
        bytes[0] = 9;
        Assert.Equal(1, value.AsBytes()![0]);
    }

    [Fact]
    public void Binary_codec_encodes_strings_as_utf8_and_other_values_as_json()
    {
        Assert.Equal("é中😀"u8.ToArray(), TestData.Encode(_binary, "é中😀"));
        Assert.Equal("[true,\"x\"]", TestData.EncodeText(_binary, Value.From(new List<Value> { true, "x" })));
    }
}
