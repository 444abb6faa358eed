using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class JsonCodecTests
{
    private readonly JsonCodec _codec = new();

    [Fact]
    public void Decodes_every_record_of_the_benchmark_data_and_round_trips_it()
    {
        var lines = TestData.Lines(TestData.Json);
        Assert.Equal(100, lines.Count);
        foreach (var line in lines)
        {
            var value = TestData.Decode(_codec, line);
            var record = value.AsRecord();
            Assert.NotNull(record);
            Assert.True(record.Count >= 10);
            Assert.Equal(ValueKind.String, value["guid"].Kind);
            Assert.Equal(ValueKind.I64, value["aint"].Kind);
            Assert.Equal(ValueKind.Bool, value["abool"].Kind);
            Assert.Equal(10, value["array"].AsArray()!.Count);

            var encoded = TestData.Encode(_codec, value);
            // The data is compact JSON with nothing to escape: our encoding reproduces it byte for byte.
            Assert.Equal(Encoding.UTF8.GetString(line), Encoding.UTF8.GetString(encoded));
            Assert.Equal(value, TestData.Decode(_codec, encoded));
        }
    }

    [Fact]
    public void Every_kind_of_value_round_trips_with_bytes_becoming_base64_strings()
    {
        var value = TestData.EveryKind();
        var decoded = TestData.Decode(_codec, TestData.Encode(_codec, value));
        Assert.Equal(value, decoded);
        Assert.Equal(ValueKind.U64, decoded["u64"].Kind);
        Assert.Equal(ValueKind.F64, decoded["f64"].Kind);

        var withBytes = new ValueRecord();
        withBytes.Append("b", Value.From(new byte[] { 0, 1, 2, 250, 255 }));
        Assert.Equal("{\"b\":\"AAEC+v8=\"}", TestData.EncodeText(_codec, Value.From(withBytes)));
    }

    [Fact]
    public void Unicode_escapes_and_surrogate_pairs_decode_to_the_same_string_as_literal_text()
    {
        var escaped = TestData.Decode(_codec, "\"\\u00e9\\u4e2d\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\"");
        Assert.Equal("é中😀\n\t\"\\/\b\f\r", escaped.AsString());
        var literal = TestData.Decode(_codec, "\"é中😀\"");
        Assert.Equal("é中😀", literal.AsString());
        Assert.Equal("\"é中😀\\n\\t\\\"\\\\/\\b\\f\\r\"", TestData.EncodeText(_codec, escaped));
        Assert.Equal("\"\\u0000\\u001f\"", TestData.EncodeText(_codec, "\u0000\u001f"));
    }

    [Theory]
    [InlineData("{\"a\":{\"b\":{\"c\":1},\"d\":2},\"e\":[{\"f\":3},{}],\"g\":{\"a\":{\"a\":[]}}}")]
    [InlineData("[{\"x\":[{\"y\":{\"z\":null}}]},[[{\"w\":\"v\"}]]]")]
    public void Nested_records_keep_their_keys_at_every_level(string json)
    {
        Assert.Equal(json, TestData.EncodeText(_codec, TestData.Decode(_codec, json)));
    }

    [Fact]
    public void Escaped_keys_are_the_same_keys_as_literal_ones()
    {
        var value = TestData.Decode(_codec, "{\"k\\u00e9y\":1,\"kéy\":2}");
        Assert.Equal(1, value.AsRecord()!.Count);
        Assert.Equal(Value.From(2L), value["kéy"]);
    }

    [Fact]
    public void Duplicate_keys_keep_the_last_value_at_the_first_position()
    {
        var value = TestData.Decode(_codec, "{\"a\":1,\"b\":2,\"a\":3}");
        var record = value.AsRecord()!;
        Assert.Equal(2, record.Count);
        Assert.Equal("a", record.KeyAt(0));
        Assert.Equal(Value.From(3L), record["a"]);
        Assert.Equal("{\"a\":3,\"b\":2}", TestData.EncodeText(_codec, value));
    }

    [Fact]
    public void Many_distinct_keys_are_all_kept()
    {
        var json = "{" + string.Join(",", Enumerable.Range(0, 300).Select(i => $"\"key{i}\":{i}")) + "}";
        var record = TestData.Decode(_codec, json).AsRecord()!;
        Assert.Equal(300, record.Count);
        for (var i = 0; i < 300; i++) Assert.Equal(Value.From((long)i), record[$"key{i}"]);
    }

    [Theory]
    [InlineData("9223372036854775807", ValueKind.I64, "9223372036854775807")]
    [InlineData("-9223372036854775808", ValueKind.I64, "-9223372036854775808")]
    [InlineData("9223372036854775808", ValueKind.U64, "9223372036854775808")]
    [InlineData("18446744073709551615", ValueKind.U64, "18446744073709551615")]
    [InlineData("18446744073709551616", ValueKind.F64, "1.8446744073709552E+19")]
    [InlineData("-0", ValueKind.I64, "0")]
    [InlineData("-0.0", ValueKind.F64, "-0.0")]
    [InlineData("1.0", ValueKind.F64, "1.0")]
    [InlineData("1e3", ValueKind.F64, "1000.0")]
    [InlineData("0.1", ValueKind.F64, "0.1")]
    [InlineData("1.5e-7", ValueKind.F64, "1.5E-07")]
    [InlineData("123456789.123456789", ValueKind.F64, "123456789.12345679")]
    public void Numbers_keep_their_kind_and_floats_round_trip(string json, ValueKind kind, string encoded)
    {
        var value = TestData.Decode(_codec, json);
        Assert.Equal(kind, value.Kind);
        var text = TestData.EncodeText(_codec, value);
        Assert.Equal(encoded, text);
        var again = TestData.Decode(_codec, text);
        Assert.Equal(value.Kind == ValueKind.F64 ? ValueKind.F64 : value.Kind, again.Kind);
        Assert.Equal(value, again);
        if (value.Kind == ValueKind.F64) Assert.Equal(BitConverter.DoubleToInt64Bits(value.RawF64), BitConverter.DoubleToInt64Bits(again.RawF64));
    }

    [Fact]
    public void Negative_zero_keeps_its_sign()
    {
        var value = TestData.Decode(_codec, "-0.0");
        Assert.True(double.IsNegative(value.RawF64));
        Assert.True(double.IsNegative(TestData.Decode(_codec, TestData.Encode(_codec, value)).RawF64));
    }

    [Fact]
    public void Random_doubles_round_trip_bit_for_bit()
    {
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var d = BitConverter.Int64BitsToDouble(random.NextInt64());
            if (!double.IsFinite(d)) continue;
            var again = TestData.Decode(_codec, TestData.Encode(_codec, Value.From(d)));
            Assert.Equal(ValueKind.F64, again.Kind);
            Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(again.RawF64));
        }
    }

    [Fact]
    public void Non_finite_floats_encode_as_null()
    {
        Assert.Equal("[null,null,null]", TestData.EncodeText(_codec, Value.From(new List<Value> { double.NaN, double.PositiveInfinity, double.NegativeInfinity })));
    }

    [Fact]
    public void Empty_records_and_arrays_round_trip()
    {
        Assert.Equal("{}", TestData.EncodeText(_codec, TestData.Decode(_codec, " { } ")));
        Assert.Equal("[]", TestData.EncodeText(_codec, TestData.Decode(_codec, "[]")));
        Assert.Equal("[{},[],[[]],{\"a\":{}}]", TestData.EncodeText(_codec, TestData.Decode(_codec, "[{},[],[[]],{\"a\":{}}]")));
    }

    [Fact]
    public void Deep_nesting_up_to_the_limit_decodes_and_beyond_it_is_an_error()
    {
        var depth = JsonDecoder.MaxDepth;
        var deep = new string('[', depth) + "1" + new string(']', depth);
        var value = TestData.Decode(_codec, deep);
        Assert.Equal(deep, TestData.EncodeText(_codec, value));

        var tooDeep = new string('[', depth + 1) + new string(']', depth + 1);
        var error = TestData.DecodeError(_codec, tooDeep);
        Assert.Contains($"byte {depth}", error, StringComparison.Ordinal);
        Assert.Contains("depth", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Large_strings_and_bytes_encode_across_buffer_segments()
    {
        var text = string.Concat(Enumerable.Repeat("ab\"c😀é\n", 5000));
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var record = new ValueRecord();
        record.Append("text", text);
        record.Append("bytes", Value.From(bytes));
        var decoded = TestData.Decode(_codec, TestData.Encode(_codec, Value.From(record)));
        Assert.Equal(text, decoded["text"].AsString());
        Assert.Equal(Convert.ToBase64String(bytes), decoded["bytes"].AsString());
    }

    [Fact]
    public void Encoding_appends_to_what_the_writer_already_holds()
    {
        using var writer = new PooledBufferWriter(16);
        _codec.Encode(Value.From(1L), writer);
        _codec.Encode(Value.From("x"), writer);
        Assert.Equal("1\"x\"", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Theory]
    [InlineData("{\"a\":1", "byte 6")]
    [InlineData("{\"a\":", "byte 5")]
    [InlineData("[1,2", "byte 4")]
    [InlineData("\"abc", "byte 4")]
    [InlineData("{\"a\" 1}", "byte 5")]
    [InlineData("[1,]", "byte 3")]
    [InlineData("{} x", "byte 3")]
    [InlineData("nul", "byte 3")]
    [InlineData("{\"a\":{\"b\":[1,{\"c\":tru}]}}", "byte 21")]
    public void Malformed_json_is_an_error_naming_the_byte(string json, string where)
    {
        var error = TestData.DecodeError(_codec, json);
        Assert.StartsWith("invalid JSON at ", error, StringComparison.Ordinal);
        Assert.Contains(where, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_benchmark_records_are_errors_at_every_length()
    {
        var line = TestData.Lines(TestData.Json)[0];
        for (var length = 0; length < line.Length; length++)
        {
            var error = TestData.DecodeError(_codec, line[..length]);
            Assert.StartsWith("invalid JSON at byte ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Errors_on_later_lines_give_line_and_column()
    {
        var error = TestData.DecodeError(_codec, "{\n  \"a\": 1,\n  \"b\": x\n}");
        Assert.Contains("line 3, column 8", error, StringComparison.Ordinal);
        Assert.Contains("byte 19", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_input_is_an_error()
    {
        Assert.Contains("empty", TestData.DecodeError(_codec, ""), StringComparison.Ordinal);
        Assert.Contains("empty", TestData.DecodeError(_codec, " \n"), StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_value_is_an_error_naming_the_byte()
    {
        byte[] data = [.. "{\"a\":\"ok"u8, 0xff, .. "\"}"u8];
        var error = TestData.DecodeError(_codec, data);
        Assert.Contains("invalid UTF-8", error, StringComparison.Ordinal);
        Assert.Contains("byte 8", error, StringComparison.Ordinal);
        Assert.Contains("0xff", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_key_is_an_error_naming_the_byte()
    {
        byte[] data = [.. "{\"k"u8, 0xc3, 0x28, .. "\":1}"u8];
        var error = TestData.DecodeError(_codec, data);
        Assert.Contains("invalid UTF-8 in a JSON key at byte 3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lone_escaped_surrogate_is_an_error()
    {
        var error = TestData.DecodeError(_codec, "[\"\\ud800\"]");
        Assert.Contains("byte 1", error, StringComparison.Ordinal);
        Assert.Contains("surrogate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Numbers_beyond_the_float_range_are_errors()
    {
        var error = TestData.DecodeError(_codec, "[1e400]");
        Assert.Contains("byte 1", error, StringComparison.Ordinal);
        Assert.Contains("1e400", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_decode_does_not_disturb_the_next_one()
    {
        TestData.DecodeError(_codec, "{\"a\":[1,2,{\"b\":");
        Assert.Equal("{\"c\":[3]}", TestData.EncodeText(_codec, TestData.Decode(_codec, "{\"c\":[3]}")));
    }

    [Fact]
    public void Decoding_in_parallel_gives_the_same_values()
    {
        var lines = TestData.Lines(TestData.Json);
        var expected = lines.Select(l => TestData.Decode(_codec, l)).ToArray();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < lines.Count; i++)
            {
                Assert.True(_codec.TryDecode(lines[i], out var value, out var error), error);
                Assert.Equal(expected[i], value);
            }
        });
    }
}
