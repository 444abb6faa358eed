using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class SourceDecoderTests
{
    private static SourceDecoder LinesOfJson() => new(
        "t::src",
        sourceId: 1,
        transactional: false,
        BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null)),
        [(BuiltinCodecs.FindPreprocessor("separate")!, new PluginConfig("pre", null))]);

    private static Value Peer(string host)
    {
        var record = new ValueRecord();
        record.Set("peer", host);
        return Value.From(record);
    }

    [Fact]
    public void Streams_keep_their_own_partial_lines_and_what_they_flush_at_the_end_keeps_their_metadata()
    {
        var decoder = LinesOfJson();
        var batch = new SourceBatch(16);
        // Two connections interleaved, each writing half a line at a time.
        batch.Add(Encoding.UTF8.GetBytes("{\"n\":1"), streamId: 1, meta: Peer("a"));
        batch.Add(Encoding.UTF8.GetBytes("{\"n\":2"), streamId: 2, meta: Peer("b"));
        batch.Add(Encoding.UTF8.GetBytes("1}\n{\"n\":1"), streamId: 1, meta: Peer("a"));
        batch.Add(Encoding.UTF8.GetBytes("2}\nnot json\n"), streamId: 2, meta: Peer("b"));
        batch.Add(Encoding.UTF8.GetBytes("2}"), streamId: 1, meta: Peer("a"));
        batch.EndStream(1);
        var events = new List<Event>();
        var errors = new List<Event>();

        decoder.Decode(batch, events, errors);

        Assert.Equal([(11L, "a"), (22L, "b"), (12L, "a")], events.Select(e => (N(e), e.Meta["peer"].AsString())).ToList());
        Assert.Equal([1UL, 2UL, 1UL], events.Select(e => e.StreamId).ToList());
        // The bad line's error event says which peer sent it.
        var error = Assert.Single(errors);
        Assert.Equal("b", error.Meta["peer"].AsString());
        Assert.Contains("codec", error.Data["error"].AsString());
    }

    [Fact]
    public void Compressed_chunks_are_decompressed_and_corrupt_ones_go_to_err_with_the_format_named()
    {
        var config = new ValueRecord();
        config.Set("format", "autodetect");
        var decoder = new SourceDecoder(
            "t::src",
            sourceId: 1,
            transactional: false,
            BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null)),
            [(BuiltinCodecs.FindPreprocessor("decompress")!, new PluginConfig("pre", config))]);
        using var gzipped = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write("{\"n\":7}"u8);
        }
        var good = gzipped.ToArray();
        var corrupt = good.ToArray();
        corrupt[^6] ^= 0xff; // inside the CRC/length trailer
        var batch = new SourceBatch(4);
        batch.Add(good, streamId: 1);
        batch.Add(corrupt, streamId: 2);
        var events = new List<Event>();
        var errors = new List<Event>();

        decoder.Decode(batch, events, errors);

        Assert.Equal(7, N(Assert.Single(events)));
        var error = Assert.Single(errors).Data["error"].AsString();
        Assert.StartsWith("preprocessor 'decompress': ", error);
        Assert.Contains("gzip", error);
    }

    [Fact]
    public void An_error_event_carries_the_bytes_that_failed_and_where_they_were()
    {
        var framed = LinesOfJson();
        var batch = new SourceBatch(4);
        batch.Add(Encoding.UTF8.GetBytes("{\"n\":1}\nnot json\n{\"n\":"), streamId: 3);
        batch.Add(Encoding.UTF8.GetBytes("3}\n{\"n\"\n"), streamId: 3);
        var events = new List<Event>();
        var errors = new List<Event>();

        framed.Decode(batch, events, errors);

        Assert.Equal([1L, 3L], events.Select(N).ToList());
        // Lines 1 and 3 (from 0) of stream 3, each with its own bytes; line 2 spanned the two chunks.
        Assert.Equal(["not json", "{\"n\""], errors.Select(e => Encoding.UTF8.GetString(e.Data["raw"].AsBytes()!)).ToList());
        Assert.Equal([1L, 3L], errors.Select(e => e.Data["frame"].TryGetI64(out var f) ? f : -1).ToList());
        Assert.All(errors, e => Assert.True(e.Data["stream_id"].TryGetI64(out var s) && s == 3));
        Assert.All(errors, e => Assert.True(e.Data["pull_id"].TryGetI64(out _)));

        // Without preprocessors a chunk is the frame: its bytes, copied (the source reuses its buffer).
        var unframed = new SourceDecoder("t::src", 1, transactional: false, BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null)), []);
        var buffer = Encoding.UTF8.GetBytes("{oops");
        var single = new SourceBatch(1);
        single.Add(buffer);
        errors.Clear();
        unframed.Decode(single, events, errors);
        buffer[0] = (byte)'X';
        Assert.Equal("{oops", Encoding.UTF8.GetString(Assert.Single(errors).Data["raw"].AsBytes()!));
    }

    [Fact]
    public void Abandoning_the_streams_drops_a_partial_line_instead_of_decoding_it()
    {
        var decoder = LinesOfJson();
        var batch = new SourceBatch(2);
        batch.Add(Encoding.UTF8.GetBytes("{\"n\":1}\n{\"n\""), streamId: 0);
        var events = new List<Event>();
        var errors = new List<Event>();
        decoder.Decode(batch, events, errors);

        var dropped = decoder.Abandon();

        Assert.Equal([new SourceDecoder.UnfinishedFrame(0, 4)], dropped);
        // Nothing is left to flush at the end either.
        decoder.FinishAll(events, errors);
        Assert.Equal([1L], events.Select(N).ToList());
        Assert.Empty(errors);
    }

    private static long N(Event e) => e.Data["n"].TryGetI64(out var n) ? n : -1;
}

public sealed class SinkEncoderTests
{
    [Fact]
    public void The_ingest_ns_postprocessor_writes_each_events_own_ingest_time()
    {
        var encoder = new SinkEncoder(
            BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null)),
            [(BuiltinCodecs.FindPostprocessor("ingest-ns")!, new PluginConfig("post", null))]);
        var events = new[] { 1_700_000_000_000_000_001UL, 1_700_000_000_000_000_002UL }
            .Select((ns, i) => new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i), IngestNs = ns, Data = Value.From((long)i) })
            .ToArray();

        var batch = encoder.Encode(events, []);

        Assert.Equal(events.Select(e => e.IngestNs), batch.Events.Select(e => System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(e.Payload.Span)));
        Assert.Equal("1", Encoding.UTF8.GetString(batch.Events[1].Payload.Span[8..]));
    }

    [Fact]
    public void A_compressed_stream_per_sink_stream_each_decompresses_to_its_own_events_when_two_streams_interleave()
    {
        var encoder = new SinkEncoder(
            BuiltinCodecs.FindCodec("string")!.Create(new PluginConfig("codec", null)),
            [
                (BuiltinCodecs.FindPostprocessor("separate")!, new PluginConfig("post", null)),
                (BuiltinCodecs.FindPostprocessor("streaming-compress")!, new PluginConfig("post", Gzip())),
            ],
            streamMeta: ["tcp_server", "stream"]);
        static Event Line(int i)
        {
            var meta = new ValueRecord();
            var inner = new ValueRecord();
            inner.Append("stream", Value.From((ulong)(i % 2)));
            meta.Append("tcp_server", Value.From(inner));
            return new Event { Id = new EventId(1, (ulong)(i % 2), (ulong)i, (ulong)i), IngestNs = 1, Data = Value.From($"line {i} of stream {i % 2}"), Meta = Value.From(meta) };
        }
        var events = Enumerable.Range(0, 40).Select(Line).ToArray();
        var failed = new List<(Event Event, long Weight, string Reason)>();
        var settled = new List<(Event Event, long Weight, string? Error)>();

        var payloads = encoder.Stage(events, null, failed, settled).Events.ToList();
        // Stream 0 ends (its peer finished sending): its trailer goes out; stream 1 gets its trailer at the drain.
        payloads.AddRange(encoder.EndStream(Value.From(0UL), settled).Events);
        Assert.Equal(1, encoder.Streams);
        // A reply for stream 0 after its end is a whole compressed stream of its own at once, and keeps no chain.
        events = [.. events, Line(40)];
        payloads.AddRange(encoder.Stage([events[^1]], null, failed, settled).Events);
        Assert.Equal(1, encoder.Streams);
        payloads.AddRange(encoder.Flush(endOfStream: true, settled).Events);

        Assert.Empty(failed);
        foreach (var stream in new[] { 0UL, 1UL })
        {
            // What a connection received is the payloads routed to it (by the meta of the event each goes with).
            var received = payloads.Where(p => p.Event.Meta["tcp_server"]["stream"].TryGetU64(out var s) && s == stream).SelectMany(p => p.Payload.ToArray()).ToArray();
            using var gunzip = new System.IO.Compression.GZipStream(new MemoryStream(received), System.IO.Compression.CompressionMode.Decompress);
            using var reader = new StreamReader(gunzip);
            var expected = events.Where(e => e.Id.StreamId == stream).Select(e => e.Data.AsString() + "\n");
            Assert.Equal(string.Concat(expected), reader.ReadToEnd());
        }
    }

    private static ValueRecord Gzip()
    {
        var config = new ValueRecord();
        config.Append("algorithm", "gzip");
        return config;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_event_the_codec_cannot_write_fails_alone_with_the_codecs_reason(bool withPostprocessor)
    {
        var encoder = new SinkEncoder(
            BuiltinCodecs.FindCodec("graphite")!.Create(new PluginConfig("codec", null)),
            withPostprocessor ? [(BuiltinCodecs.FindPostprocessor("separate")!, new PluginConfig("post", null))] : []);
        var good = new ValueRecord();
        good.Append("metric", "a.b");
        good.Append("value", 1);
        good.Append("timestamp", 2);
        var bad = new ValueRecord();
        bad.Append("metric", "a.b");
        bad.Append("value", Value.NewRecord());
        bad.Append("timestamp", 2);
        var events = new[] { Value.From(good), Value.From(bad), Value.From(good) }
            .Select((v, i) => new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i), IngestNs = 1, Data = v })
            .ToArray();
        var failed = new List<(Event Event, string Reason)>();

        var batch = encoder.Encode(events, failed);

        var (failedEvent, reason) = Assert.Single(failed);
        Assert.Same(events[1], failedEvent);
        Assert.Contains("codec 'graphite' cannot encode the event: value must be a number", reason, StringComparison.Ordinal);
        var separator = withPostprocessor ? "\n" : "";
        Assert.Equal(["a.b 1 2" + separator, "a.b 1 2" + separator], batch.Events.Select(e => Encoding.UTF8.GetString(e.Payload.Span)));
    }

    private static Value Metric(bool good)
    {
        var record = new ValueRecord();
        record.Append("metric", "a.b");
        record.Append("value", good ? Value.From(1) : Value.NewRecord());
        record.Append("timestamp", 2);
        return Value.From(record);
    }

    [Theory]
    [InlineData(100, 3, 28, 4, 2)]
    [InlineData(21, 2, 21, 3, 1)]
    [InlineData(20, 1, 7, 1, 1)]
    [InlineData(1, 1, 7, 1, 1)]
    public void A_coalesced_call_over_the_byte_bound_keeps_its_first_whole_batches_and_their_failures_only(int maxBytes, int parts, int bytes, int payloads, int failures)
    {
        var encoder = new SinkEncoder(BuiltinCodecs.FindCodec("graphite")!.Create(new PluginConfig("codec", null)), []);
        // Three batches of two: [good, refused], [good, good], [refused, good]; a good one is "a.b 1 2", 7 bytes.
        var events = new[] { true, false, true, true, false, true }
            .Select((good, i) => new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i), Data = Metric(good) })
            .ToArray();
        var failed = new List<(Event Event, string Reason)>();

        var batch = encoder.Encode(events, failed, [2, 4, 6], maxBytes, out var kept);

        Assert.Equal(parts, kept);
        Assert.Equal(bytes, batch.Bytes.Length);
        Assert.Equal(payloads, batch.Count);
        Assert.All(batch.Events, e => Assert.Equal("a.b 1 2", Encoding.UTF8.GetString(e.Payload.Span)));
        Assert.Equal(events.Where((e, i) => i is 1 or 4).Take(failures), failed.Select(f => f.Event));
    }
}
