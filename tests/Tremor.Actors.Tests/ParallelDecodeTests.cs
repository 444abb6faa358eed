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
}
