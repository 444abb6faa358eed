using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>
/// The per-thread cache of pre-encoded record keys the json and msgpack encoders share: built only for a keys array
/// seen twice in a row, bounded, and one per format, so a shape encoded by both codecs is never written in the other's
/// format.
/// </summary>
public sealed class EncodedKeysTests
{
    [Fact]
    public void A_keys_array_is_encoded_the_second_time_in_a_row_and_found_from_then_on()
    {
        string[] keys = ["a", "bc"];
        Assert.Null(EncodedKeys<Bracketed>.For(keys));
        var built = EncodedKeys<Bracketed>.For(keys);
        Assert.NotNull(built);
        Assert.Equal("[0:a][1:bc]", Encoding.UTF8.GetString(built.Bytes));
        Assert.Equal([5, 11], built.Ends);
        Assert.Same(built, EncodedKeys<Bracketed>.For(keys));
        // An equal array that is not the same instance is another shape: keys are matched by reference.
        Assert.Null(EncodedKeys<Bracketed>.For(["a", "bc"]));
    }

    [Fact]
    public void A_stream_of_ever_new_shapes_builds_nothing_and_old_entries_give_way_round_robin()
    {
        for (var i = 0; i < 100; i++) Assert.Null(EncodedKeys<Bracketed>.For([$"k{i}"]));
        var shapes = Enumerable.Range(0, 5).Select(i => new[] { $"s{i}" }).ToArray();
        foreach (var shape in shapes)
        {
            Assert.Null(EncodedKeys<Bracketed>.For(shape));
            Assert.NotNull(EncodedKeys<Bracketed>.For(shape));
        }
        // Four entries: the fifth shape took the first one's place, the others are still there.
        foreach (var shape in shapes[1..]) Assert.Same(shape, EncodedKeys<Bracketed>.For(shape)!.Keys);
        Assert.Null(EncodedKeys<Bracketed>.For(shapes[0]));
    }

    [Fact]
    public void Records_of_one_shape_encoded_by_json_and_msgpack_on_one_thread_keep_each_codecs_format()
    {
        var json = new JsonCodec();
        var msgpack = new MsgpackCodec();
        const string Text = "{\"host\":\"a\",\"level\":3,\"tags\":{\"x\":true}}";
        var expectedPacked = TestData.Encode(msgpack, TestData.Decode(json, Text));
        for (var i = 0; i < 4; i++)
        {
            var value = TestData.Decode(json, Text);
            Assert.Equal(Text, TestData.EncodeText(json, value));
            Assert.Equal(expectedPacked, TestData.Encode(msgpack, value));
            Assert.Equal(Text, TestData.EncodeText(json, TestData.Decode(msgpack, expectedPacked)));
        }
    }

    /// <summary>A format whose bytes a test can read: <c>[index:key]</c>.</summary>
    private readonly struct Bracketed : IKeyFormat
    {
        public static void WriteKey(ArrayBufferWriter<byte> buffer, string key, int index) =>
            buffer.Write(Encoding.UTF8.GetBytes($"[{index}:{key}]"));
    }
}
