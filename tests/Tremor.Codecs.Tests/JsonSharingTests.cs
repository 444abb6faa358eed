using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>
/// What the JSON decoder shares between events to allocate less (cached short strings, one keys array per record
/// shape, long strings kept as UTF-8) must never show: values are the same as decoding afresh, caches stay bounded,
/// and changing one decoded record never changes another.
/// </summary>
public sealed class JsonSharingTests
{
    private readonly JsonCodec _codec = new();

    [Fact]
    public void The_string_caches_stay_bounded_whatever_the_number_of_distinct_keys_and_values()
    {
        for (var i = 0; i < 20_000; i += 100)
        {
            var json = "{" + string.Join(",", Enumerable.Range(i, 100).Select(k => $"\"key{k}\":\"value{k}\"")) + "}";
            var record = TestData.Decode(_codec, json).AsRecord()!;
            Assert.Equal(100, record.Count);
            Assert.Equal($"value{i + 99}", record[$"key{i + 99}"].AsString());
        }
        Assert.InRange(StringCache.Keys.Count, 1, StringCache.Slots);
        Assert.InRange(StringCache.Values.Count, 1, StringCache.Slots);
    }

    [Fact]
    public void Records_of_one_shape_share_nothing_a_change_can_reach()
    {
        var a = TestData.Decode(_codec, "{\"x\":1,\"y\":\"same\",\"z\":3}").AsRecord()!;
        var b = TestData.Decode(_codec, "{\"x\":1,\"y\":\"same\",\"z\":3}").AsRecord()!;
        Assert.True(a.Remove("x"));
        a.Append("w", 4);
        a.Set("y", "changed");
        b.Set("z", 30);
        Assert.Equal("{\"y\":\"changed\",\"z\":3,\"w\":4}", TestData.EncodeText(_codec, Value.From(a)));
        Assert.Equal("{\"x\":1,\"y\":\"same\",\"z\":30}", TestData.EncodeText(_codec, Value.From(b)));
        var c = TestData.Decode(_codec, "{\"x\":1,\"y\":\"same\",\"z\":3}").AsRecord()!;
        Assert.Equal(["x", "y", "z"], c.Select(f => f.Key));
    }

    [Fact]
    public void A_record_with_many_keys_and_no_duplicates_keeps_every_key_in_order()
    {
        // With a dozen keys or more the 64-bit duplicate filter usually fires; the exact check must then find none.
        for (var n = 10; n < 40; n++)
        {
            var json = "{" + string.Join(",", Enumerable.Range(0, n).Select(k => $"\"f{k}\":{k}")) + "}";
            var record = TestData.Decode(_codec, json).AsRecord()!;
            Assert.Equal(Enumerable.Range(0, n).Select(k => $"f{k}"), record.Select(f => f.Key));
            Assert.Equal(json, TestData.EncodeText(_codec, Value.From(record)));
        }
        var duplicate = "{" + string.Join(",", Enumerable.Range(0, 20).Select(k => $"\"f{k}\":{k}")) + ",\"f7\":\"last\"}";
        var withDuplicate = TestData.Decode(_codec, duplicate).AsRecord()!;
        Assert.Equal(20, withDuplicate.Count);
        Assert.Equal("f7", withDuplicate.KeyAt(7));
        Assert.Equal("last", withDuplicate["f7"].AsString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(500)]
    public void Strings_of_every_length_decode_compare_and_encode_like_plain_strings(int length)
    {
        Check(new string('a', length));
        Check(new string('a', length) + "é中😀");
    }

    private void Check(string text)
    {
        var json = "{\"s\":\"" + text + "\"}";
        var value = TestData.Decode(_codec, json);
        var s = value["s"];
        Assert.Equal(ValueKind.String, s.Kind);
        Assert.Equal(text, s.AsString());
        Assert.Same(s.AsString(), s.AsString());
        Assert.Equal(Value.From(text), s);
        Assert.Equal(s, Value.From(text));
        Assert.Equal(Value.From(text).GetHashCode(), s.GetHashCode());
        Assert.Equal(s, TestData.Decode(_codec, json)["s"]);
        Assert.Equal(json, TestData.EncodeText(_codec, value));
        Assert.Equal(json, value.ToString());
    }

    [Fact]
    public void Long_strings_with_escapes_and_multibyte_text_round_trip()
    {
        var literal = new string('x', 70) + "é中😀";
        var escaped = TestData.Decode(_codec, "[\"" + new string('x', 70) + "\\u00e9\\u4e2d\\ud83d\\ude00\\n\\\"\"]")[0];
        Assert.Equal(literal + "\n\"", escaped.AsString());
        var plain = TestData.Decode(_codec, "[\"" + literal + "\"]")[0];
        Assert.Equal(literal, plain.AsString());
        Assert.Equal("\"" + literal + "\"", TestData.EncodeText(_codec, plain));
        Assert.Equal("\"" + literal + "\\n\\\"\"", TestData.EncodeText(_codec, escaped));
    }

    [Fact]
    public void Strings_kept_as_utf8_encode_with_every_codec_like_plain_strings()
    {
        var text = new string('z', 100) + "é中😀";
        var decoded = TestData.Decode(_codec, "[\"" + text + "\"]")[0];
        ICodec[] codecs = [new StringCodec(), new BinaryCodec(), new MsgpackCodec(), _codec];
        foreach (var codec in codecs)
        {
            Assert.Equal(TestData.Encode(codec, Value.From(text)), TestData.Encode(codec, decoded));
        }
    }

    [Fact]
    public void Invalid_utf8_in_a_long_string_is_an_error_naming_the_byte()
    {
        byte[] data = [.. "[\""u8, .. Encoding.ASCII.GetBytes(new string('a', 80)), 0xc3, 0x28, .. "\"]"u8];
        var error = TestData.DecodeError(_codec, data);
        Assert.Contains("invalid UTF-8 in a JSON string at byte 82", error, StringComparison.Ordinal);
        Assert.Equal("[\"ok\"]", TestData.EncodeText(_codec, TestData.Decode(_codec, "[\"ok\"]")));
    }

    [Fact]
    public void A_cached_string_never_stands_in_for_different_bytes()
    {
        // Same length, same first and last bytes: the cache's cheap hash puts them in one slot.
        string[] values = ["abcdefgh-1-ijklmnop", "abcdefgh-2-ijklmnop", "abcd", "abce", "a", "b", ""];
        for (var round = 0; round < 3; round++)
        {
            foreach (var v in values) Assert.Equal(v, TestData.Decode(_codec, "[\"" + v + "\"]")[0].AsString());
        }
    }

    [Theory]
    [InlineData("999999999999999999", 999999999999999999L)]
    [InlineData("-999999999999999999", -999999999999999999L)]
    [InlineData("1234567890123456789", 1234567890123456789L)]
    [InlineData("-1234567890123456789", -1234567890123456789L)]
    [InlineData("0", 0L)]
    [InlineData("-7", -7L)]
    public void Integers_around_the_short_path_limit_decode_exactly(string json, long expected)
    {
        var value = TestData.Decode(_codec, "[" + json + "]")[0];
        Assert.Equal(ValueKind.I64, value.Kind);
        Assert.Equal(expected, value.RawI64);
    }

    [Fact]
    public void Records_of_one_shape_encode_the_same_every_time_and_after_a_change()
    {
        const string Json = "{\"a\\\"b\":1,\"é\":{\"x\":[1,{\"y\":null}]},\"ctl\\u0001\":\"v\"}";
        var first = TestData.Decode(_codec, Json);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(Json, TestData.EncodeText(_codec, first));
            Assert.Equal(Json, TestData.EncodeText(_codec, TestData.Decode(_codec, Json)));
        }
        var changed = first.AsRecord()!;
        changed.Append("new", 7);
        Assert.Equal(Json[..^1] + ",\"new\":7}", TestData.EncodeText(_codec, first));
        Assert.True(changed.Remove("a\"b"));
        Assert.Equal("{\"é\":{\"x\":[1,{\"y\":null}]},\"ctl\\u0001\":\"v\",\"new\":7}", TestData.EncodeText(_codec, first));
        var data = TestData.Lines(TestData.Json);
        for (var round = 0; round < 3; round++)
        {
            foreach (var line in data) Assert.Equal(Encoding.UTF8.GetString(line), TestData.EncodeText(_codec, TestData.Decode(_codec, line)));
        }
    }

    [Theory]
    [InlineData("a\"b", "\"a\\\"b\"")]
    [InlineData("back\\slash", "\"back\\\\slash\"")]
    [InlineData("tab\there", "\"tab\\there\"")]
    [InlineData("del\u007f", "\"del\u007f\"")]
    [InlineData("é", "\"é\"")]
    [InlineData("~ !", "\"~ !\"")]
    public void Short_strings_that_need_escaping_or_transcoding_take_the_general_path(string text, string expected)
    {
        Assert.Equal(expected, TestData.EncodeText(_codec, text));
        Assert.Equal(text, TestData.Decode(_codec, expected).AsString());
    }

    [Fact]
    public void A_record_with_very_many_keys_decodes_and_a_repeated_key_keeps_its_last_value()
    {
        // Far past the pairwise duplicate check: the set-based one keeps this linear.
        var keys = Enumerable.Range(0, 20_000).Select(i => $"\"k{i}\":{i}");
        var json = "{" + string.Join(",", keys) + ",\"k7\":-1}";
        var codec = new JsonCodec();

        Assert.True(codec.TryDecode(System.Text.Encoding.UTF8.GetBytes(json), out var value, out var error), error);

        Assert.Equal(20_000, value.AsRecord()!.Count);
        Assert.Equal(-1, value["k7"].RawI64);
        Assert.Equal(19_999, value["k19999"].RawI64);
    }
}
