using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>
/// Input a source hands over as immutable (PDK 1.5): the json and msgpack codecs keep long strings as slices of it
/// instead of copies, and copy them out of any other input, which the source may overwrite after the pull.
/// </summary>
public sealed class ImmutableInputTests
{
    private static readonly string Long = string.Concat(Enumerable.Repeat("Pariatur nulla tempor veniam consectetur. ", 4));

    private static byte[] JsonRecord(string text) => Encoding.UTF8.GetBytes($"{{\"about\":\"{text}\",\"n\":1,\"tag\":\"short\"}}");

    private static bool Lies(in Value value, ReadOnlyMemory<byte> input) =>
        value.TryGetUtf8(out var utf8) && utf8.Overlaps(input.Span);

    [Fact]
    public void Json_keeps_a_long_string_where_it_lies_in_immutable_input_and_decodes_the_same_value()
    {
        var input = JsonRecord(Long);
        Assert.True(new JsonCodec().TryDecode(input, immutable: true, out var kept, out var error), error);
        Assert.True(Lies(kept["about"], input));
        Assert.Equal(Long, kept["about"].AsString());
        Assert.True(new JsonCodec().TryDecode(input, immutable: false, out var copied, out _));
        Assert.Equal(copied, kept);
        Assert.Equal("{\"about\":\"" + Long + "\",\"n\":1,\"tag\":\"short\"}", Encode(new JsonCodec(), kept));
    }

    [Fact]
    public void Json_keeps_strings_past_the_string_cache_in_immutable_input_and_makes_strings_of_them_otherwise()
    {
        const string Guid = "a95bb929-2567-4066-8023-8bf532665121"; // 36 bytes: longer than the cache holds
        var cached = new string('c', StringCache.MaxValueLength);
        var input = Encoding.UTF8.GetBytes($"{{\"guid\":\"{Guid}\",\"cached\":\"{cached}\"}}");
        Assert.True(new JsonCodec().TryDecode(input, immutable: true, out var kept, out _));
        Assert.True(Lies(kept["guid"], input));
        Assert.False(kept["cached"].TryGetUtf8(out _));
        Assert.True(new JsonCodec().TryDecode(input, immutable: false, out var copied, out _));
        Assert.False(copied["guid"].TryGetUtf8(out _));
        Assert.Equal(Guid, kept["guid"].AsString());
        Assert.Equal(copied, kept);
    }

    [Fact]
    public void Json_copies_long_strings_out_of_input_the_source_may_overwrite()
    {
        var input = JsonRecord(Long);
        Assert.True(new JsonCodec().TryDecode(input, immutable: false, out var value, out _));
        Assert.True(new JsonCodec().TryDecode((ReadOnlyMemory<byte>)input, out var plain, out _));
        Assert.False(Lies(value["about"], input));
        Assert.False(Lies(plain["about"], input));
        // The source reuses its buffer for the next read: what was decoded from it stays as it was.
        Array.Fill(input, (byte)'z');
        Assert.Equal(Long, value["about"].AsString());
        Assert.Equal(Long, plain["about"].AsString());
    }

    [Fact]
    public void Json_keeps_the_right_slice_when_the_document_is_read_again_by_the_reference_reader()
    {
        // 70 levels of nesting: past the scanner's 64, so Utf8JsonReader reads the document again from the start.
        var text = new string('[', 70) + "\"" + Long + "\"," + "\"é " + Long + "\"" + new string(']', 70);
        var input = Encoding.UTF8.GetBytes("  " + text);
        Assert.True(new JsonCodec().TryDecode(input.AsMemory(2), immutable: true, out var value, out var error), error);
        var inner = value;
        for (var i = 0; i < 69; i++) inner = inner.AsArray()![0];
        Assert.True(Lies(inner.AsArray()![0], input));
        Assert.Equal(Long, inner.AsArray()![0].AsString());
        Assert.Equal("é " + Long, inner.AsArray()![1].AsString());
    }

    [Fact]
    public void Json_gives_the_same_error_for_invalid_utf8_in_a_long_string_whether_the_input_is_immutable_or_not()
    {
        var input = JsonRecord(Long);
        input[30] = 0xff;
        Assert.False(new JsonCodec().TryDecode(input, immutable: true, out _, out var kept));
        Assert.False(new JsonCodec().TryDecode(input, immutable: false, out _, out var copied));
        Assert.Equal(copied, kept);
        Assert.Contains("invalid UTF-8", kept, StringComparison.Ordinal);
        Assert.Contains("byte 30", kept, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_does_not_keep_an_escaped_long_string_since_its_value_is_not_its_bytes()
    {
        var input = JsonRecord(Long + "\\n" + Long);
        Assert.True(new JsonCodec().TryDecode(input, immutable: true, out var value, out _));
        Assert.False(Lies(value["about"], input));
        Assert.Equal(Long + "\n" + Long, value["about"].AsString());
    }

    private static byte[] Msgpack(Value value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        new MsgpackCodec().Encode(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static string Encode(ICodec codec, Value value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        codec.Encode(value, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Msgpack_keeps_long_strings_of_immutable_input_and_copies_those_of_any_other()
    {
        var record = new ValueRecord(3);
        record.Append("about", Long);
        record.Append("list", Value.From(new List<Value> { "short", "long: " + Long }));
        var input = Msgpack(Value.From(record));
        var codec = new MsgpackCodec();

        Assert.True(codec.TryDecode(input, immutable: true, out var kept, out var error), error);
        Assert.True(Lies(kept["about"], input));
        Assert.True(Lies(kept["list"].AsArray()![1], input));
        Assert.Equal(Value.From(record), kept);

        Assert.True(codec.TryDecode(input, immutable: false, out var copied, out _));
        Assert.False(Lies(copied["about"], input));
        Array.Fill(input, (byte)0);
        Assert.Equal(Value.From(record), copied);
    }

    [Fact]
    public void Msgpack_gives_the_same_error_for_invalid_utf8_in_a_long_string_whether_the_input_is_immutable_or_not()
    {
        var input = Msgpack(Value.From(Long));
        input[10] = 0xc0;
        var codec = new MsgpackCodec();
        Assert.False(codec.TryDecode(input, immutable: true, out _, out var kept));
        Assert.False(codec.TryDecode(input, immutable: false, out _, out var copied));
        Assert.Equal(copied, kept);
        Assert.Contains("invalid UTF-8 in a msgpack string", kept, StringComparison.Ordinal);
    }

    [Fact]
    public void A_codec_that_predates_the_flag_decodes_immutable_input_as_any_other()
    {
        ICodec codec = new StringCodec();
        var input = Encoding.UTF8.GetBytes(Long);
        Assert.True(codec.TryDecode(input, immutable: true, out var value, out _));
        Array.Fill(input, (byte)'z');
        Assert.Equal(Long, value.AsString());
    }
}
