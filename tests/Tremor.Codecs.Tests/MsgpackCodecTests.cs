using MessagePack;
using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class MsgpackCodecTests
{
    private readonly MsgpackCodec _codec = new();

    [Fact]
    public void Benchmark_records_decode_to_the_same_values_as_their_json_form()
    {
        var json = TestData.Lines(TestData.Json);
        var base64Lines = TestData.Lines(TestData.MsgpackBase64Lines);
        Assert.Equal(json.Count, base64Lines.Count);
        var base64 = new Base64Preprocessor();
        for (var i = 0; i < json.Count; i++)
        {
            var chunks = new List<ReadOnlyMemory<byte>>();
            Assert.True(base64.TryProcess(base64Lines[i], chunks, out var error), error);
            var packed = Assert.Single(chunks);
            Assert.True(_codec.TryDecode(packed, out var fromMsgpack, out error), error);
            var fromJson = TestData.Decode(new JsonCodec(), json[i]);
            Assert.Equal(fromJson, fromMsgpack);

            var encoded = TestData.Encode(_codec, fromMsgpack);
            Assert.Equal(fromMsgpack, TestData.Decode(_codec, encoded));
        }
    }

    [Fact]
    public void Every_kind_of_value_round_trips()
    {
        var value = TestData.EveryKind();
        value.AsRecord()!.Append("bytes", Value.From(new byte[] { 0, 1, 255 }));
        var decoded = TestData.Decode(_codec, TestData.Encode(_codec, value));
        Assert.Equal(value, decoded);
        Assert.Equal(ValueKind.Bytes, decoded["bytes"].Kind);
        Assert.Equal(ValueKind.U64, decoded["u64"].Kind);
        Assert.True(double.IsNegative(TestData.Decode(_codec, TestData.Encode(_codec, -0.0)).RawF64));
    }

    [Fact]
    public void Every_header_width_is_written_byte_for_byte_as_messagepacks_own_writer_writes_it()
    {
        long[] integers = [0, 127, 128, 255, 256, 65535, 65536, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue,
            -1, -32, -33, -128, -129, short.MinValue, short.MinValue - 1, int.MinValue, (long)int.MinValue - 1, long.MinValue];
        int[] lengths = [0, 1, 31, 32, 255, 256, 65535, 65536];
        var strings = lengths.SelectMany(n => new[] { new string('a', n), new string('é', n / 2), new string('a', Math.Max(0, n - 1)) + "\ud800" }).ToList();
        var values = new List<Value>();
        values.AddRange(integers.Select(Value.From));
        values.Add(Value.From(ulong.MaxValue));
        values.AddRange(strings.Select(s => Value.From(s)));
        values.AddRange(lengths.Select(n => Value.FromUtf8(System.Text.Encoding.UTF8.GetBytes(new string('x', n)))));
        values.AddRange(lengths.Select(n => Value.From(new byte[n])));
        foreach (var n in new[] { 0, 15, 16, 65535, 65536 })
        {
            values.Add(Value.From(Enumerable.Repeat(Value.Null, n).ToList()));
            var record = new ValueRecord();
            for (var i = 0; i < Math.Min(n, 300); i++) record.Append($"key{i}", Value.From(i));
            values.Add(Value.From(record));
        }
        values.Add(Value.From(1.25));
        values.Add(Value.True);

        foreach (var value in values)
        {
            var expected = new ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(expected);
            WriteReference(ref writer, value);
            writer.Flush();
            Assert.Equal(expected.WrittenSpan.ToArray(), TestData.Encode(_codec, value));
        }
    }

    private static void WriteReference(ref MessagePackWriter writer, Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null: writer.WriteNil(); break;
            case ValueKind.Bool: writer.Write(value.AsBool()); break;
            case ValueKind.I64: writer.Write(value.RawI64); break;
            case ValueKind.U64: writer.Write(unchecked((ulong)value.RawI64)); break;
            case ValueKind.F64: writer.Write(value.RawF64); break;
            case ValueKind.String: writer.Write(value.AsString()); break;
            case ValueKind.Bytes: writer.Write(value.AsBytes().AsSpan()); break;
            case ValueKind.Array:
                writer.WriteArrayHeader(value.AsArray()!.Count);
                foreach (var item in value.AsArray()!) WriteReference(ref writer, item);
                break;
            case ValueKind.Record:
                var record = value.AsRecord()!;
                writer.WriteMapHeader(record.Count);
                for (var i = 0; i < record.Count; i++)
                {
                    writer.Write(record.KeySpan[i]);
                    WriteReference(ref writer, record.ValueSpan[i]);
                }
                break;
        }
    }

    [Fact]
    public void Float32_and_all_integer_widths_decode()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(6);
        writer.Write(1.5f);
        writer.WriteInt8(-5);
        writer.WriteUInt16(60000);
        writer.WriteInt32(-70000);
        writer.WriteUInt64(ulong.MaxValue);
        writer.WriteInt64(long.MinValue);
        writer.Flush();
        var value = TestData.Decode(_codec, buffer.WrittenSpan.ToArray());
        Assert.Equal("[1.5,-5,60000,-70000,18446744073709551615,-9223372036854775808]", value.ToString());
        Assert.Equal(ValueKind.U64, value[4].Kind);
    }

    [Fact]
    public void Non_string_keys_become_their_json_text_and_duplicates_keep_the_last()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(4);
        writer.Write(1);
        writer.Write("one");
        writer.WriteArrayHeader(2);
        writer.Write(true);
        writer.WriteNil();
        writer.Write("list");
        writer.Write("a");
        writer.Write(1);
        writer.Write("a");
        writer.Write(2);
        writer.Flush();
        var record = TestData.Decode(_codec, buffer.WrittenSpan.ToArray()).AsRecord()!;
        Assert.Equal(3, record.Count);
        Assert.Equal(Value.From("one"), record["1"]);
        Assert.Equal(Value.From("list"), record["[true,null]"]);
        Assert.Equal(Value.From(2L), record["a"]);
    }

    [Fact]
    public void Truncated_input_is_an_error_at_every_length()
    {
        var packed = TestData.Encode(_codec, TestData.EveryKind());
        for (var length = 0; length < packed.Length; length++)
        {
            var error = TestData.DecodeError(_codec, packed[..length]);
            Assert.StartsWith("invalid msgpack at byte ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Trailing_bytes_are_an_error()
    {
        byte[] data = [0x01, 0x02, 0x03];
        Assert.Equal("invalid msgpack at byte 1: 2 trailing bytes after the value", TestData.DecodeError(_codec, data));
    }

    [Fact]
    public void Extension_types_are_refused_with_their_type_code_and_offset()
    {
        // [1, fixext1 type 5]
        byte[] data = [0x92, 0x01, 0xd4, 0x05, 0x00];
        var error = TestData.DecodeError(_codec, data);
        Assert.Equal("invalid msgpack at byte 2: extension type 5 (1 bytes) is not supported", error);
    }

    [Fact]
    public void The_never_used_type_code_is_an_error()
    {
        byte[] data = [0x91, 0xc1];
        Assert.Equal("invalid msgpack at byte 1: 0xc1 is not a valid type code", TestData.DecodeError(_codec, data));
    }

    [Fact]
    public void Invalid_utf8_in_strings_and_keys_is_an_error_naming_the_byte()
    {
        // fixstr of 3: 'a', 0xff, 'b'
        byte[] value = [0xa3, 0x61, 0xff, 0x62];
        Assert.Equal("invalid UTF-8 in a msgpack string at byte 2 (0xff)", TestData.DecodeError(_codec, value));
        // {"a\xfe": 1}
        byte[] key = [0x81, 0xa2, 0x61, 0xfe, 0x01];
        Assert.Equal("invalid UTF-8 in a msgpack string at byte 3 (0xfe)", TestData.DecodeError(_codec, key));
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_an_error()
    {
        var depth = MsgpackCodec.MaxDepth;
        var ok = Enumerable.Repeat((byte)0x91, depth).Append((byte)0x01).ToArray();
        Assert.Equal(ValueKind.Array, TestData.Decode(_codec, ok).Kind);
        var tooDeep = Enumerable.Repeat((byte)0x91, depth + 1).Append((byte)0x01).ToArray();
        Assert.Contains($"byte {depth}: nesting deeper than {depth}", TestData.DecodeError(_codec, tooDeep), StringComparison.Ordinal);
    }

    [Fact]
    public void An_array_header_claiming_more_elements_than_bytes_is_an_error_not_a_huge_allocation()
    {
        byte[] data = [0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01];
        Assert.StartsWith("invalid msgpack at byte ", TestData.DecodeError(_codec, data), StringComparison.Ordinal);
    }

    [Fact]
    public void A_map_header_claiming_more_fields_than_bytes_is_an_error_naming_the_count_and_the_bytes_left()
    {
        byte[] data = [0x91, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01];
        Assert.Equal("invalid msgpack at byte 1 of 7: a map of 2147483647 entries cannot fit in the 1 bytes left (truncated or corrupt input)",
            TestData.DecodeError(_codec, data));
    }

    [Fact]
    public void Maps_of_one_shape_share_nothing_a_change_can_reach_and_encode_the_same_every_time()
    {
        var packed = Pack(new Dictionary<string, object> { ["x"] = 1, ["y"] = "same", ["z"] = 3 });
        var a = TestData.Decode(_codec, packed).AsRecord()!;
        var b = TestData.Decode(_codec, packed).AsRecord()!;
        Assert.True(a.Remove("x"));
        a.Append("w", 4);
        a.Set("y", "changed");
        b.Set("z", 30);
        Assert.Equal("{\"y\":\"changed\",\"z\":3,\"w\":4}", Value.From(a).ToString());
        Assert.Equal("{\"x\":1,\"y\":\"same\",\"z\":30}", Value.From(b).ToString());
        // Encoded from the shape's keys once they are cached, and from the record's own keys after a change.
        for (var i = 0; i < 4; i++) Assert.Equal(packed, TestData.Encode(_codec, TestData.Decode(_codec, packed)));
        Assert.Equal(Value.From(a), TestData.Decode(_codec, TestData.Encode(_codec, Value.From(a))));
        Assert.Equal(["x", "y", "z"], TestData.Decode(_codec, packed).AsRecord()!.Select(f => f.Key));
    }

    [Fact]
    public void A_repeated_key_keeps_its_last_value_every_time_the_shape_is_seen()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(3);
        writer.Write("a");
        writer.Write(1);
        writer.Write("b");
        writer.Write(2);
        writer.Write("a");
        writer.Write(3);
        writer.Flush();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("{\"a\":3,\"b\":2}", TestData.Decode(_codec, buffer.WrittenSpan.ToArray()).ToString());
        }
    }

    [Fact]
    public void Long_strings_decode_compare_and_encode_like_plain_strings()
    {
        var text = new string('z', 100) + "é中😀";
        var packed = Pack(new Dictionary<string, object> { ["message"] = text, ["short"] = "s" });
        var decoded = TestData.Decode(_codec, packed);
        Assert.Equal(Value.From(text), decoded["message"]);
        Assert.Equal(text, decoded["message"].AsString());
        Assert.Equal(packed, TestData.Encode(_codec, decoded));
        Assert.Equal("{\"message\":\"" + text + "\",\"short\":\"s\"}", TestData.EncodeText(new JsonCodec(), decoded));
    }

    [Fact]
    public void Invalid_utf8_in_a_long_string_is_an_error_naming_the_byte()
    {
        // ["aaa...a\xc3(" ] as str8 of 82 bytes: array header 1 byte, str8 header 2 bytes, the bad byte at 80 in the string.
        byte[] data = [0x91, 0xd9, 82, .. Enumerable.Repeat((byte)'a', 80), 0xc3, 0x28];
        Assert.Equal("invalid UTF-8 in a msgpack string at byte 83 (0xc3)", TestData.DecodeError(_codec, data));
    }

    [Fact]
    public void A_decode_that_fails_inside_nested_maps_leaves_the_next_one_whole()
    {
        // {"outer": {"inner": 1, "bad": <0xc1>}}
        byte[] bad = [0x81, 0xa5, .. "outer"u8, 0x82, 0xa5, .. "inner"u8, 0x01, 0xa3, .. "bad"u8, 0xc1];
        Assert.Equal("invalid msgpack at byte 19: 0xc1 is not a valid type code", TestData.DecodeError(_codec, bad));
        var packed = Pack(new Dictionary<string, object> { ["k"] = new Dictionary<string, object> { ["v"] = 1 }, ["after"] = true });
        Assert.Equal("{\"k\":{\"v\":1},\"after\":true}", TestData.Decode(_codec, packed).ToString());
    }

    private static byte[] Pack(Dictionary<string, object> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, fields);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();

        static void Write(ref MessagePackWriter writer, object value)
        {
            switch (value)
            {
                case Dictionary<string, object> map:
                    writer.WriteMapHeader(map.Count);
                    foreach (var (key, field) in map)
                    {
                        writer.Write(key);
                        Write(ref writer, field);
                    }
                    break;
                case string text:
                    writer.Write(text);
                    break;
                case bool flag:
                    writer.Write(flag);
                    break;
                default:
                    writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }
    }
}
