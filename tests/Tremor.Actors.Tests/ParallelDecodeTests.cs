using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class ParallelDecodeTests
{
    [Fact]
    public void Decoding_large_batches_on_two_threads_keeps_every_event_in_order_and_every_error_in_place()
    {
        var decoder = new SourceDecoder("src", 1, transactional: false, new JsonCodec(), [], new JsonCodec());
        var events = new List<Event>();
        var errors = new List<Event>();
        var next = 0;
        for (var round = 0; round < 200; round++)
        {
            var batch = new SourceBatch(128 + round % 7);
            var expected = new List<long>();
            var expectedErrors = 0;
            while (!batch.IsFull)
            {
                var i = next++;
                if (i % 37 == 5)
                {
                    batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i));
                    expectedErrors++;
                }
                else
                {
                    batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i + ",\"s\":\"" + new string('x', i % 100) + "\"}"));
                    expected.Add(i);
                }
            }
            events.Clear();
            errors.Clear();
            decoder.Decode(batch, events, errors);
            Assert.Equal(expected, events.Select(e => e.Data["n"].RawI64));
            Assert.Equal(expectedErrors, errors.Count);
            Assert.All(events, e => Assert.Equal((int)(e.Data["n"].RawI64 % 100), e.Data["s"].AsString()!.Length));
            Assert.All(errors, e => Assert.StartsWith("codec: invalid JSON", e.Data["error"].AsString(), StringComparison.Ordinal));
        }
    }

    private static ICodec Json() => BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null));

    private static (IPreprocessorFactory, PluginConfig) Pre(string name) => (BuiltinCodecs.FindPreprocessor(name)!, new PluginConfig("pre", null));

    /// <summary>What a decoder made of the batches: every event's id and data, every error's id and message, in order.</summary>
    private static List<string> Outcome(SourceDecoder decoder, IEnumerable<SourceBatch> batches)
    {
        var seen = new List<string>();
        foreach (var batch in batches)
        {
            var events = new List<Event>();
            var errors = new List<Event>();
            decoder.Decode(batch, events, errors);
            seen.AddRange(events.Select(e => $"event {e.Id} {e.Data}"));
            seen.AddRange(errors.Select(e => $"error {e.Id} {e.Data["error"]} frame={e.Data["frame"]}"));
        }
        return seen;
    }

    [Fact]
    public void Base64_lines_decoded_on_two_threads_give_the_same_events_and_errors_in_the_same_order_as_on_one()
    {
        var batches = new List<SourceBatch>();
        var next = 0;
        for (var round = 0; round < 40; round++)
        {
            var batch = new SourceBatch(128);
            while (!batch.IsFull)
            {
                var i = next++;
                var json = i % 23 == 7 ? "{\"n\":" + i : "{\"n\":" + i + ",\"s\":\"" + new string('y', i % 90) + "\"}";
                var line = Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
                if (i % 31 == 3) line = "!" + line; // not base64: the preprocessor's error
                batch.Add(Encoding.UTF8.GetBytes(line));
            }
            batches.Add(batch);
        }

        var alone = Outcome(new SourceDecoder("src", 1, transactional: false, Json(), [Pre("base64")]), batches);
        var helpers = new DecodeHelpers(2);
        var twoThreads = Outcome(new SourceDecoder("src", 1, transactional: false, Json(), [Pre("base64")], Json(), helpers), batches);

        Assert.Equal(alone, twoThreads);
        Assert.Contains(alone, l => l.Contains("preprocessor 'base64'", StringComparison.Ordinal));
        Assert.Contains(alone, l => l.Contains("codec: invalid JSON", StringComparison.Ordinal));
        Assert.Equal(40 * 128, alone.Count);
    }

    [Fact]
    public void Lines_split_from_large_chunks_across_chunk_boundaries_are_decoded_on_two_threads_as_on_one()
    {
        // Each 4 KiB chunk holds many lines and ends inside one: the separate preprocessor carries the rest into the
        // next chunk, so the frames of one batch come from its own buffer as well as from the chunk.
        var text = new StringBuilder();
        for (var i = 0; i < 3000; i++) text.Append(i % 97 == 11 ? "{oops}\n" : "{\"n\":" + i + ",\"pad\":\"" + new string('z', i % 70) + "\"}\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var batches = new List<SourceBatch>();
        for (var from = 0; from < bytes.Length; from += 4096 * 4)
        {
            var batch = new SourceBatch(4);
            for (var c = from; c < Math.Min(bytes.Length, from + 4096 * 4); c += 4096) batch.Add(bytes.AsMemory(c, Math.Min(4096, bytes.Length - c)).ToArray());
            batches.Add(batch);
        }

        var alone = Outcome(new SourceDecoder("src", 1, transactional: false, Json(), [Pre("separate")]), batches);
        var twoThreads = Outcome(new SourceDecoder("src", 1, transactional: false, Json(), [Pre("separate")], Json(), new DecodeHelpers(2)), batches);

        Assert.Equal(alone, twoThreads);
        Assert.Equal(3000, alone.Count);
        Assert.Contains(alone, l => l.StartsWith("error", StringComparison.Ordinal) && l.Contains("frame=11", StringComparison.Ordinal));
    }

    [Fact]
    public void A_source_decodes_alone_on_its_own_thread_while_the_other_decode_threads_fill_the_cores()
    {
        // Two cores: another source is decoding on its own thread and its helper runs, so this source takes none.
        var helpers = new DecodeHelpers(2);
        helpers.Enter();
        Assert.True(helpers.TryTake());
        var threads = new ConcurrentDictionary<int, int>();
        var decoder = new SourceDecoder("src", 1, transactional: false, new ThreadRecordingCodec(threads), [], new ThreadRecordingCodec(threads), helpers);
        var batch = new SourceBatch(128);
        for (var i = 0; i < 128; i++) batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i + "}"));
        var events = new List<Event>();

        decoder.Decode(batch, events, []);

        Assert.Equal(Enumerable.Range(0, 128).Select(i => (long)i), events.Select(e => e.Data["n"].RawI64));
        Assert.Equal([Environment.CurrentManagedThreadId], threads.Keys);
        Assert.Equal(2, helpers.Decoding);
        helpers.Return();
        helpers.Leave();
        Assert.Equal(0, helpers.Decoding);
    }

    [Fact]
    public void Two_sources_decoding_at_once_on_two_cores_get_no_helper_and_one_alone_gets_one()
    {
        var helpers = new DecodeHelpers(2);
        helpers.Enter();
        helpers.Enter();
        var ran = new ManualResetEventSlim();
        Assert.False(helpers.TryHelp(new SignallingWork(ran, null)));
        Assert.False(ran.IsSet);

        // The second source finished its batch: a core is free, the first one's helper starts on another thread.
        helpers.Leave();
        var release = new ManualResetEventSlim();
        var helperThread = 0;
        Assert.True(helpers.TryHelp(new SignallingWork(ran, release, () => helperThread = Environment.CurrentManagedThreadId)));
        Assert.True(ran.Wait(TimeSpan.FromSeconds(10)), "the helper never ran");
        Assert.NotEqual(Environment.CurrentManagedThreadId, helperThread);
        Assert.Equal(2, helpers.Decoding);
        Assert.False(helpers.TryHelp(new SignallingWork(new ManualResetEventSlim(), null)));

        release.Set();
        Assert.True(SpinWait.SpinUntil(() => helpers.Decoding == 1, TimeSpan.FromSeconds(10)), "the helper's place was not given back");
        helpers.Leave();
        Assert.Equal(0, helpers.Decoding);
    }

    [Fact]
    public void A_codec_that_throws_on_the_helper_thread_throws_on_the_sources_own_thread()
    {
        // The source's own codec waits (bounded) until the helper's has been called, so the helper surely claimed inputs.
        var helperCalled = new ManualResetEventSlim();
        var decoder = new SourceDecoder("src", 1, transactional: false, new WaitingCodec(helperCalled), [], new ThrowingCodec(helperCalled), new DecodeHelpers(2));
        var batch = new SourceBatch(128);
        for (var i = 0; i < 128; i++) batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i + "}"));

        var e = Assert.Throws<InvalidOperationException>(() => decoder.Decode(batch, [], []));
        Assert.Equal("codec bug", e.Message);
    }

    /// <summary>A helper's work that says when it runs and, given <c>release</c>, holds its place until released.</summary>
    private sealed class SignallingWork(ManualResetEventSlim ran, ManualResetEventSlim? release, Action? onRun = null) : IDecodeWork
    {
        public void Help()
        {
            onRun?.Invoke();
            ran.Set();
            release?.Wait(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>JSON, noting which threads decode.</summary>
    private sealed class ThreadRecordingCodec(ConcurrentDictionary<int, int> threads) : ICodec
    {
        private readonly JsonCodec _json = new();

        public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
        {
            threads[Environment.CurrentManagedThreadId] = 0;
            return _json.TryDecode(data, out value, out error);
        }

        public void Encode(in Value value, IBufferWriter<byte> output) => _json.Encode(value, output);
    }

    /// <summary>JSON, waiting on its first input until the helper's codec was called (bounded).</summary>
    private sealed class WaitingCodec(ManualResetEventSlim helperCalled) : ICodec
    {
        private readonly JsonCodec _json = new();

        public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
        {
            helperCalled.Wait(TimeSpan.FromSeconds(10));
            return _json.TryDecode(data, out value, out error);
        }

        public void Encode(in Value value, IBufferWriter<byte> output) => _json.Encode(value, output);
    }

    /// <summary>A codec with a bug: it throws.</summary>
    private sealed class ThrowingCodec(ManualResetEventSlim called) : ICodec
    {
        public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
        {
            called.Set();
            throw new InvalidOperationException("codec bug");
        }

        public void Encode(in Value value, IBufferWriter<byte> output) => throw new InvalidOperationException("codec bug");
    }

    private static SourceDecoder Framed(IPreprocessorFactory preprocessor) =>
        new("src", 1, transactional: false, new JsonCodec(), [(preprocessor, new PluginConfig("pre", null))], new JsonCodec());

    [Fact]
    public void Lines_of_two_connections_cut_by_separate_are_decoded_on_two_threads_in_order_with_errors_in_place()
    {
        var decoder = Framed(BuiltinCodecs.FindPreprocessor("separate")!);
        var batch = new SourceBatch(64);
        var text = new StringBuilder();
        for (var i = 0; i < 400; i++) text.Append(i % 50 == 7 ? "{\"n\":" + i + "\n" : "{\"n\":" + i + ",\"s\":\"" + new string('x', i % 90) + "\"}\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        // Two connections, each sending the same lines in 1000-byte reads: most lines are slices of a read, the ones
        // that straddle two reads are put together by the preprocessor.
        for (var offset = 0; offset < bytes.Length; offset += 1000)
        {
            var piece = bytes.AsMemory(offset, Math.Min(1000, bytes.Length - offset));
            batch.Add(piece, streamId: 1);
            batch.Add(piece, streamId: 2);
        }
        var events = new List<Event>();
        var errors = new List<Event>();

        decoder.Decode(batch, events, errors);

        var good = Enumerable.Range(0, 400).Where(i => i % 50 != 7).Select(i => (long)i).ToList();
        Assert.Equal(good, events.Where(e => e.StreamId == 1).Select(e => e.Data["n"].RawI64));
        Assert.Equal(good, events.Where(e => e.StreamId == 2).Select(e => e.Data["n"].RawI64));
        Assert.All(events, e => Assert.Equal((int)(e.Data["n"].RawI64 % 90), e.Data["s"].AsString()!.Length));
        // Each bad line once per connection, as its own bytes and its line number, in the order they were sent.
        var bad = Enumerable.Range(0, 400).Where(i => i % 50 == 7).ToList();
        Assert.Equal(bad.Select(i => "{\"n\":" + i).Concat(bad.Select(i => "{\"n\":" + i)).Order(StringComparer.Ordinal), errors.Select(e => Encoding.UTF8.GetString(e.Data["raw"].AsBytes()!)).Order(StringComparer.Ordinal));
        Assert.Equal(bad.Select(i => (long)i), errors.Where(e => e.StreamId == 1).Select(e => e.Data["frame"].RawI64));
        // Event ids are numbered in the order the events come out.
        Assert.Equal(events.Select(e => e.Id.Sequence).Order(), events.Select(e => e.Id.Sequence));
    }

    [Fact]
    public void Frames_a_preprocessor_keeps_in_its_own_reused_buffer_are_copied_before_its_next_call()
    {
        // The Pdk lets a preprocessor's output live in its own memory only until its next call; decoding after the
        // whole pull was framed must not see the next chunk's bytes in an earlier frame.
        var decoder = Framed(new ReusingBufferPreprocessor.Factory());
        var batch = new SourceBatch(128);
        for (var i = 0; i < 128; i++) batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i + "}"), streamId: 1);
        var events = new List<Event>();
        var errors = new List<Event>();

        decoder.Decode(batch, events, errors);

        Assert.Empty(errors);
        Assert.Equal(Enumerable.Range(0, 128).Select(i => (long)i), events.Select(e => e.Data["n"].RawI64));
    }

    [Fact]
    public void Lines_cut_from_a_buffer_an_earlier_preprocessor_reuses_are_copied_and_lines_cut_from_the_chunk_are_not_mixed_up()
    {
        // separate after a stage that reuses its buffer: its lines are slices of that buffer, not of the chunk, so
        // they must be copied before the next chunk overwrites it; the same lines straight from the chunk decode in place.
        var reusing = new ReusingBufferPreprocessor.Factory();
        var separate = BuiltinCodecs.FindPreprocessor("separate")!;
        var chained = new SourceDecoder("src", 1, transactional: false, new JsonCodec(), [(reusing, new PluginConfig("pre", null)), (separate, new PluginConfig("pre", null))], new JsonCodec());
        var direct = Framed(separate);
        var batch = new SourceBatch(128);
        // Each chunk ends a line the one before began, holds a whole line, and begins the next.
        batch.Add("\"x"u8.ToArray(), streamId: 1);
        for (var i = 0; i < 100; i++) batch.Add(Encoding.UTF8.GetBytes(i + "\"\n{\"n\":" + i + "}\n\"x"), streamId: 1);
        batch.Add("end\"\n"u8.ToArray(), streamId: 1);
        var expected = Enumerable.Range(0, 100).SelectMany(i => new[] { "x" + i, "n" + i }).Append("xend").ToList();

        foreach (var decoder in new[] { chained, direct })
        {
            var events = new List<Event>();
            var errors = new List<Event>();
            decoder.Decode(batch, events, errors);

            Assert.Empty(errors);
            Assert.Equal(expected, events.Select(e => e.Data.AsString() ?? "n" + e.Data["n"].RawI64));
        }
    }

    /// <summary>Copies each chunk into one buffer it overwrites on every call, as the Pdk allows.</summary>
    private sealed class ReusingBufferPreprocessor : IPreprocessor
    {
        private readonly byte[] _buffer = new byte[256];

        // Used as the first of two stages, its output is sliced by the next one.

        public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
        {
            Array.Clear(_buffer);
            data.Span.CopyTo(_buffer);
            output.Add(_buffer.AsMemory(0, data.Length));
            error = null;
            return true;
        }

        public void Finish(List<ReadOnlyMemory<byte>> output)
        {
        }

        public sealed class Factory : IPreprocessorFactory
        {
            public string Name => "reusing";

            public IPreprocessor Create(PluginConfig config) => new ReusingBufferPreprocessor();
        }
    }
}
