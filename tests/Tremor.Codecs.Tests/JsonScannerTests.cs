using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>
/// The JSON decoder's fast scanner against <see cref="System.Text.Json.Utf8JsonReader"/>, which it falls back to: on
/// every document both must agree on success, the value and the error's wording; well-formed documents must not need
/// the fallback (or the scanner would cost time and save none).
/// </summary>
public sealed class JsonScannerTests
{
    public static TheoryData<string> WellFormed() =>
    [
        "{}", "[]", "0", "-0", "1", "-1", "1.5", "-0.25e-3", "2E+10",
        "123456789012345678", "1234567890123456789", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "0.1e1", "true", "false", "null",
        "\"\"", "\"plain\"", "\"é中😀\"", "\"\\u00e9\\u4E2D\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "\"a\\\"b\"",
        "\"\\\\\"", "\"\\u0000\"", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
        "{\"a\\u0062\":1,\"ab\":2}", "{\"k\":1,\"k\":2}", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
        "[" + string.Join(",", Enumerable.Range(0, 300)) + "]", "\"" + new string('x', 5000) + "\\n\"",
        "{\"" + new string('k', 100) + "\":\"" + new string('v', 100) + "\"}",
    ];

    public static TheoryData<string> Malformed() =>
    [
        "", " ", "{", "[", "}", "]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{,}", "[1 2]", "{\"a\":1 \"b\":2}",
        "01", "-01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1e999", "tru", "truex",
        "nul", "nulll", "falsy", "'a'", "{'a':1}", "{a:1}", "\"abc", "\"a\u0001b\"", "\"a\tb\"", "\"\\x\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\", "[1]]", "{}}", "{} x", "1 2", "[1]/",
        "// c\n1", "/* c */ 1", "\uFEFF{}", "[\"a\",\"b\",]", "{\"a\":[}", "{\"a\":{]}",
        new string('[', 1025) + new string(']', 1025),
    ];

    [Fact]
    public void Nesting_deeper_than_the_scanner_goes_is_decoded_by_the_reader()
    {
        var deep = Encoding.UTF8.GetBytes(new string('[', JsonScan.MaxDepth + 1) + new string(']', JsonScan.MaxDepth + 1));
        Assert.False(JsonDecoder.ScannerTakes(deep));
        Assert.True(AssertSameOutcome(deep));
        var limit = Encoding.UTF8.GetBytes(new string('[', JsonScan.MaxDepth) + new string(']', JsonScan.MaxDepth));
        Assert.True(JsonDecoder.ScannerTakes(limit));
        Assert.True(AssertSameOutcome(limit));
    }

    [Theory]
    [MemberData(nameof(WellFormed))]
    public void The_scanner_decodes_well_formed_documents_as_the_reader_does(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.True(JsonDecoder.ScannerTakes(bytes), $"the scanner gave up on {json}");
        AssertSameOutcome(bytes);
    }

    [Fact]
    public void The_scanner_takes_every_record_of_the_benchmark_data_itself()
    {
        foreach (var line in TestData.Lines(TestData.Json))
        {
            Assert.True(JsonDecoder.ScannerTakes(line), Encoding.UTF8.GetString(line));
            AssertSameOutcome(line);
        }
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void On_malformed_documents_the_scanner_gives_up_and_the_error_is_the_readers(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.False(JsonDecoder.ScannerTakes(bytes), $"the scanner took {json}");
        Assert.False(new JsonCodec().TryDecode(bytes.AsSpan(), out _, out var error));
        Assert.StartsWith("invalid ", error, StringComparison.Ordinal);
        AssertSameOutcome(bytes);
    }

    [Fact]
    public void Invalid_utf8_anywhere_is_the_readers_error()
    {
        foreach (var json in new[] { "\"a\xFFb\"", "{\"k\xC3\":1}", "\"" + new string('x', 80) + "\xED\xA0\x80\"", "\"\\n\xF0\x9F\"" })
        {
            var bytes = json.Select(c => (byte)c).ToArray();
            Assert.False(JsonDecoder.ScannerTakes(bytes));
            Assert.False(new JsonCodec().TryDecode(bytes.AsSpan(), out _, out var error));
            Assert.Contains("UTF-8", error, StringComparison.Ordinal);
            AssertSameOutcome(bytes);
        }
    }

    [Fact]
    public void Random_damage_to_records_is_decoded_or_refused_exactly_as_the_reader_does()
    {
        // Deterministic: the same damage every run. Each record gets bytes replaced, deleted, inserted or cut off,
        // from the characters JSON's grammar turns on, so most cases land on a boundary the scanner must check.
        var random = new Random(22);
        var alphabet = "{}[]\",:\\ -+.eE0129tfnulrsaxu\t\n\u0001"u8.ToArray();
        var lines = TestData.Lines(TestData.Json);
        var decoded = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var bytes = lines[random.Next(lines.Count)].ToList();
            var edits = random.Next(1, 4);
            for (var e = 0; e < edits && bytes.Count > 0; e++)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(4))
                {
                    case 0: bytes[at] = alphabet[random.Next(alphabet.Length)]; break;
                    case 1: bytes.RemoveAt(at); break;
                    case 2: bytes.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                    default: bytes.RemoveRange(at, bytes.Count - at); break;
                }
            }
            if (AssertSameOutcome(bytes.ToArray())) decoded++;
        }
        // Some damage leaves valid JSON (a digit for a digit, a letter inside a string): both paths were exercised.
        Assert.InRange(decoded, 100, 19_900);
    }

    /// <summary>
    /// The decoder's result (scanner first), also on input that never changes (long strings kept as slices of it), and
    /// the reader's alone agree; returns whether they decoded.
    /// </summary>
    private static bool AssertSameOutcome(byte[] bytes)
    {
        var ok = JsonDecoder.TryDecode(bytes, out var value, out var error);
        var readerOk = JsonDecoder.TryDecodeWithReader(bytes, out var readerValue, out var readerError);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.True(ok == readerOk, $"scanner {ok} ({error}), reader {readerOk} ({readerError}) on {text}");
        Assert.Equal(readerError, error);
        Assert.Equal(readerValue, value);
        if (ok) Assert.Equal(readerValue.Kind, value.Kind);
        var keptOk = JsonDecoder.TryDecodeImmutable(bytes.ToArray(), out var keptValue, out var keptError);
        Assert.True(keptOk == readerOk, $"scanner on kept input {keptOk} ({keptError}), reader {readerOk} ({readerError}) on {text}");
        Assert.Equal(readerError, keptError);
        Assert.Equal(readerValue, keptValue);
        return ok;
    }
}
