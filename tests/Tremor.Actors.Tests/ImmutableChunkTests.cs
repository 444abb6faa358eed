using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// Chunks a source hands over with <see cref="SourceBatch.AddImmutable"/>: events keep their long strings where they
/// lie in the chunk. Chunks added with <see cref="SourceBatch.Add"/> (a buffer the source reuses), and frames a
/// preprocessor joined from two chunks (the decoder's own buffer, reused by the next pull), are copied: overwriting
/// them after the pull leaves every event as it was decoded.
/// </summary>
public sealed class ImmutableChunkTests
{
    private static string Text(int i) => $"line {i}: " + new string((char)('a' + i % 26), 80 + i % 50);

    private static string Json(int i) => $"{{\"n\":{i},\"about\":\"{Text(i)}\"}}";

    private static ICodec Codec() => BuiltinCodecs.FindCodec("json")!.Create(new PluginConfig("codec", null));

    private static (IPreprocessorFactory, PluginConfig) Separate() => (BuiltinCodecs.FindPreprocessor("separate")!, new PluginConfig("pre", null));

    private static bool Lies(Event e, byte[] buffer) =>
        e.Data["about"].TryGetUtf8(out var utf8) && utf8.Overlaps(buffer);

    private static void AssertDecoded(IEnumerable<Event> events, int from, int count)
    {
        Assert.Equal(Enumerable.Range(from, count).Select(i => (long)i), events.Select(e => e.Data["n"].RawI64));
        Assert.All(events, e => Assert.Equal(Text((int)e.Data["n"].RawI64), e.Data["about"].AsString()));
    }

    [Theory]
    [InlineData(8)] // decoded one by one on the actor's thread
    [InlineData(128)] // decoded by two threads
    public void Events_of_immutable_chunks_keep_their_long_strings_in_the_chunk(int chunks)
    {
        var decoder = new SourceDecoder("src", 1, transactional: false, Codec(), [], Codec(), new DecodeHelpers(2));
        var buffer = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, chunks).Select(Json)));
        var batch = new SourceBatch(chunks);
        var at = 0;
        for (var i = 0; i < chunks; i++)
        {
            var length = Encoding.UTF8.GetByteCount(Json(i));
            Assert.Equal(i, (int)batch.AddImmutable(buffer.AsMemory(at, length)));
            Assert.True(batch[i].IsImmutable);
            at += length;
        }
        var events = new List<Event>();

        decoder.Decode(batch, events, []);

        AssertDecoded(events, 0, chunks);
        Assert.All(events, e => Assert.True(Lies(e, buffer)));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    public void Events_of_a_buffer_the_source_reuses_are_copied_and_survive_the_next_read_into_it(int chunks)
    {
        var decoder = new SourceDecoder("src", 1, transactional: false, Codec(), [], Codec(), new DecodeHelpers(2));
        var buffer = new byte[64 * 1024];
        var kept = new List<Event>();
        for (var pull = 0; pull < 3; pull++)
        {
            // The source reads the next records into the same buffer, as a socket or file reader does.
            Array.Fill(buffer, (byte)'#');
            var batch = new SourceBatch(chunks);
            var at = 0;
            for (var i = pull * chunks; i < (pull + 1) * chunks; i++)
            {
                var length = Encoding.UTF8.GetBytes(Json(i), buffer.AsSpan(at));
                batch.Add(buffer.AsMemory(at, length));
                at += length;
            }
            var events = new List<Event>();
            decoder.Decode(batch, events, []);
            Assert.All(events, e => Assert.False(Lies(e, buffer)));
            kept.AddRange(events);
        }
        Array.Fill(buffer, (byte)'#');

        AssertDecoded(kept, 0, 3 * chunks);
    }

    [Theory]
    [InlineData(true)] // frames decoded by two threads (DecodeFramed)
    [InlineData(false)] // one thread, frame by frame
    public void Lines_cut_from_an_immutable_chunk_stay_in_it_and_a_line_joined_across_two_chunks_is_copied(bool twoThreads)
    {
        // Large immutable chunks cut into lines by separate: a line inside a chunk is decoded where it lies; a line
        // that starts in one chunk and ends in the next is joined in the decoder's frame buffer, which the next pull's
        // joined lines overwrite, so it must be copied out.
        var decoder = twoThreads
            ? new SourceDecoder("src", 1, transactional: false, Codec(), [Separate()], Codec(), new DecodeHelpers(2))
            : new SourceDecoder("src", 1, transactional: false, Codec(), [Separate()]);
        const int Lines = 600;
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, Lines).Select(i => Json(i) + "\n")));
        const int chunk = 4000;
        var events = new List<Event>();
        var joined = 0;
        for (var from = 0; from < text.Length; from += 4 * chunk)
        {
            var batch = new SourceBatch(4);
            for (var c = from; c < Math.Min(text.Length, from + 4 * chunk); c += chunk)
            {
                // Each chunk is a fresh array the source never touches again.
                batch.AddImmutable(text.AsMemory(c, Math.Min(chunk, text.Length - c)).ToArray());
            }
            var pulled = new List<Event>();
            decoder.Decode(batch, pulled, []);
            var arrays = Enumerable.Range(0, batch.Count).Select(i => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(batch[i].Data, out var s) ? s.Array! : null).ToList();
            foreach (var e in pulled)
            {
                if (!arrays.Any(a => Lies(e, a!))) joined++;
            }
            Assert.Contains(pulled, e => arrays.Any(a => Lies(e, a!)));
            events.AddRange(pulled);
        }

        AssertDecoded(events, 0, Lines);
        // One joined line per chunk boundary that falls inside a line.
        var boundaries = Enumerable.Range(1, (text.Length - 1) / chunk).Count(k => text[k * chunk - 1] != (byte)'\n');
        Assert.True(boundaries > 10);
        Assert.Equal(boundaries, joined);
    }
}
