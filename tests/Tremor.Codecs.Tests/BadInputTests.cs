using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

/// <summary>
/// Malformed input for every decoder: each gives one error naming the reason and the byte, never an exception; and a
/// bounded fuzz run (random and mutated inputs, fixed seed) per decoder.
/// </summary>
public sealed class BadInputTests
{
    private static readonly byte[] s_badUtf8 = [(byte)'a', (byte)'b', 0xC3, 0x28, (byte)'c'];

    private static ICodec Codec(string name) => BuiltinCodecs.FindCodec(name)!.Create(new PluginConfig("codec.config", null));

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] WithBadUtf8(string prefix) => [.. B(prefix), .. s_badUtf8];

    public static TheoryData<string, byte[], string> Corpus()
    {
        var data = new TheoryData<string, byte[], string>
        {
            { "syslog", B("<13"), "at byte 0: '<' starts a PRI" },
            { "syslog", B("<999>1 - - - - - -"), "at byte 1: PRI must be a number from 0 to 191" },
            { "syslog", B("<13>1 2003-13-11T22:14:15Z host app - - -"), "at byte 6: TIMESTAMP is not a valid date" },
            { "syslog", B("<13>1 yesterday host app - - -"), "at byte 6: TIMESTAMP must be an RFC 3339" },
            { "syslog", B("<13>1 - host"), "at byte 12: truncated" },
            { "syslog", B("<13>1 - host app - - [id a=\"unterminated]"), "has no closing '\"'" },
            { "syslog", B("<13>1 - host app - - [id a=unquoted]"), "must be in double quotes" },
            { "syslog", B("<13>1 - host app - - [id a=\"1\""), "truncated structured data" },
            { "syslog", WithBadUtf8("<13>1 - host app - - - "), "at byte 25: invalid UTF-8 (0xc3)" },
            { "influx", B(""), "at byte 0: the line is empty" },
            { "influx", B("weather"), "truncated after the measurement" },
            { "influx", B("weather,location=us temp=82 12x"), "at byte 28: the timestamp must be an integer" },
            { "influx", B("weather temp=\"unterminated 1"), "at byte 13: the string value of field 'temp' has no closing" },
            { "influx", B("weather temp=hot"), "at byte 13: the value of field 'temp' is not a number" },
            { "influx", B("weather,tag temp=1"), "needs key=value" },
            { "influx", B("weather temp=1i2"), "is not a number" },
            { "influx", WithBadUtf8("weather temp="), "at byte 15: invalid UTF-8" },
            { "influx", B("weather temp=99999999999999999999i"), "at byte 13: the value of field 'temp' is not a number" },
            { "influx", B("weather temp=1 99999999999999999999"), "at byte 15: the timestamp must be an integer" },
            { "binflux", [0, 1], "at byte 0: version 1 is not supported" },
            { "binflux", [0, 0, 0, 5, (byte)'a'], "at byte 4: truncated: the measurement of 5 bytes" },
            { "binflux", [0, 0, 0, 1, (byte)'m', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, (byte)'f', 9], "at byte 20: field 'f' has unknown type 9" },
            { "binflux", [0, 0, 0, 2, 0xC3, 0x28], "at byte 4: invalid UTF-8 in the measurement" },
            { "statsd", B("gorets1|c"), "no ':' after the metric name" },
            { "statsd", B("gorets:1"), "no '|' after the value" },
            { "statsd", B("gorets:one|c"), "at byte 7: the value must be a number" },
            { "statsd", B("gorets:1|x"), "at byte 9: the type must be c, ms, g, h or s" },
            { "statsd", B("gorets:1|c|@fast"), "at byte 12: the sample rate must be a number" },
            { "statsd", WithBadUtf8("gorets:"), "at byte 9: invalid UTF-8" },
            { "statsd", B("gorets:99999999999999999999|c"), "at byte 7: the value must be a number" },
            { "dogstatsd", B("dog:111"), "no '|' after the values" },
            { "dogstatsd", B("dog:1:x|c"), "at byte 6: a value must be a number" },
            { "dogstatsd", B("_e{5,100}:title|short"), "truncated: title (5 bytes) and text (100 bytes)" },
            { "dogstatsd", B("_sc|name|7"), "at byte 9: the status must be 0, 1, 2 or 3" },
            { "dogstatsd", B("dog:1|c|x:1"), "unknown metric section" },
            { "graphite", B("beep.boop"), "truncated" },
            { "graphite", B("beep.boop 7"), "the timestamp is missing" },
            { "graphite", B("beep.boop seven 1620649445"), "at byte 10: the value must be a number" },
            { "graphite", B("beep.boop 7 soon"), "at byte 12: the timestamp must be seconds" },
            { "graphite", B("beep.boop NaN 1620649445"), "at byte 10: the value must be a number" },
            { "csv", B("a,\"b,c"), "at byte 2: a quoted field has no closing" },
            { "csv", B("a,b\"c"), "at byte 3: a '\"' inside an unquoted field" },
            { "csv", B("\"a\"b,c"), "at byte 3: 'b' after a closing quote" },
            { "csv", B("a,b\nc,d"), "at byte 3: more than one record" },
            { "csv", WithBadUtf8("x,"), "at byte 4: invalid UTF-8" },
            { "yaml", B("a: [1, 2"), "yaml at byte" },
            { "yaml", B("a: *nowhere"), "names no anchor" },
            { "yaml", B("a: 1\n---\nb: 2"), "more than one document" },
            { "yaml", B("x: !!binary not*base64"), "not valid base64" },
            { "yaml", WithBadUtf8("a: "), "at byte 5: invalid UTF-8" },
            { "tremor", [0], "at byte 0: truncated: the 2-byte version" },
            { "tremor", [0, 0, 42], "at byte 2: unknown type byte 42" },
            { "tremor", [0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 9, (byte)'x'], "at byte 11: truncated: a string of 9 bytes" },
            { "tremor", [0, 0, 8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "at byte 2: a length of 9223372036854775807 items" },
            { "tremor", [0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, 0xC3, 0x28], "at byte 11: invalid UTF-8 in a string" },
            { "tremor", [0, 0, 0, 0], "at byte 3: 1 trailing bytes" },
        };
        // Oversize: a deeply nested document is refused at the nesting limit rather than overflowing the stack.
        data.Add("yaml", B(new string('[', 300) + new string(']', 300)), "nesting deeper than 256");
        var deep = new List<byte> { 0, 0 };
        for (var i = 0; i < 2000; i++) deep.AddRange(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, 1 });
        deep.Add(0);
        data.Add("tremor", deep.ToArray(), "nesting deeper than 1024");
        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Malformed_input_is_one_error_with_the_reason_and_byte(string codec, byte[] input, string expected)
    {
        var decoder = Codec(codec);
        Assert.False(decoder.TryDecode(input, out _, out var error));
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith($"invalid {codec} at byte ", error, StringComparison.Ordinal);
    }

    public static TheoryData<string> DecoderNames() => new(Seeds.Keys);

    /// <summary>Valid inputs per decoder: what the fuzz run mutates, and the good events around a bad one.</summary>
    private static readonly Dictionary<string, byte[][]> Seeds = new()
    {
        ["syslog"] = [B("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] msg"), B("<13>Jan  5 15:33:03 host root[8539]: i am foobar")],
        ["influx"] = [B("weather,location=us\\,midwest temp=82,s=\"a \\\"b\\\"\",i=3i,b=t 1465839830100400200")],
        ["binflux"] = [TestData.Encode(new BinfluxCodec(), TestData.Decode(new InfluxCodec(), "m,t=v f=1i,g=2.5,h=\"s\",k=true 42"))],
        ["statsd"] = [B("sam:7|c|@0.1"), B("subastian:-234|g")],
        ["dogstatsd"] = [B("dog:111:2.5|g|@0.5|#foo:bar,fizz:buzz|c:123abc"), B("_e{5,4}:title|text|d:12|h:host|#a:b"), B("_sc|redis|2|#env:dev|m:down")],
        ["graphite"] = [B("beep.boop 7.5 1620649445")],
        ["csv"] = [B("\"some \"\" field\",1234567,other_text,\"a\nb\"")],
        ["yaml"] = [B("a: 1\nb: [x, 2.5, true, ~]\nc: &x {d: \"q\"}\ne: *x\nf: !!binary AAEC")],
        ["tremor"] = [TestData.Encode(new TremorCodec(), TestData.EveryKind())],
        ["json"] = [TestData.Encode(new JsonCodec(), TestData.EveryKind())],
        ["msgpack"] = [TestData.Encode(new MsgpackCodec(), TestData.EveryKind())],
        ["string"] = [B("plain text, ünïcödé and a tab\t")],
    };

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Valid_events_around_a_bad_one_still_decode(string codec)
    {
        var decoder = Codec(codec);
        var good = Seeds[codec][0];
        var bad = good[..(good.Length / 2)];
        bad[^1] = 0xff;
        var inputs = new[] { good, bad, good };
        var results = inputs.Select(i => decoder.TryDecode(i, out var v, out _) ? v : (Value?)null).ToList();
        Assert.NotNull(results[0]);
        Assert.Null(results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Fuzzed_input_never_throws(string codec)
    {
        var decoder = Codec(codec);
        var random = new Random(18);
        var seeds = Seeds[codec];
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        for (var round = 0; round < 2000; round++)
        {
            var input = round % 4 == 0 ? RandomBytes(random) : Mutate(random, seeds[random.Next(seeds.Length)]);
            bool ok;
            Value value;
            string? error;
            try
            {
                ok = decoder.TryDecode(input, out value, out error);
            }
            catch (Exception e)
            {
                Assert.Fail($"{codec} threw {e.GetType().Name} decoding [{Convert.ToHexString(input)}]: {e.Message}");
                return;
            }
            if (!ok)
            {
                Assert.False(string.IsNullOrEmpty(error));
                continue;
            }
            output.ResetWrittenCount();
            try
            {
                decoder.Encode(value, output);
            }
            catch (CodecEncodeException)
            {
                // A decoded value the format cannot write back is reported, not thrown as something else.
            }
            catch (Exception e)
            {
                Assert.Fail($"{codec} threw {e.GetType().Name} encoding what it decoded from [{Convert.ToHexString(input)}]: {e.Message}");
            }
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 48)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        var edits = random.Next(1, 4);
        for (var i = 0; i < edits; i++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)"|:,=\" \\[]{}<>-.0123456789\n"[random.Next(26)]);
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    if (bytes.Count > 0) bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
            }
        }
        return bytes.ToArray();
    }
}
