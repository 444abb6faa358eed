using Tremor.Actors.Configuration;
using Tremor.Pdk;

namespace Tremor.Cli.Tests;

/// <summary>The loader's error messages, in process: <see cref="HoconSyntax"/>, <see cref="TremorConfig.Parse"/>, <see cref="TremorConfig.ReadSettings"/>.</summary>
public sealed class ConfigMessageTests
{
    private const string Source = "flow.conf";

    [Fact]
    public void Every_example_flow_parses_and_validates()
    {
        var examples = Directory.GetFiles(Path.Combine(Repo.Root, "hocon", "examples"), "*.conf");
        Assert.NotEmpty(examples);
        foreach (var file in examples)
        {
            var settings = TremorConfig.ReadSettings(TremorConfig.LoadFile(file), file);
            Assert.NotEmpty(settings.Flows);
        }
    }

    [Fact]
    public void An_unterminated_string_names_where_it_starts()
    {
        var e = Assert.Throws<ConfigException>(() => TremorConfig.Parse("tremor {\n  flows {\n    f { connectors { m { type = \"metronome } } } }\n  }\n}\n", Source));

        Assert.Equal("flow.conf:3:33", e.Path);
        Assert.Equal("flow.conf:3:33: syntax error: unterminated string (a quoted string must end on the same line)", e.Message);
    }

    [Fact]
    public void A_mismatched_bracket_names_both_ends()
    {
        var e = Assert.Throws<ConfigException>(() => HoconSyntax.Check("links = [\n  \"a -> b\"\n}\n", Source));

        Assert.Equal("flow.conf:3:1: syntax error: '}' does not match '[' opened at line 1, column 9; expected ']'", e.Message);
    }

    [Fact]
    public void A_key_without_value_names_the_key()
    {
        var e = Assert.Throws<ConfigException>(() => TremorConfig.Parse("tremor {\n  data-path {\n    credits =\n  }\n}\n", Source));

        Assert.Equal("flow.conf:3:13: syntax error: a key is followed by '=' or ':' but no value on the same line", e.Message);
    }

    [Fact]
    public void A_parser_error_is_one_line_with_line_and_column()
    {
        var e = Assert.Throws<ConfigException>(() => TremorConfig.Parse("tremor {\n  m { type = metronome }\n  @n = 1\n}\n", Source));

        Assert.Equal("flow.conf:3:3", e.Path);
        Assert.StartsWith($"{e.Path}: syntax error: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_negative_batch_size_names_the_key_and_the_value()
    {
        var config = TremorConfig.Parse("tremor.data-path.batch-size = -5", Source);

        var e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(config, Source));

        Assert.Equal("tremor.data-path.batch-size", e.Path);
        Assert.Equal("tremor.data-path.batch-size: must be at least 1, found -5", e.Message);
    }

    [Fact]
    public void A_misspelt_section_lists_the_known_ones()
    {
        var config = TremorConfig.Parse("tremor { flow { } }", Source);

        var e = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(config, Source));

        Assert.Equal("tremor.flow", e.Path);
        Assert.Contains("unknown key", e.Message);
        Assert.Contains("flows", e.Message);
    }

    [Fact]
    public void Colons_and_comment_markers_inside_values_are_not_syntax_errors()
    {
        var config = TremorConfig.Parse("tremor.data-path { batch-size = 64, credits: 4 }\nurl = \"http://localhost:8080/x\" // a comment", Source);
        var settings = TremorConfig.ReadSettings(config, Source);
        Assert.Equal(64, settings.DataPath.BatchSize);
        Assert.Equal(4, settings.DataPath.Credits);
    }
}
