namespace Tremor.Script.Tests;

/// <summary>Extractors in match patterns: <c>%{ key ~= name|rule| }</c>, <c>~ name|rule|</c>.</summary>
public class ExtractorTests
{
    private static string Extract(string pattern, string subject) =>
        Harness.Eval($"match {subject} of case r = {pattern} => r default => \"no match\" end");

    [Theory]
    [InlineData("%{ msg ~= re|(?P<user>\\w+)@(?P<host>[a-z.]+)| }", "{\"msg\": \"mail bob@example.org now\"}", "{\"msg\":{\"user\":\"bob\",\"host\":\"example.org\"}}")]
    [InlineData("%{ msg ~= re|^\\d+$| }", "{\"msg\": \"12a\"}", "\"no match\"")]
    [InlineData("%{ msg ~= rerg|(?P<n>\\d+)| }", "{\"msg\": \"1 22 333\"}", "{\"msg\":{\"n\":[\"1\",\"22\",\"333\"]}}")]
    [InlineData("%{ path ~= glob|/var/*.log| }", "{\"path\": \"/var/app.log\"}", "{\"path\":true}")]
    [InlineData("%{ path ~= glob|/var/*.log| }", "{\"path\": \"/etc/app.conf\"}", "\"no match\"")]
    [InlineData("%{ body ~= json|| }", "{\"body\": \"{\\\"a\\\": [1, 2]}\"}", "{\"body\":{\"a\":[1,2]}}")]
    [InlineData("%{ body ~= json|| }", "{\"body\": \"{broken\"}", "\"no match\"")]
    [InlineData("%{ data ~= base64|| }", "{\"data\": \"aGVsbG8=\"}", "{\"data\":\"hello\"}")]
    [InlineData("%{ q ~= kv|%{key}=%{val}&| }", "{\"q\": \"a=1&b=two\"}", "{\"q\":{\"a\":\"1\",\"b\":\"two\"}}")]
    [InlineData("%{ q ~= kv|| }", "{\"q\": \"foo:bar snot:badger\"}", "{\"q\":{\"foo\":\"bar\",\"snot\":\"badger\"}}")]
    [InlineData("%{ ip ~= cidr|| }", "{\"ip\": \"192.168.1.7\"}", "{\"ip\":{\"prefix\":[192,168,1,7],\"mask\":[255,255,255,255]}}")]
    [InlineData("%{ ip ~= cidr|10.0.0.0/8| }", "{\"ip\": \"10.22.0.1\"}", "{\"ip\":{\"prefix\":[10,22,0,1],\"mask\":[255,255,255,255]}}")]
    [InlineData("%{ ip ~= cidr|10.0.0.0/8| }", "{\"ip\": \"11.0.0.1\"}", "\"no match\"")]
    [InlineData("%{ path ~= glob |/var/*.log| }", "{\"path\": \"/var/app.log\"}", "{\"path\":true}")] // spaces before the rule, as Tremor allows
    public void Extractors_match_and_bind_what_they_extract(string pattern, string subject, string expected) =>
        Assert.Equal(expected, Extract(pattern, subject));

    [Theory]
    [InlineData("dissect|%{protocol}://%{host}.%{tld}|", "\"http://example.com\"", "{\"protocol\":\"http\",\"host\":\"example\",\"tld\":\"com\"}")]
    [InlineData("dissect|%{date}%{_(-)} %{?priority} %{&priority} %{+snot} %{+snot}|", "\"2019-04-20------ high 3 foo bar\"", "{\"date\":\"2019-04-20\",\"high\":\"3\",\"snot\":\"foo bar\"}")]
    [InlineData("dissect|%{name} is %{age:int}|", "\"ada is 36\"", "{\"name\":\"ada\",\"age\":36}")]
    [InlineData("dissect|%{a} %{b}|", "\"nospace\"", "\"no match\"")]
    public void Dissect_splits_on_delimiters_with_skips_appends_named_keys_padding_and_types(string extractor, string subject, string expected) =>
        Assert.Equal(expected, Extract("~ " + extractor, subject));

    [Fact]
    public void Unbound_extractor_tests_only_filter_and_a_named_key_binds_a_local()
    {
        var output = Harness.Script("""
            match event of
              case %{ msg ~= glob|ERROR*| } => "error"
              case %{ user = msg ~= dissect|login %{name}| } => user.name
              default => "other"
            end
            """, """{"msg": "login ada"}""");
        Assert.Equal("\"ada\"", output.Data().Single());
    }

    [Fact]
    public void Grok_expands_the_default_patterns_into_typed_fields()
    {
        var line = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \\\"GET /apache_pb.gif HTTP/1.0\\\" 200 2326";
        var result = Extract("~ grok|%{COMMONAPACHELOG}|", $"\"{line}\"");
        Assert.Equal("{\"clientip\":\"127.0.0.1\",\"ident\":\"-\",\"auth\":\"frank\",\"timestamp\":\"10/Oct/2000:13:55:36 -0700\",\"verb\":\"GET\",\"request\":\"/apache_pb.gif\",\"httpversion\":\"1.0\",\"response\":\"200\",\"bytes\":\"2326\"}", result);
        Assert.Equal("{\"level\":\"WARN\",\"code\":42}", Extract("~ grok|%{LOGLEVEL:level} code=%{INT:code:int}|", "\"WARN code=42\""));
        Assert.StartsWith("bad.trickle:1:30: invalid `grok` rule: unknown grok pattern `NOPE`", Harness.CompileError("select match event of case ~ grok|%{NOPE}| => 1 default => 0 end from in into out;"));
    }

    [Theory]
    [InlineData("\"wea\\\\ ther,loc=us\\\\,west temp=82.5,hum=0.5,ok=t,n=3i,note=\\\"a \\\\\\\"b\\\\\\\"\\\" 1465839830100400200\"",
        "{\"measurement\":\"wea ther\",\"tags\":{\"loc\":\"us,west\"},\"fields\":{\"temp\":82.5,\"hum\":0.5,\"ok\":true,\"n\":3,\"note\":\"a \\\"b\\\"\"},\"timestamp\":1465839830100400200}")]
    [InlineData("\"cpu load=1i\"", "{\"measurement\":\"cpu\",\"tags\":{},\"fields\":{\"load\":1},\"timestamp\":1000}")]
    [InlineData("\"no fields here\"", "\"no match\"")]
    public void Influx_reads_the_line_protocol_and_takes_the_ingest_time_without_a_timestamp(string subject, string expected) =>
        Assert.Equal(expected, Extract("~ influx||", subject));

    [Fact]
    public void An_escaped_bar_belongs_to_the_rule() =>
        Assert.Equal("{\"a\":\"x\",\"b\":\"y\"}", Extract("~ dissect|%{a}\\|%{b}|", "\"x|y\""));

    [Fact]
    public void A_bad_rule_is_a_compile_error_at_the_rule_and_unsupported_extractors_say_so()
    {
        Assert.StartsWith("bad.trickle:1:36: invalid `re` rule:", Harness.CompileError("select match event of case %{ a ~= re|(unclosed| } => 1 default => 0 end from in into out;"));
        Assert.StartsWith("bad.trickle:1:30: invalid `dissect` rule: `%{b}` follows another field", Harness.CompileError("select match event of case ~ dissect|%{a}%{b}| => 1 default => 0 end from in into out;"));
        Assert.StartsWith("bad.trickle:1:30: invalid `datetime` rule: unknown specifier `%Q`", Harness.CompileError("select match event of case ~ datetime|%Y %Q| => 1 default => 0 end from in into out;"));
    }
}
