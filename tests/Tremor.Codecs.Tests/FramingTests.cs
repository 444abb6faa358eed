using System.Text;
using static Tremor.Codecs.Tests.ProcessorHarness;

namespace Tremor.Codecs.Tests;

public sealed class FramingTests
{
    private static readonly string[] _events = ["alpha", "", "b", "gamma delta epsilon", "{\"x\":1}"];

    private static byte[] Frame(string post, IEnumerable<string> events)
    {
        var postprocessor = Post(post);
        return events.SelectMany(e => Apply(postprocessor, Encoding.UTF8.GetBytes(e))).ToArray();
    }

    private static List<string> Texts(IEnumerable<byte[]> chunks) => chunks.Select(c => Encoding.UTF8.GetString(c)).ToList();

    [Fact]
    public void Length_prefixed_postprocessor_writes_a_big_endian_length_then_the_bytes()
    {
        Assert.Equal([0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c'], Apply(Post("length-prefixed"), "abc"u8));
        Assert.Equal([0, 0, 0, 0], Apply(Post("length-prefixed"), ""u8));
        Assert.Equal([0, 0, 1, 0], Apply(Post("length-prefixed"), new byte[256])[..4]);
    }

    [Fact]
    public void Textual_length_prefixed_postprocessor_writes_decimal_length_and_a_space()
    {
        Assert.Equal("3 abc", Encoding.ASCII.GetString(Apply(Post("textual-length-prefixed"), "abc"u8)));
        Assert.Equal("0 ", Encoding.ASCII.GetString(Apply(Post("textual-length-prefixed"), ""u8)));
        Assert.StartsWith("1234 ", Encoding.ASCII.GetString(Apply(Post("textual-length-prefixed"), new byte[1234])), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("length-prefixed")]
    [InlineData("textual-length-prefixed")]
    public void Several_frames_in_one_chunk_come_out_in_order(string name)
    {
        Assert.Equal(_events, Texts(Run(Pre(name), [Frame(name, _events)])));
    }

    [Theory]
    [InlineData("length-prefixed")]
    [InlineData("textual-length-prefixed")]
    public void Frames_are_the_same_when_the_stream_is_split_at_every_byte_boundary(string name)
    {
        var stream = Frame(name, _events);
        for (var i = 0; i <= stream.Length; i++)
        {
            Assert.Equal(_events, Texts(Run(Pre(name), [stream[..i], stream[i..]])));
            for (var j = i; j <= stream.Length; j++)
            {
                Assert.Equal(_events, Texts(Run(Pre(name), [stream[..i], stream[i..j], stream[j..]])));
            }
        }
    }

    [Theory]
    [InlineData("length-prefixed")]
    [InlineData("textual-length-prefixed")]
    public void Frames_survive_one_byte_chunks_and_large_frames(string name)
    {
        var random = new Random(7);
        var large = new byte[200_000];
        random.NextBytes(large);
        var post = Post(name);
        var stream = Apply(post, large).Concat(Apply(post, "tail"u8)).ToArray();
        var output = Run(Pre(name), stream.Select(b => new[] { b }));
        Assert.Equal(2, output.Count);
        Assert.Equal(large, output[0]);
        Assert.Equal("tail"u8.ToArray(), output[1]);
    }

    [Fact]
    public void A_frame_spanning_chunks_stays_valid_after_later_calls()
    {
        var pre = Pre("length-prefixed");
        var post = Post("length-prefixed");
        var stream = Enumerable.Range(0, 2000).SelectMany(i => Apply(post, BitConverter.GetBytes(i))).ToArray();
        var output = new List<ReadOnlyMemory<byte>>();
        for (var offset = 0; offset < stream.Length; offset += 7)
        {
            Assert.True(pre.TryProcess(stream.AsMemory(offset, Math.Min(7, stream.Length - offset)).ToArray(), output, out var error), error);
        }
        Assert.Equal(Enumerable.Range(0, 2000), output.Select(o => BitConverter.ToInt32(o.Span)));
    }

    [Theory]
    [InlineData("length-prefixed")]
    [InlineData("textual-length-prefixed")]
    public void An_oversize_frame_is_an_error_naming_the_limit_and_is_skipped(string name)
    {
        var stream = Frame(name, ["ok", new string('x', 100), "after"]);
        for (var split = 0; split <= stream.Length; split++)
        {
            var errors = new List<string>();
            var output = Run(Pre(name, ("max-length", 10L)), [stream[..split], stream[split..]], errors);
            Assert.Equal(["ok", "after"], Texts(output));
            Assert.Equal("frame of 100 bytes exceeds max-length 10; its bytes are skipped (raise max-length if frames this big are expected)", Assert.Single(errors));
        }
    }

    [Fact]
    public void A_frame_of_max_length_is_accepted()
    {
        Assert.Equal(["0123456789"], Texts(Run(Pre("length-prefixed", ("max-length", 10L)), [Frame("length-prefixed", ["0123456789"])])));
    }

    [Fact]
    public void Default_max_length_matches_separate()
    {
        var header = new byte[] { 0, 0x80, 0, 1 };
        Assert.Equal($"frame of {(8 * 1024 * 1024) + 1} bytes exceeds max-length {8 * 1024 * 1024}; its bytes are skipped (raise max-length if frames this big are expected)", Fail(Pre("length-prefixed"), header));
    }

    [Fact]
    public void A_frame_cut_off_by_the_end_of_the_stream_is_not_emitted()
    {
        var stream = Frame("length-prefixed", ["whole", "cut off"]);
        Assert.Equal(["whole"], Texts(Run(Pre("length-prefixed"), [stream[..^2]])));
    }

    [Theory]
    [InlineData("x5 hello", "", "invalid length prefix: expected a decimal length, found 'x' (0x78) (byte 0 of this chunk); the rest of this chunk is dropped")]
    [InlineData("5 hello 5 world", "hello", "invalid length prefix: expected a decimal length, found 0x20 (byte 7 of this chunk); the rest of this chunk is dropped")]
    [InlineData("5:hello", "", "invalid length prefix: expected a digit or a space after 5, found ':' (0x3a) (byte 1 of this chunk); the rest of this chunk is dropped")]
    [InlineData(" 5 hello", "", "invalid length prefix: expected a decimal length, found 0x20 (byte 0 of this chunk); the rest of this chunk is dropped")]
    [InlineData("2 ok-5 hello", "ok", "invalid length prefix: expected a decimal length, found '-' (0x2d) (byte 4 of this chunk); the rest of this chunk is dropped")]
    [InlineData("12345678901 x", "", "invalid length prefix: more than 10 digits (byte 10 of this chunk); the rest of this chunk is dropped")]
    public void A_malformed_textual_length_is_an_error_naming_the_byte(string input, string framesBefore, string expected)
    {
        var errors = new List<string>();
        var output = Run(Pre("textual-length-prefixed"), [Encoding.ASCII.GetBytes(input)], errors);
        Assert.Equal(expected, Assert.Single(errors));
        Assert.Equal(framesBefore.Length == 0 ? [] : [framesBefore], Texts(output));
    }

    [Fact]
    public void Textual_framing_starts_over_with_the_next_chunk_after_a_malformed_length()
    {
        var errors = new List<string>();
        var output = Run(Pre("textual-length-prefixed"), [Encoding.ASCII.GetBytes("3 abcgarbage"), Encoding.ASCII.GetBytes("2 ok")], errors);
        Assert.Equal(["abc", "ok"], Texts(output));
        Assert.Single(errors);
    }

    [Fact]
    public void Syslog_octet_counted_frames_split_as_rfc_5425_describes()
    {
        const string first = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed";
        const string second = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
        var wire = Encoding.ASCII.GetBytes($"{first.Length} {first}{second.Length} {second}");
        Assert.Equal([first, second], Texts(Run(Pre("textual-length-prefixed"), [wire[..40], wire[40..]])));
    }

    [Theory]
    [InlineData("length-prefixed", 0L)]
    [InlineData("length-prefixed", -1L)]
    [InlineData("textual-length-prefixed", -5L)]
    public void A_bad_max_length_is_a_config_error_naming_the_key(string name, long value)
    {
        var error = PreConfigError(name, ("max-length", value));
        Assert.Equal("flow.connectors.in.preprocessors[0].config.max-length", error.Path);
        Assert.Contains($"found {value}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_are_config_errors()
    {
        Assert.Equal("flow.connectors.in.preprocessors[0].config.max-lenght", PreConfigError("length-prefixed", ("max-lenght", 5L)).Path);
        Assert.Equal("flow.connectors.in.preprocessors[0].config.x", PostConfigError("length-prefixed", ("x", 1L)).Path);
        Assert.Equal("flow.connectors.in.preprocessors[0].config.x", PreConfigError("remove-empty", ("x", 1L)).Path);
    }

    [Fact]
    public void Remove_empty_drops_empty_chunks_only()
    {
        var output = Run(Pre("remove-empty"), [[], "a"u8.ToArray(), [], [], " "u8.ToArray(), []]);
        Assert.Equal(["a", " "], Texts(output));
    }

    [Fact]
    public void Remove_empty_after_length_prefixed_drops_empty_frames()
    {
        var framed = Run(Pre("length-prefixed"), [Frame("length-prefixed", _events)]);
        Assert.Equal(_events.Where(e => e.Length > 0), Texts(Run(Pre("remove-empty"), framed)));
    }

    [Fact]
    public void Chunk_passes_payloads_up_to_max_bytes_unchanged()
    {
        var chunk = Post("chunk", ("max-bytes", 4L));
        Assert.Equal("abcd"u8.ToArray(), Apply(chunk, "abcd"u8));
        Assert.Equal("ab"u8.ToArray(), Apply(chunk, "ab"u8));
        Assert.Equal([], Apply(chunk, ""u8));
    }

    [Fact]
    public void Chunk_fails_a_payload_over_max_bytes_with_both_sizes()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.False(Post("chunk", ("max-bytes", 4L)).TryProcess("abcde"u8, output, out var error));
        Assert.Equal("payload of 5 bytes exceeds max-bytes 4; event not sent (raise max-bytes if payloads this big are expected)", error);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Chunk_needs_a_positive_max_bytes()
    {
        Assert.Equal("flow.connectors.in.preprocessors[0].config.max-bytes: is required (an integer)", PostConfigError("chunk").Message);
        Assert.Contains("must be between 1 and", PostConfigError("chunk", ("max-bytes", 0L)).Message, StringComparison.Ordinal);
        Assert.Contains("found -3", PostConfigError("chunk", ("max-bytes", -3L)).Message, StringComparison.Ordinal);
    }
}
