using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using static Tremor.Codecs.Tests.ProcessorHarness;

namespace Tremor.Codecs.Tests;

public sealed class GelfAndBrotliTests
{
    private static byte[] Chunk(ulong id, int sequence, int count, string payload)
    {
        var bytes = new byte[12 + Encoding.UTF8.GetByteCount(payload)];
        bytes[0] = 0x1e;
        bytes[1] = 0x0f;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(2), id);
        bytes[10] = (byte)sequence;
        bytes[11] = (byte)count;
        Encoding.UTF8.GetBytes(payload, bytes.AsSpan(12));
        return bytes;
    }

    [Fact]
    public void Gelf_chunks_in_any_order_and_interleaved_reassemble_into_whole_messages()
    {
        var pre = Pre("gelf-chunking");
        var chunks = new[]
        {
            Chunk(7, 2, 3, "\"c\"}"), Chunk(9, 1, 2, "2}"), Chunk(7, 0, 3, "{\"a\":"), Chunk(9, 0, 2, "{\"b\":"), Chunk(7, 1, 3, "1,\"b\":"),
        };
        var messages = Run(pre, chunks).Select(Encoding.UTF8.GetString).ToList();
        Assert.Equal(["{\"b\":2}", "{\"a\":1,\"b\":\"c\"}"], messages);
    }

    [Fact]
    public void Plain_gelf_passes_through_and_a_single_chunk_is_its_payload()
    {
        var pre = Pre("gelf-chunking");
        var plain = Encoding.UTF8.GetBytes("{\"short_message\":\"hi\"}");
        Assert.Equal([plain, Encoding.UTF8.GetBytes("{}")], Run(pre, [plain, Chunk(1, 0, 1, "{}")]));
    }

    [Fact]
    public void Bad_gelf_chunks_are_errors_and_the_stream_goes_on()
    {
        var pre = Pre("gelf-chunking");
        Assert.Contains("not a GELF chunk", Fail(pre, [0x1f, 0x8b, 1, 2]), StringComparison.Ordinal);
        Assert.Contains("the sequence count must be 1 to 128", Fail(pre, Chunk(3, 4, 2, "x")), StringComparison.Ordinal);
        Assert.Contains("the sequence count must be 1 to 128", Fail(pre, Chunk(3, 0, 200, "x")), StringComparison.Ordinal);
        var errors = new List<string>();
        var output = Run(pre, [Chunk(5, 0, 2, "a"), Chunk(5, 0, 2, "a"), Chunk(6, 0, 2, "{\"ok\":"), Chunk(6, 1, 2, "1}")], errors);
        Assert.Contains("chunk 0 arrived twice; message dropped", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Equal("{\"ok\":1}", Encoding.UTF8.GetString(Assert.Single(output)));
    }

    [Fact]
    public void Gelf_message_not_complete_within_five_seconds_is_dropped()
    {
        var now = TimeSpan.Zero;
        var pre = new GelfChunkingPreprocessor(() => now);
        Assert.Empty(Run(pre, [Chunk(1, 0, 2, "{\"late\":")]));
        now = TimeSpan.FromSeconds(6);
        // The first half expired, so the second half starts a new message that never completes.
        Assert.Empty(Run(pre, [Chunk(1, 1, 2, "1}")]));
        now = TimeSpan.FromSeconds(7);
        Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(Assert.Single(Run(pre, [Chunk(2, 0, 2, "{\"x\":"), Chunk(2, 1, 2, "1}")]))));
    }

    [Fact]
    public void Brotli_round_trips_at_every_level_and_reads_what_the_bcl_stream_writes()
    {
        var data = TestData.Json[..20000];
        foreach (var level in new[] { 0L, 4L, 11L })
        {
            var compressed = Apply(Post("compress", ("format", "br"), ("level", level)), data);
            Assert.True(compressed.Length < data.Length);
            Assert.Equal(data, Assert.Single(Run(Pre("decompress", ("format", "br")), [compressed])));
        }
        using var written = new MemoryStream();
        using (var brotli = new BrotliStream(written, CompressionLevel.SmallestSize, leaveOpen: true)) brotli.Write(data);
        Assert.Equal(data, Assert.Single(Run(Pre("decompress", ("format", "br")), [written.ToArray()])));
        Assert.Empty(Assert.Single(Run(Pre("decompress", ("format", "br")), [Apply(Post("compress", ("format", "br")), [])])));
    }

    [Fact]
    public void Truncated_damaged_or_oversized_brotli_is_an_error_naming_the_format()
    {
        var compressed = Apply(Post("compress", ("format", "br")), TestData.Json[..20000]);
        Assert.StartsWith("corrupt br data", Fail(Pre("decompress", ("format", "br")), compressed[..(compressed.Length / 2)]), StringComparison.Ordinal);
        var damaged = compressed.ToArray();
        for (var i = 10; i < damaged.Length - 10; i += 3) damaged[i] ^= 0x5a;
        Assert.StartsWith("corrupt br data", Fail(Pre("decompress", ("format", "br")), damaged), StringComparison.Ordinal);
        var bomb = Apply(Post("compress", ("format", "br")), new byte[4 * 1024 * 1024]);
        Assert.Contains("decompresses to more than max-bytes 1048576", Fail(Pre("decompress", ("format", "br"), ("max-bytes", 1024L * 1024)), bomb), StringComparison.Ordinal);
        Assert.Contains("br levels are 0 to 11", PostConfigError("compress", ("format", "br"), ("level", 12L)).Message, StringComparison.Ordinal);
    }
}
