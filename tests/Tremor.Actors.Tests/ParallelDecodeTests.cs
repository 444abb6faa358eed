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
        var helpers = new DecodeHelpers(1);
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
        var twoThreads = Outcome(new SourceDecoder("src", 1, transactional: false, Json(), [Pre("separate")], Json(), new DecodeHelpers(1)), batches);

        Assert.Equal(alone, twoThreads);
        Assert.Equal(3000, alone.Count);
        Assert.Contains(alone, l => l.StartsWith("error", StringComparison.Ordinal) && l.Contains("frame=11", StringComparison.Ordinal));
    }

    [Fact]
    public void A_source_finds_no_helper_free_while_another_holds_the_runtimes_only_one_and_decodes_alone()
    {
        var helpers = new DecodeHelpers(1);
        Assert.True(helpers.TryTake());
        Assert.False(helpers.TryTake());
        var decoder = new SourceDecoder("src", 1, transactional: false, new JsonCodec(), [], new JsonCodec(), helpers);
        var batch = new SourceBatch(128);
        for (var i = 0; i < 128; i++) batch.Add(Encoding.UTF8.GetBytes("{\"n\":" + i + "}"));
        var events = new List<Event>();

        decoder.Decode(batch, events, []);

        Assert.Equal(Enumerable.Range(0, 128).Select(i => (long)i), events.Select(e => e.Data["n"].RawI64));
        Assert.Equal(1, helpers.Running);
        helpers.Return();
        Assert.Equal(0, helpers.Running);
    }
}
