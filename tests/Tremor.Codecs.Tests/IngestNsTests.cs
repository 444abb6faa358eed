using System.Buffers.Binary;
using static Tremor.Codecs.Tests.ProcessorHarness;

namespace Tremor.Codecs.Tests;

public sealed class IngestNsTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Postprocessor_prefixes_the_time_in_big_endian_nanoseconds()
    {
        var at = DateTimeOffset.UnixEpoch.AddTicks(17_000_000_000_123_4567);
        var output = Apply(new IngestNsPostprocessor(new FixedClock(at)), "payload"u8);
        Assert.Equal(17_000_000_000_123_4567UL * 100, BinaryPrimitives.ReadUInt64BigEndian(output));
        Assert.Equal("payload"u8.ToArray(), output[8..]);
    }

    [Fact]
    public void The_system_clock_stamp_is_a_plausible_unix_time()
    {
        var before = (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var output = Apply(Post("ingest-ns"), "x"u8);
        var after = (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        Assert.InRange(BinaryPrimitives.ReadUInt64BigEndian(output), before, after);
    }

    [Fact]
    public void Round_trip_through_length_prefixed_framing_gives_back_the_payloads()
    {
        var stamp = Post("ingest-ns");
        var frame = Post("length-prefixed");
        var payloads = new[] { "first", "", "third event" };
        var wire = payloads.SelectMany(p => Apply(frame, Apply(stamp, System.Text.Encoding.UTF8.GetBytes(p)))).ToArray();
        var frames = Run(Pre("length-prefixed"), [wire[..11], wire[11..]]);
        var stripped = Run(Pre("ingest-ns"), frames);
        Assert.Equal(payloads, stripped.Select(s => System.Text.Encoding.UTF8.GetString(s)));
    }

    [Fact]
    public void A_chunk_shorter_than_the_prefix_is_an_error()
    {
        Assert.Equal("chunk of 7 bytes is too short for the 8-byte ingest-ns prefix; on a byte stream, frame it first (e.g. preprocessors = [\"length-prefixed\", \"ingest-ns\"])", Fail(Pre("ingest-ns"), new byte[7]));
    }

    [Fact]
    public void Both_take_no_options()
    {
        Assert.Equal("flow.connectors.in.preprocessors[0].config.mode", PreConfigError("ingest-ns", ("mode", "x")).Path);
        Assert.Equal("flow.connectors.in.preprocessors[0].config.mode", PostConfigError("ingest-ns", ("mode", "x")).Path);
    }
}
