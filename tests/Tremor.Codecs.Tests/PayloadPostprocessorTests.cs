using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Tremor.Pdk;
using static Tremor.Codecs.Tests.ProcessorHarness;

namespace Tremor.Codecs.Tests;

/// <summary>Postprocessors that cut one event into several payloads, join several into one, or keep a stream across events.</summary>
public sealed class PayloadPostprocessorTests
{
    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    private static CarriedRange R(long first, long last) => new(first, last);

    [Fact]
    public void Gelf_chunking_cuts_an_event_into_datagrams_the_gelf_preprocessor_puts_back_together_in_any_order()
    {
        var big = Utf8(new string('x', 20_000));
        var (payloads, failures) = Chain([Utf8("{\"a\":1}"), big, []], end: true, Post("gelf-chunking", ("chunk-size", 1000L)));
        Assert.Empty(failures);
        // 20000 bytes in chunks of 988 (1000 less the 12-byte header): 21 datagrams, each carrying event 1.
        Assert.Equal(1 + 21 + 1, payloads.Count);
        Assert.All(payloads, p => Assert.InRange(p.Bytes.Length, 12, 1000));
        Assert.Equal(21, payloads.Count(p => p.Carries == R(1, 1)));
        Assert.All(payloads, p => Assert.Equal([0x1e, 0x0f], p.Bytes[..2]));
        var ids = payloads.Select(p => BinaryPrimitives.ReadUInt64BigEndian(p.Bytes.AsSpan(2))).Distinct().Count();
        Assert.Equal(3, ids);

        var shuffled = payloads.Select(p => p.Bytes).Reverse().ToList();
        var messages = Run(Pre("gelf-chunking"), shuffled);
        Assert.Equal(3, messages.Count);
        Assert.Contains(messages, m => m.AsSpan().SequenceEqual(big));
        Assert.Contains(messages, m => Text(m) == "{\"a\":1}");
        Assert.Contains(messages, m => m.Length == 0);
    }

    [Fact]
    public void Gelf_chunking_fails_an_event_that_needs_more_than_128_chunks_and_sends_nothing_of_it()
    {
        var (payloads, failures) = Chain([Utf8("ok"), new byte[129], Utf8("after")], end: true, Post("gelf-chunking", ("chunk-size", 13L)));
        var (events, reason) = Assert.Single(failures);
        Assert.Equal(R(1, 1), events);
        Assert.Contains("needs 129 GELF chunks of chunk-size 13; GELF allows 128", reason, StringComparison.Ordinal);
        // One data byte per chunk: "ok" and "after" go, nothing of the refused event.
        Assert.Equal("okafter", string.Concat(payloads.Select(p => Text(p.Bytes[12..]))));
        Assert.Equal(0, payloads.Count(p => p.Carries == R(1, 1)));
        Assert.Equal(["ok", "after"], Run(Pre("gelf-chunking"), payloads.Select(p => p.Bytes)).Select(Text));
    }

    [Fact]
    public void Gelf_chunking_refuses_a_chunk_size_with_no_room_for_data_and_unknown_keys()
    {
        Assert.Contains("chunk-size", PostConfigError("gelf-chunking", ("chunk-size", 12L)).Message, StringComparison.Ordinal);
        Assert.Contains("chunk_size", PostConfigError("gelf-chunking", ("chunk_size", 100L)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_joins_events_with_its_separator_and_separate_splits_them_again()
    {
        var events = Enumerable.Range(0, 7).Select(i => Utf8($"{{\"n\":{i}}}")).ToList();
        var (payloads, failures) = Chain(events, end: true, Post("collect", ("max-events", 3L), ("separator", "\n")));
        Assert.Empty(failures);
        Assert.Equal([R(0, 2), R(3, 5), R(6, 6)], payloads.Select(p => p.Carries));
        Assert.Equal("{\"n\":0}\n{\"n\":1}\n{\"n\":2}", Text(payloads[0].Bytes));
        var split = Run(Pre("separate"), payloads.Select(p => p.Bytes.Concat("\n"u8.ToArray()).ToArray()));
        Assert.Equal(events, split);
    }

    [Fact]
    public void Collect_keeps_payloads_within_max_bytes_and_sends_a_larger_event_alone()
    {
        var (payloads, _) = Chain([Utf8("aaaa"), Utf8("bbbb"), Utf8("cccc"), Utf8(new string('z', 25)), Utf8("dd")], end: true,
            Post("collect", ("max-bytes", 10L), ("separator", ",")));
        Assert.Equal(["aaaa,bbbb", "cccc", new string('z', 25), "dd"], payloads.Select(p => Text(p.Bytes)));
        Assert.Equal([R(0, 1), R(2, 2), R(3, 3), R(4, 4)], payloads.Select(p => p.Carries));
    }

    [Fact]
    public void Collect_without_limits_holds_everything_until_the_stream_ends()
    {
        var (held, _) = Chain([Utf8("a"), Utf8("b")], end: false, Post("collect"));
        Assert.Empty(held);
        var (payloads, _) = Chain([Utf8("a"), Utf8("b")], end: true, Post("collect"));
        Assert.Equal(("ab", R(0, 1)), (Text(Assert.Single(payloads).Bytes), payloads[0].Carries));
    }

    [Fact]
    public void Collect_lets_go_once_max_wait_passed_since_its_first_event()
    {
        var now = TimeSpan.FromSeconds(100);
        var chain = new PayloadChain([(Post("collect", ("max-wait", "50ms"), ("separator", "|")), "collect")], () => now);
        var output = new ChainOutput();
        Assert.Null(chain.FlushDueIn());
        chain.Process(Utf8("x"), 0, 0, output);
        now += TimeSpan.FromMilliseconds(30);
        chain.Process(Utf8("y"), 1, 0, output);
        Assert.Empty(output.Payloads);
        Assert.Equal(TimeSpan.FromMilliseconds(20), chain.FlushDueIn());
        Assert.Equal(0, chain.HeldFrom);
        chain.Flush(endOfStream: false, output);
        Assert.Empty(output.Payloads); // not due yet
        now += TimeSpan.FromMilliseconds(20);
        chain.Flush(endOfStream: false, output);
        var payload = Assert.Single(output.Payloads);
        Assert.Equal("x|y", Encoding.UTF8.GetString(output.Bytes.Span.Slice(payload.Start, payload.Length)));
        Assert.Equal(R(0, 1), payload.Carries);
        Assert.Equal(long.MaxValue, chain.HeldFrom);
        Assert.Null(chain.FlushDueIn());
    }

    [Fact]
    public void Collect_and_chunk_refuse_bad_limits_naming_the_key()
    {
        Assert.Contains("max-events", PostConfigError("collect", ("max-events", -1L)).Message, StringComparison.Ordinal);
        Assert.Contains("max-wait", PostConfigError("collect", ("max-wait", "0s")).Message, StringComparison.Ordinal);
        Assert.Contains("separator byte must be 0-255", PostConfigError("collect", ("separator", 300L)).Message, StringComparison.Ordinal);
        Assert.Contains("max_bytes", PostConfigError("collect", ("max_bytes", 10L)).Message, StringComparison.Ordinal);
        Assert.Contains("max-bytes", PostConfigError("chunk").Message, StringComparison.Ordinal);
        Assert.Contains("max-bytes", PostConfigError("chunk", ("max-bytes", 0L)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chunk_merges_small_events_up_to_max_bytes_as_tremor_does_and_fails_a_larger_one()
    {
        var (payloads, failures) = Chain([Utf8("aaa"), Utf8("bbb"), Utf8("ccc"), Utf8("dd"), Utf8(new string('x', 11)), Utf8("eeeee"), Utf8("fffff")], end: true,
            Post("chunk", ("max-bytes", 10L)));
        // 3+3+3 fits, "dd" would make 11: the nine go; "dd" waits. "eeeee" joins it; "fffff" would pass 10: they go.
        Assert.Equal(["aaabbbccc", "ddeeeee", "fffff"], payloads.Select(p => Text(p.Bytes)));
        Assert.Equal([R(0, 2), R(3, 5), R(6, 6)], payloads.Select(p => p.Carries));
        var (events, reason) = Assert.Single(failures);
        Assert.Equal(R(4, 4), events);
        Assert.Contains("payload of 11 bytes exceeds max-bytes 10", reason, StringComparison.Ordinal);
        // An exact fit goes at once.
        var (exact, _) = Chain([Utf8("aaaaa"), Utf8("bbbbb")], end: false, Post("chunk", ("max-bytes", 10L)));
        Assert.Equal(("aaaaabbbbb", R(0, 1)), (Text(Assert.Single(exact).Bytes), exact[0].Carries));
    }

    [Fact]
    public void Payloads_through_several_stages_carry_the_events_of_what_made_them()
    {
        // separate (one payload per event) → collect two → GELF chunks of 4 data bytes.
        var (payloads, failures) = Chain([Utf8("abc"), Utf8("de"), Utf8("f")], end: true,
            Post("separate"), Post("collect", ("max-events", 2L)), Post("gelf-chunking", ("chunk-size", 16L)));
        Assert.Empty(failures);
        // "abc\nde\n" is 7 bytes: two chunks carrying events 0 and 1; "f\n" at the end: one chunk carrying event 2.
        Assert.Equal([R(0, 1), R(0, 1), R(2, 2)], payloads.Select(p => p.Carries));
        Assert.Equal("abc\nde\nf\n", string.Concat(Run(Pre("gelf-chunking"), payloads.Select(p => p.Bytes)).Select(Text)));
    }

    [Fact]
    public void A_stage_refusing_what_an_earlier_stage_collected_fails_every_event_in_it()
    {
        var (payloads, failures) = Chain([Utf8("aa"), Utf8("bb"), Utf8("c")], end: true,
            Post("collect", ("max-events", 2L)), Post("chunk", ("max-bytes", 3L)));
        Assert.Equal(R(0, 1), Assert.Single(failures).Events);
        Assert.Equal(("c", R(2, 2)), (Text(Assert.Single(payloads).Bytes), payloads[0].Carries));
    }

    public static TheoryData<string> StreamFormats => ["gzip", "zlib", "snappy", "lz4", "zstd", "br"];

    [Theory]
    [MemberData(nameof(StreamFormats))]
    public void Streaming_compress_makes_one_stream_whose_every_event_decompresses_on_arrival(string format)
    {
        var events = Enumerable.Range(0, 200).Select(i => Utf8($"{{\"n\":{i},\"host\":\"web-{i % 7}\",\"msg\":\"request served\"}}\n")).ToList();
        var (payloads, failures) = Chain(events, end: true, Post("streaming-compress", ("algorithm", format)));
        Assert.Empty(failures);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => R(i, i)), payloads.Take(200).Select(p => p.Carries));
        Assert.All(payloads.Skip(200), p => Assert.True(p.Carries.IsEmpty)); // the trailer, at the end of the stream

        // Payload by payload: each gives exactly its event (the compressor flushed at the event's end).
        var pre = Pre("streaming-decompress", ("format", format));
        var output = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < 200; i++)
        {
            output.Clear();
            Assert.True(pre.TryProcess(payloads[i].Bytes, output, out var error), error);
            Assert.Equal(events[i], output.SelectMany(o => o.ToArray()).ToArray());
        }

        // The whole stream cut anywhere (a file or TCP read) decompresses to the events back to back.
        var stream = payloads.SelectMany(p => p.Bytes).ToArray();
        var random = new Random(7);
        var pieces = new List<byte[]>();
        for (var at = 0; at < stream.Length;)
        {
            var n = Math.Min(stream.Length - at, random.Next(1, 40));
            pieces.Add(stream[at..(at + n)]);
            at += n;
        }
        var joined = Run(Pre("streaming-decompress", ("algorithm", format)), pieces).SelectMany(b => b).ToArray();
        Assert.Equal(events.SelectMany(e => e).ToArray(), joined);
        // With its trailer the stream is a complete one that the format's own decoder reads (decompress reads one
        // whole compressed payload per chunk with the libraries' stream decoders).
        Assert.Equal(events.SelectMany(e => e).ToArray(), Assert.Single(Run(Pre("decompress", ("format", format)), [stream])));

        // One stream beats one compressed payload per event on small, similar events.
        var (single, _) = Chain(events, end: true, Post("compress", ("format", format)));
        Assert.True(stream.Length < single.Sum(p => p.Bytes.Length), $"{format}: stream {stream.Length} bytes, per event {single.Sum(p => p.Bytes.Length)}");
    }

    [Theory]
    [MemberData(nameof(StreamFormats))]
    public void Mutated_compressed_streams_are_errors_never_exceptions(string format)
    {
        var events = Enumerable.Range(0, 50).Select(i => Utf8($"{{\"n\":{i}}}\n")).ToList();
        var (payloads, _) = Chain(events, end: true, Post("streaming-compress", ("algorithm", format)));
        var stream = payloads.SelectMany(p => p.Bytes).ToArray();
        var random = new Random(18);
        for (var round = 0; round < 300; round++)
        {
            var input = stream.ToArray();
            for (var k = random.Next(1, 4); k > 0; k--) input[random.Next(input.Length)] = (byte)random.Next(256);
            if (round % 5 == 0) input = input[..random.Next(input.Length)];
            var pre = Pre("streaming-decompress", ("format", format));
            var output = new List<ReadOnlyMemory<byte>>();
            for (var at = 0; at < input.Length; at += 16)
            {
                var chunk = input.AsMemory(at, Math.Min(16, input.Length - at));
                if (!pre.TryProcess(chunk, output, out var error)) Assert.False(string.IsNullOrEmpty(error));
            }
            pre.Finish(output);
        }
    }

    [Fact]
    public void A_gzip_stream_with_its_trailer_is_what_gunzip_reads()
    {
        var (payloads, _) = Chain([Utf8("one\n"), Utf8("two\n")], end: true, Post("streaming-compress", ("algorithm", "gzip")));
        using var gunzip = new GZipStream(new MemoryStream(payloads.SelectMany(p => p.Bytes).ToArray()), CompressionMode.Decompress);
        using var reader = new StreamReader(gunzip);
        Assert.Equal("one\ntwo\n", reader.ReadToEnd());
    }

    [Fact]
    public void Streaming_decompress_reports_a_corrupt_stream_drops_the_rest_and_starts_over_with_the_next_stream()
    {
        var pre = Pre("streaming-decompress", ("format", "zstd"));
        var errors = new List<string>();
        Run(pre, [Utf8("this is not zstd at all"), Utf8("nor this")], errors);
        Assert.Equal(2, errors.Count);
        Assert.Contains("corrupt zstd stream", errors[0], StringComparison.Ordinal);
        Assert.Contains("dropped after an earlier error", errors[1], StringComparison.Ordinal);
        // Run finished the stream: a new one (a new connection, the file again) is read.
        var (payloads, _) = Chain([Utf8("fresh")], end: true, Post("streaming-compress", ("algorithm", "zstd")));
        Assert.Equal("fresh", Text(Run(pre, payloads.Select(p => p.Bytes)).SelectMany(b => b).ToArray()));
    }

    [Fact]
    public void Streaming_compress_and_decompress_refuse_bad_config_naming_the_key()
    {
        Assert.Contains("algorithm: is required", PostConfigError("streaming-compress").Message, StringComparison.Ordinal);
        Assert.Contains("xz cannot be written", PostConfigError("streaming-compress", ("algorithm", "xz")).Message, StringComparison.Ordinal);
        Assert.Contains("unknown algorithm 'lzma'", PostConfigError("streaming-compress", ("algorithm", "lzma")).Message, StringComparison.Ordinal);
        Assert.Contains("not both", PostConfigError("streaming-compress", ("algorithm", "gzip"), ("format", "gzip")).Message, StringComparison.Ordinal);
        Assert.Contains("level: gzip levels are 0 to 9, found 12", PostConfigError("streaming-compress", ("algorithm", "gzip"), ("level", 12L)).Message, StringComparison.Ordinal);
        Assert.Contains("format: is required", PreConfigError("streaming-decompress").Message, StringComparison.Ordinal);
        Assert.Contains("unsupported stream format 'xz'", PreConfigError("streaming-decompress", ("format", "xz")).Message, StringComparison.Ordinal);
    }
}
