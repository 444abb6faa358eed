using Tremor.Pdk;

namespace Tremor.Script.Tests;

/// <summary>Tremor's datetime, random, chash, origin, win and binary modules and the datetime extractor.</summary>
public class StandardModuleTests
{
    private const string Nov9 = "1667997961123456789"; // 2022-11-09T12:46:01.123456789Z, a Wednesday, ISO week 45

    [Theory]
    [InlineData("datetime::parse(\"2022-11-09 12:46:01\", \"%Y-%m-%d %H:%M:%S\")", "1667997961000000000")]
    [InlineData("datetime::parse(\"2022-11-09T12:46:01.123Z\", \"%Y-%m-%dT%H:%M:%S%.3fZ\")", "1667997961123000000")]
    [InlineData("datetime::parse(\"2023-03-26 01:30 -04:30\", \"%Y-%m-%d %H:%M %:z\")", "1679810400000000000")]
    [InlineData("datetime::parse(\"2023-03-26T01:30:00-0430\", \"%Y-%m-%dT%H:%M:%S%z\")", "1679810400000000000")]
    [InlineData("datetime::parse(\"2022-11-09T12:46:01.123456789+00:00\", datetime::formats::RFC3339)", "1667997961123456789")]
    [InlineData("datetime::parse(\"Wed, 09 Nov 2022 12:46:01 +0000\", datetime::formats::RFC2822)", "1667997961000000000")]
    [InlineData("datetime::parse(\"1667997961\", \"%s\")", "1667997961000000000")]
    [InlineData("datetime::parse(\"09/Nov/2022:12:46:01 pm\", \"%d/%b/%Y:%I:%M:%S %p\")", "1667997961000000000")]
    [InlineData("datetime::parse(\"2022  313 12:46\", \"%Y %j %H:%M\")", "1667997960000000000")]
    public void Parse_reads_chrono_formats_into_utc_nanoseconds(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("2022-11-09", "%Y-%m-%d", "not enough to make a date and time")]
    [InlineData("2022-11-09 12:46 extra", "%Y-%m-%d %H:%M", "trailing input \" extra\"")]
    [InlineData("2022-13-09 12:46", "%Y-%m-%d %H:%M", "the date is out of range")]
    [InlineData("x", "%Q", "unknown specifier `%Q`")]
    public void Parse_errors_say_why(string input, string format, string why)
    {
        // From the event, so the call is not folded at compile time: a run-time error at the call.
        var result = Harness.Eval("datetime::parse(event.s, event.f)", $$"""{"s":"{{input}}","f":"{{format}}"}""");
        Assert.StartsWith("ERR: test.trickle:1:8: datetime::parse: cannot parse", result, StringComparison.Ordinal);
        Assert.Contains(why, result, StringComparison.Ordinal);
        // With literals the same error is a compile error at the call.
        Assert.Contains(why, Harness.CompileError($"select datetime::parse(\"{input}\", \"{format}\") from in into out;"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData($"datetime::format({Nov9}, \"%Y-%m-%d %H:%M:%S%.f\")", "\"2022-11-09 12:46:01.123456789\"")]
    [InlineData($"datetime::format({Nov9}, \"%a %A %b %B %e %j %u %w %U %W %V %G %y %C\")", "\"Wed Wednesday Nov November  9 313 3 3 45 45 45 2022 22 20\"")]
    [InlineData($"datetime::format({Nov9}, \"%I:%M %p %P %l %k %-d %_m %.3f %6f %s %%\")", "\"12:46 PM pm 12 12 9 11 .123 123456 1667997961 %\"")]
    [InlineData($"datetime::format({Nov9}, \"%F %T %R %D %z %:z %::z %:::z\")", "\"2022-11-09 12:46:01 12:46 11/09/22 +0000 +00:00 +00:00:00 +00\"")]
    [InlineData($"datetime::format(datetime::with_timezone({Nov9}, \"America/New_York\"), \"%+\")", "\"2022-11-09T07:46:01.123456789-05:00\"")]
    [InlineData("datetime::format(datetime::with_timezone(1688000000000000000, datetime::timezones::EUROPE_BERLIN), \"%H:%M %z\")", "\"02:53 +0200\"")]
    [InlineData("datetime::format(datetime::with_timezone(0, \"+05:30\"), \"%Y-%m-%dT%H:%M:%S%:z %Z\")", "\"1970-01-01T05:30:00+05:30 +05:30\"")]
    [InlineData($"datetime::format(datetime::with_timezone({Nov9}, \"America/New_York\"), \"%Z\")", "\"EST\"")]
    [InlineData("datetime::format(datetime::with_timezone(1688000000000000000, \"Europe/Berlin\"), \"%Z\")", "\"CEST\"")]
    [InlineData($"datetime::format({Nov9}, \"%Z\")", "\"UTC\"")]
    [InlineData($"datetime::rfc3339({Nov9})", "\"2022-11-09T12:46:01.123456789+00:00\"")]
    [InlineData("datetime::rfc3339(1667997961123000000)", "\"2022-11-09T12:46:01.123+00:00\"")]
    [InlineData("datetime::rfc3339(datetime::with_timezone(1667997961000000000, \"Asia/Kolkata\"))", "\"2022-11-09T18:16:01+05:30\"")]
    [InlineData($"datetime::rfc2822({Nov9})", "\"Wed, 09 Nov 2022 12:46:01 +0000\"")]
    public void Format_prints_in_the_datetimes_zone(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Theory]
    [InlineData("year", "2022")]
    [InlineData("month", "11")]
    [InlineData("iso_week", "45")]
    [InlineData("day_of_month", "9")]
    [InlineData("day_of_year", "313")]
    [InlineData("hour", "12")]
    [InlineData("minute", "46")]
    [InlineData("second", "1")]
    [InlineData("subsecond_millis", "123")]
    [InlineData("subsecond_micros", "123456")]
    [InlineData("subsecond_nanos", "123456789")]
    public void Components_of_a_utc_timestamp(string fn, string expected) => Assert.Equal(expected, Harness.Eval($"datetime::{fn}({Nov9})"));

    [Fact]
    public void Components_follow_the_zone() =>
        Assert.Equal("[7,8,1970,9]", Harness.Eval($"[datetime::hour(datetime::with_timezone({Nov9}, \"America/New_York\")), " +
            "datetime::day_of_month(datetime::with_timezone(1667952000000000000, \"America/New_York\")), " +
            "datetime::year(datetime::with_timezone(0, \"Asia/Tokyo\")), datetime::hour(datetime::with_timezone(0, \"Asia/Tokyo\"))]"));

    [Fact]
    public void With_timezone_makes_a_record_and_refuses_unknown_zones()
    {
        Assert.Equal("{\"timestamp\":5,\"tz\":\"Europe/Berlin\"}", Harness.Eval("datetime::with_timezone(5, \"Europe/Berlin\")"));
        Assert.StartsWith("ERR: test.trickle:1:8: datetime::with_timezone: unknown timezone `Mars/Olympus`", Harness.Eval("datetime::with_timezone(5, event)", "\"Mars/Olympus\""), StringComparison.Ordinal);
        Assert.Equal("true", Harness.Eval("type::is_integer(datetime::timezones::EUROPE_BERLIN)"));
        Assert.StartsWith("bad.trickle:1:8: unknown constant `datetime::timezones::ATLANTIS`", Harness.CompileError("select datetime::timezones::ATLANTIS from in into out;"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("datetime::to_nearest_second(1667997961500000000)", "1667997962000000000")]
    [InlineData("datetime::to_nearest_millisecond(1667997961123456789)", "1667997961123000000")]
    [InlineData("datetime::to_nearest_microsecond(1667997961123456789)", "1667997961123457000")]
    public void To_nearest_rounds_half_up(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Fact]
    public void The_datetime_extractor_yields_nanoseconds_and_refuses_what_does_not_parse()
    {
        var output = Harness.Run("""
            select match event of
              case r = %{ t ~= datetime|%Y-%m-%d %H:%M| } => r.t
              default => "no"
            end from in into out;
            """, """{"t":"2019-01-01 09:42"}""", """{"t":"2019-01-01"}""", """{"t":7}""");
        Assert.Equal(["1546335720000000000", "\"no\"", "\"no\""], output.Data());
    }

    [Fact]
    public void Random_is_the_same_for_the_same_ingest_time_and_stays_in_range()
    {
        var q = Query.Compile("""
            select [random::integer(10, 20), random::integer(5), random::float(1.0, 2.0), random::float(), random::bool(), random::string(12), random::integer()]
            from in into out;
            """, "random.trickle").Instantiate();
        var output = new Collector();
        foreach (var ingest in (ulong[])[1000, 1000, 2000])
            q.Process("in", [new Event { IngestNs = ingest, Data = Value.From(1L) }], 0, output);
        var results = output.On("out").Select(e => e.Data.AsArray()!).ToList();
        Assert.Equal(results[0].Select(v => v.ToString()), results[1].Select(v => v.ToString()));
        Assert.NotEqual(results[0].Select(v => v.ToString()), results[2].Select(v => v.ToString()));
        foreach (var r in results)
        {
            Assert.InRange(r[0].RawI64, 10, 19);
            Assert.InRange(r[1].RawI64, 0, 4);
            Assert.InRange(r[2].RawF64, 1.0, 1.9999999999);
            Assert.InRange(r[3].RawF64, 0.0, 0.9999999999);
            Assert.Equal(ValueKind.Bool, r[4].Kind);
            Assert.Matches("^[A-Za-z0-9]{12}$", r[5].AsString());
        }
        Assert.StartsWith("ERR: test.trickle:1:8: random::integer: Invalid arguments", Harness.Eval("random::integer(3, 3)"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0UL, 0UL, "test1", 10_000_000u, 8_970_050u)]
    [InlineData(0UL, 0UL, "test2", 1000u, 10u)]
    [InlineData(0UL, 0UL, "test3", 1000u, 76u)]
    [InlineData(0UL, 0UL, "test4", 1000u, 161u)]
    [InlineData(0UL, 0UL, "test5", 50u, 33u)]
    [InlineData(0UL, 0UL, "", 1000u, 392u)]
    [InlineData(0UL, 0UL, "testz", 1u, 0u)]
    public void Jump_hash_matches_the_reference_vectors(ulong k0, ulong k1, string key, uint slots, uint expected) =>
        Assert.Equal($"{expected}", Harness.Eval($"chash::jump_with_keys({(long)k0}, {(long)k1}, \"{key}\", {slots})"));

    [Fact]
    public void Jump_is_stable_and_spreads_keys()
    {
        Assert.Equal(Harness.Eval("chash::jump(\"key1\", 5)"), Harness.Eval("tremor::chash::jump(\"key1\", 5)"));
        var slots = Harness.Eval("for range::range(0, 200) of case (i, v) => chash::jump(\"key#{v}\", 4) end");
        foreach (var slot in new[] { "0", "1", "2", "3" }) Assert.Contains(slot, slots, StringComparison.Ordinal);
        Assert.Equal("\"{\\\"0\\\":{\\\"3\\\":4,\\\"5\\\":0},\\\"1\\\":[2,1]}\"", Harness.Eval("chash::sorted_serialize({\"1\": [2, 1], \"0\": {\"5\": 0, \"3\": 4}})"));
    }

    [Fact]
    public void Origin_is_read_from_the_sender_the_connector_put_in_the_metadata()
    {
        var q = Query.Compile("select [origin::scheme(), origin::host(), origin::port(), origin::as_uri_string(), tremor::origin::as_uri_record()] from in into out;", "origin.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", [Harness.Ev(Value.From(1L), Harness.J("""{"udp_server":{"peer":{"host":"127.0.0.1","port":41371}}}"""))], 0, output);
        q.Process("in", [Harness.Ev(Value.From(2L))], 0, output);
        q.Process("in", [Harness.Ev(Value.From(3L), Harness.J("""{"tcp_server":{"stream":1,"peer":{"host":"::1","port":5},"path":"a/b"}}"""))], 0, output);
        Assert.Equal([
            """["udp_server","127.0.0.1",41371,"udp_server://127.0.0.1:41371/",{"scheme":"udp_server","host":"127.0.0.1","port":41371,"path":[]}]""",
            "[null,null,null,null,null]",
            """["tcp_server","::1",5,"tcp_server://::1:5/a/b",{"scheme":"tcp_server","host":"::1","port":5,"path":["a","b"]}]""",
        ], output.Data());
        Assert.Equal("null", Harness.Eval("origin::path()"));
        Assert.Equal("[\"a\",\"b\"]", RunWithMeta("select origin::path() from in into out;", """{"x":{"peer":{"host":"h"},"path":"a/b"}}"""));
    }

    private static string RunWithMeta(string query, string meta)
    {
        var q = Query.Compile(query, "meta.trickle").Instantiate();
        var output = new Collector();
        q.Process("in", [Harness.Ev(Value.From(1L), Harness.J(meta))], 0, output);
        return Assert.Single(output.Data());
    }

    [Fact]
    public void Window_aggregates_collect_nested_per_lower_window_and_cardinality_counts_groups()
    {
        var q = Query.Compile("""
            define window two from tumbling with size = 2 end;
            define window four from tumbling with size = 2 end;
            select {"w": window, "flat": aggr::win::collect_flattened(event.n), "nested": aggr::win::collect_nested(event.n),
                    "first": win::first(event.n), "last": aggr::win::last(event.n), "groups": win::cardinality()}
            from in[two, four] group by event.g into out;
            """, "win.trickle").Instantiate();
        var output = new Collector();
        foreach (var n in new[] { 1, 2, 3, 4 }) q.Process("in", [Harness.Ev(Harness.J($$"""{"n":{{n}},"g":"a"}"""))], 0, output);
        q.Process("in", [Harness.Ev(Harness.J("""{"n":9,"g":"b"}"""))], 0, output);
        Assert.Equal([
            """{"w":"two","flat":[1,2],"nested":[1,2],"first":1,"last":2,"groups":1}""",
            """{"w":"two","flat":[3,4],"nested":[3,4],"first":3,"last":4,"groups":1}""",
            """{"w":"four","flat":[1,2,3,4],"nested":[[1,2],[3,4]],"first":1,"last":4,"groups":1}""",
        ], output.Data());
    }

    [Fact]
    public void Dds_gives_count_min_max_mean_and_percentiles_within_one_percent()
    {
        var q = Query.Compile("""
            define window all from tumbling with size = 100 end;
            select aggr::stats::dds(event, ["0.5", "0.9", "0.99"]) from in[all] into out;
            """, "dds.trickle").Instantiate();
        var output = new Collector();
        for (var i = 1; i <= 100; i++) q.Process("in", [Harness.Ev(Value.From((long)i))], 0, output);
        var r = Assert.Single(output.On("out")).Data;
        Assert.Equal("100", r["count"].ToString());
        Assert.Equal(1.0, r["min"].RawF64);
        Assert.Equal(100.0, r["max"].RawF64);
        Assert.Equal(50.5, r["mean"].RawF64);
        foreach (var (p, exact) in new[] { ("0.5", 50.0), ("0.9", 90.0), ("0.99", 99.0) })
            Assert.InRange(r["percentiles"][p].RawF64, exact * 0.98, exact * 1.02 + 0.1);
    }

    [Theory]
    [InlineData("binary::len(<<1, 2, 3>>)", "3")]
    [InlineData("binary::into_bytes(<<1, 256:16>>)", "[1,1,0]")]
    [InlineData("binary::from_bytes([104, 105]) == string::into_binary(\"hi\")", "true")]
    [InlineData("binary::from_bytes([string::len(event) + 252])", "ERR: test.trickle:1:8: binary::from_bytes: element 0 is 256, not a byte (0 to 255)")]
    [InlineData("binary::len(event)", "ERR: test.trickle:1:8: binary::len: argument 1 must be binary, got string")]
    public void Binary_module(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr, "\"text\""));

    [Theory]
    [InlineData("record::rename({\"a\": 1, \"b\": 2, \"c\": 4}, {\"a\": \"A\", \"b\": \"B\"})", "{\"A\":1,\"B\":2,\"c\":4}")]
    [InlineData("record::rename({\"a\": 1}, \"a\", \"z\")", "{\"z\":1}")]
    [InlineData("[integer::signed::MAX, integer::signed::MIN, integer::unsigned::MAX, std::integer::unsigned::MIN]", "[9223372036854775807,-9223372036854775808,18446744073709551615,0]")]
    public void Record_rename_and_integer_limits(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Fact]
    public void System_gives_the_events_ingest_time() =>
        Assert.Equal("[1000,1000,\"tremor\",true]", Harness.Eval("[system::ingest_ns(), tremor::system::ingest_ns(), system::instance(), system::nanotime() > 0]"));
}
