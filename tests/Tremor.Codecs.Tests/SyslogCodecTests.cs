using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class SyslogCodecTests
{
    // A clock in June 2021: RFC 3164 lines carry no year, the codec takes it from the clock.
    private readonly SyslogCodec _codec = new(static () => new DateTime(2021, 6, 1, 0, 0, 0, DateTimeKind.Utc));

    // RFC 5424 section 6.5, examples 1 to 4 (the BOM of the examples written as the real bytes where they have one).
    public static TheoryData<string> Rfc5424Examples => new()
    {
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \uFEFFAn application event log entry...",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
    };

    [Fact]
    public void Rfc5424_message_with_structured_data_has_tremors_shape()
    {
        var v = TestData.Decode(_codec, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] An application event log entry...");
        Assert.Equal("mymachine.example.com", v["hostname"].AsString());
        Assert.Equal("notice", v["severity"].AsString());
        Assert.Equal("local4", v["facility"].AsString());
        Assert.Equal(1065910455003000000L, v["timestamp"].RawI64);
        Assert.Equal("RFC5424", v["protocol"].AsString());
        Assert.Equal(1L, v["protocol_version"].RawI64);
        Assert.Equal("evntslog", v["appname"].AsString());
        Assert.Equal("ID47", v["msgid"].AsString());
        Assert.False(v.AsRecord()!.ContainsKey("procid"));
        Assert.Equal("An application event log entry...", v["msg"].AsString());
        var sd = v["structured_data"];
        Assert.Equal("3", sd["exampleSDID@32473"][0]["iut"].AsString());
        Assert.Equal("Application", sd["exampleSDID@32473"][1]["eventSource"].AsString());
        Assert.Equal("1011", sd["exampleSDID@32473"][2]["eventID"].AsString());
        Assert.Equal("high", sd["examplePriority@32473"][0]["class"].AsString());
    }

    [Fact]
    public void Rfc5424_time_offset_and_microseconds_become_utc_nanoseconds_and_procid_is_a_string()
    {
        var v = TestData.Decode(_codec, "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
        Assert.Equal(new DateTimeOffset(2003, 8, 24, 12, 14, 15, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000 + 3000, v["timestamp"].RawI64);
        Assert.Equal("8710", v["procid"].AsString());
        Assert.False(v.AsRecord()!.ContainsKey("structured_data"));
        Assert.False(v.AsRecord()!.ContainsKey("msgid"));
    }

    [Fact]
    public void Structured_data_escapes_are_read_and_written_back()
    {
        var v = TestData.Decode(_codec, "<13>1 - host app - - [id@1 a=\"quote \\\" bracket \\] backslash \\\\ plain \\n\"]");
        Assert.Equal("quote \" bracket ] backslash \\ plain \\n", v["structured_data"]["id@1"][0]["a"].AsString());
        var again = TestData.Decode(_codec, TestData.Encode(_codec, v));
        Assert.Equal(v, again);
    }

    [Fact]
    public void Rfc3164_line_has_tremors_shape()
    {
        var v = TestData.Decode(_codec, "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar");
        Assert.Equal("74794bfb6795", v["hostname"].AsString());
        Assert.Equal("notice", v["severity"].AsString());
        Assert.Equal("user", v["facility"].AsString());
        Assert.Equal(new DateTimeOffset(2021, 1, 5, 15, 33, 3, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, v["timestamp"].RawI64);
        Assert.Equal("RFC3164", v["protocol"].AsString());
        Assert.Equal("root", v["appname"].AsString());
        Assert.Equal("8539", v["procid"].AsString());
        Assert.Equal("i am foobar", v["msg"].AsString());
        Assert.Equal("<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar", TestData.EncodeText(_codec, v));
    }

    [Fact]
    public void Rfc3164_december_message_read_in_january_is_last_years()
    {
        var january = new SyslogCodec(static () => new DateTime(2022, 1, 2, 0, 0, 0, DateTimeKind.Utc));
        var v = TestData.Decode(january, "<34>Dec 31 23:59:59 host app: late");
        Assert.Equal(new DateTimeOffset(2021, 12, 31, 23, 59, 59, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, v["timestamp"].RawI64);
    }

    [Fact]
    public void Text_that_is_no_syslog_header_is_kept_whole_in_msg_as_tremor_does()
    {
        var v = TestData.Decode(_codec, "just some text");
        Assert.Equal("just some text", v["msg"].AsString());
        Assert.Equal("RFC3164", v["protocol"].AsString());
        Assert.False(v.AsRecord()!.ContainsKey("severity"));
    }

    [Theory]
    [MemberData(nameof(Rfc5424Examples))]
    [InlineData("<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar")]
    [InlineData("<86>Dec 12 09:01:02 web-1 sshd[301]: Accepted publickey for alice")]
    [InlineData("<191>1 2021-03-18T20:30:00.123Z - - - - - message")]
    [InlineData("<0>1 - - - - - -")]
    public void Decode_encode_decode_is_identity(string line)
    {
        var first = TestData.Decode(_codec, line);
        var second = TestData.Decode(_codec, TestData.Encode(_codec, first));
        Assert.Equal(first, second);
    }

    [Fact]
    public void Minimal_event_encodes_as_rfc5424_with_nil_fields()
    {
        var v = TestData.Decode(new JsonCodec(), """{"facility":"user","severity":"info","structured_data":{}}""");
        Assert.Equal("<14>1 - - - - - -", TestData.EncodeText(_codec, v));
    }

    [Fact]
    public void Values_syslog_cannot_hold_fail_with_the_reason()
    {
        var noFacility = TestData.Decode(new JsonCodec(), """{"severity":"notice","msg":"x"}""");
        var e = Assert.Throws<CodecEncodeException>(() => TestData.Encode(_codec, noFacility));
        Assert.Contains("facility is missing", e.Message, StringComparison.Ordinal);
        var badSeverity = TestData.Decode(new JsonCodec(), """{"facility":"user","severity":"loud"}""");
        Assert.Contains("unknown severity \"loud\"", Assert.Throws<CodecEncodeException>(() => TestData.Encode(_codec, badSeverity)).Message, StringComparison.Ordinal);
        Assert.Throws<CodecEncodeException>(() => TestData.Encode(_codec, Value.From(42L)));
    }
}
