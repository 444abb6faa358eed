using Tremor.Actors.Configuration;
using Tremor.Actors.Pipelines;
using Tremor.Pdk;

namespace Tremor.Cli.Tests;

/// <summary>
/// The HOCON forms users write that Akka's parser gets wrong (substitutions, includes, a comma after an object,
/// duplicate definitions) and the name rule, read in process with an environment of the test's own.
/// </summary>
public sealed class HoconFormsTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-hocon-");

    public void Dispose() => _temp.Delete(recursive: true);

    private static Akka.Configuration.Config Parse(string text, params (string Name, string Value)[] environment)
    {
        var env = environment.ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
        return TremorConfig.Parse(text, new HoconOrigin("flow.conf", null, name => env.GetValueOrDefault(name)));
    }

    private static string Flow(string connectorConfig) => $$"""
        tremor.flows.f {
          connectors {
            tick { type = metronome, config { {{connectorConfig}} } }
            out { type = stdio }
          }
          links = ["tick -> out"]
        }
        """;

    [Fact]
    public void An_optional_substitution_takes_the_environment_value_or_leaves_the_key_out()
    {
        var set = Parse(Flow("interval = ${?TREMOR_IV}, iterations = 3") + "\ntremor.data-path.batch-size = ${?TREMOR_BATCH}", ("TREMOR_IV", "20ms"), ("TREMOR_BATCH", "7"));
        Assert.Equal("20ms", set.GetString("tremor.flows.f.connectors.tick.config.interval"));
        Assert.Equal(7, set.GetInt("tremor.data-path.batch-size"));

        // Unset: the field is not created, so the default of reference.conf (or of the connector) applies.
        var unset = Parse(Flow("interval = ${?TREMOR_IV}, iterations = 3") + "\nakka.loglevel = ${?TREMOR_LOG}\ntremor.data-path.batch-size = ${?TREMOR_BATCH}");
        Assert.False(unset.HasPath("tremor.flows.f.connectors.tick.config.interval"));
        Assert.Equal(3, unset.GetInt("tremor.flows.f.connectors.tick.config.iterations"));
        Assert.Equal(128, unset.GetInt("tremor.data-path.batch-size"));
        Assert.Equal("INFO", unset.GetString("akka.loglevel"));
        Assert.Single(TremorConfig.ReadSettings(unset, "flow.conf").Flows);
    }

    [Fact]
    public void A_substitution_prefers_a_key_of_the_config_then_the_environment_in_values_lists_and_concatenations()
    {
        var config = Parse(
            "base = \"/srv\"\npath = ${base}/data\nhome = ${HOME}/x\nlist = [a, ${?UNSET}, ${?SET}]\nwords = pre${?UNSET}post",
            ("HOME", "/home/u"), ("SET", "s"), ("base", "from-env-not-used"));

        Assert.Equal("/srv/data", config.GetString("path"));
        Assert.Equal("/home/u/x", config.GetString("home"));
        Assert.Equal(["a", "s"], config.GetStringList("list"));
        Assert.Equal("prepost", config.GetString("words"));
    }

    [Fact]
    public void A_required_substitution_that_is_nowhere_is_one_error_naming_it_and_where()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("a = 1\nb = ${TREMOR_NOT_SET}\n"));

        Assert.Equal("flow.conf:2:5", e.Path);
        Assert.Contains("${TREMOR_NOT_SET} is neither a key of the config nor a set environment variable", e.Message);
        Assert.Contains("${?TREMOR_NOT_SET}", e.Message);
    }

    [Fact]
    public void Substitutions_that_refer_to_themselves_are_refused_instead_of_overflowing_the_stack()
    {
        var cycle = Assert.Throws<ConfigException>(() => Parse("a = ${b}\nb = ${a}\n"));
        Assert.Contains("refers back to itself", cycle.Message);

        // A field that names itself means the value before it: here the environment.
        Assert.Equal("/usr/bin:/x", Parse("PATH = ${PATH}\":/x\"", ("PATH", "/usr/bin")).GetString("PATH"));
    }

    [Fact]
    public void Includes_are_relative_to_the_including_file_and_a_missing_required_one_is_named()
    {
        var conf = Directory.CreateDirectory(Path.Combine(_temp.FullName, "conf")).FullName;
        File.WriteAllText(Path.Combine(conf, "plain.conf"), "tremor.data-path.credits = 3\n");
        File.WriteAllText(Path.Combine(conf, "file.conf"), "tremor.data-path.batch-size = 5\n");
        Directory.CreateDirectory(Path.Combine(conf, "sub"));
        File.WriteAllText(Path.Combine(conf, "sub", "required.conf"), "{ drain-timeout = 3s, nested-sub = ${?TREMOR_UNSET} }\n");
        var main = Path.Combine(conf, "main.conf");
        File.WriteAllText(main, "include \"plain.conf\"\ninclude file(\"file.conf\")\ntremor.data-path {\n  include required(file(\"sub/required.conf\"))\n}\ninclude \"absent.conf\"\n");

        var config = TremorConfig.LoadFile(main);

        Assert.Equal(3, config.GetInt("tremor.data-path.credits"));
        Assert.Equal(5, config.GetInt("tremor.data-path.batch-size"));
        Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("tremor.data-path.drain-timeout"));

        File.WriteAllText(main, "include required(file(\"missing.conf\"))\n");
        var e = Assert.Throws<ConfigException>(() => TremorConfig.LoadFile(main));
        Assert.Equal($"{main}:1:1", e.Path);
        Assert.Contains("required include \"missing.conf\" not found", e.Message);
        Assert.Contains(Path.Combine(conf, "missing.conf"), e.Message);
    }

    [Fact]
    public void A_query_file_is_read_relative_to_the_hocon_file_that_names_it_not_the_current_directory()
    {
        var conf = Directory.CreateDirectory(Path.Combine(_temp.FullName, "deploy")).FullName;
        var shared = Directory.CreateDirectory(Path.Combine(conf, "shared")).FullName;
        File.WriteAllText(Path.Combine(conf, "top.trickle"), "select event from in into out;\n");
        File.WriteAllText(Path.Combine(shared, "inner.trickle"), "select {\"inner\": event} from in into out;\n");
        // The included file names its query relative to itself (shared/), the main file relative to deploy/.
        File.WriteAllText(Path.Combine(shared, "pipelines.conf"), "inner { query-file = inner.trickle }\n");
        var main = Path.Combine(conf, "main.conf");
        File.WriteAllText(main, """
            tremor.flows.f {
              connectors { tick { type = metronome }, out { type = stdio } }
              pipelines {
                top { query-file = "top.trickle" }
                include required(file("shared/pipelines.conf"))
              }
              links = ["tick -> top", "top -> inner", "inner -> out"]
            }
            """);
        Assert.NotEqual(conf, Directory.GetCurrentDirectory());

        var flow = Assert.Single(TremorConfig.ReadSettings(TremorConfig.LoadFile(main), main).Flows);

        var pipelines = flow.Pipelines.ToDictionary(p => p.Name, StringComparer.Ordinal);
        Assert.Equal(Path.Combine(conf, "top.trickle"), pipelines["top"].Config.GetOptionalString("query-file"));
        Assert.Equal(Path.Combine(shared, "inner.trickle"), pipelines["inner"].Config.GetOptionalString("query-file"));
        // Both compile: the files are found where their HOCON file is.
        Assert.NotNull(PipelinePrograms.Compile(pipelines["top"]));
        Assert.NotNull(PipelinePrograms.Compile(pipelines["inner"]));

        // A missing one names the absolute path it looked for.
        File.WriteAllText(main, File.ReadAllText(main).Replace("top.trickle", "absent.trickle", StringComparison.Ordinal));
        var missing = Assert.Single(TremorConfig.ReadSettings(TremorConfig.LoadFile(main), main).Flows).Pipelines.Single(p => p.Name == "top");
        var e = Assert.Throws<ConfigException>(() => PipelinePrograms.Compile(missing));
        Assert.Contains(Path.Combine(conf, "absent.trickle"), e.Message);
    }

    [Fact]
    public void A_request_body_may_not_include_files()
    {
        var e = Assert.Throws<ConfigException>(() => TremorConfig.Parse("include \"x.conf\"\n", "request body"));

        Assert.Equal("request body:1:1", e.Path);
        Assert.Contains("send the included file's content inline", e.Message);
    }

    [Fact]
    public void A_comma_after_an_object_is_accepted_as_hocon_allows()
    {
        var config = Parse("tremor.flows.f {\n  connectors {\n    m { type = metronome, config { iterations = 3 } }, n { type = stdio },\n  }\n  links = [\"m -> n\"]\n}\n");

        var flow = Assert.Single(TremorConfig.ReadSettings(config, "flow.conf").Flows);
        Assert.Equal(["m", "n"], flow.Connectors.Select(c => c.Name));
    }

    [Fact]
    public void A_connector_defined_twice_in_one_file_is_refused_with_both_places()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("tremor.flows.f {\n  connectors {\n    m { type = metronome }\n    m { type = stdio }\n  }\n}\n"));

        Assert.Equal("flow.conf:4:5", e.Path);
        Assert.Contains("connector tremor.flows.f.connectors.m is defined twice in this file (first at line 3, column 5)", e.Message);
    }

    [Theory]
    [InlineData("\"\"", "\"\"")]
    [InlineData("\"a/b\"", "\"a/b\"")]
    [InlineData("\"..\"", "\"..\"")]
    [InlineData("\"a\\nb\"", "\"a\\nb\"")]
    [InlineData("\"1st\"", "\"1st\"")]
    public void Flow_names_follow_one_rule_and_the_error_escapes_them(string hoconName, string shown)
    {
        var config = Parse($"tremor.flows {{ {hoconName} {{ connectors {{ m {{ type = metronome }} }}, links = [\"m -> m\"] }} }}\n");

        var e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(config, "flow.conf"));

        Assert.Equal($"tremor.flows.{shown}", e.Path);
        Assert.Contains($"{shown} is not a valid flow name: {Names.Rule}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Connector_and_pipeline_names_follow_the_same_rule()
    {
        var connector = Parse("tremor.flows.f { connectors { \"a b\" { type = metronome } }, links = [\"x -> y\"] }\n");
        var e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(connector, "flow.conf"));
        Assert.Equal("tremor.flows.f.connectors.\"a b\"", e.Path);

        var pipeline = Parse("tremor.flows.f { connectors { m { type = metronome } }, pipelines { \"p.q\" { type = passthrough } }, links = [\"m -> m\"] }\n");
        e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(pipeline, "flow.conf"));
        Assert.Contains("is not a valid pipeline name", e.Message);
    }

    [Fact]
    public void Log_text_keeps_to_one_line_whatever_it_carries()
    {
        // Quotes stay as they are (messages quote names); control characters are escaped, so nothing forges a line.
        Assert.Equal("flow \"a\\nb\" \\u001b[31m", Names.EscapeControl("flow \"a\nb\" \u001b[31m"));
    }

    [Fact]
    public void A_short_token_is_refused_when_the_api_listens_beyond_loopback()
    {
        var e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(Parse("tremor.api { enabled = on, bind = \"0.0.0.0\", token = \"a\" }\n"), "flow.conf"));

        Assert.Equal("tremor.api.token", e.Path);
        Assert.Contains("at least 32", e.Message);
        // On loopback it is the operator's choice; a generated token is always long.
        Assert.Equal("a", TremorConfig.ReadSettings(Parse("tremor.api { enabled = on, token = \"a\" }\n"), "flow.conf").Api.Token);
        Assert.Equal("", TremorConfig.ReadSettings(Parse("tremor.api { enabled = on, bind = \"0.0.0.0\" }\n"), "flow.conf").Api.Token);
    }
}
