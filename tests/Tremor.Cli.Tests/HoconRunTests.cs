namespace Tremor.Cli.Tests;

/// <summary>
/// <c>tremor run</c> on files with the substitution and include forms users write, the environment set on the child
/// process only. Before, <c>${?VAR}</c> overflowed the stack (exit 134) or spun at the end of a file, and includes
/// threw or were ignored.
/// </summary>
public sealed class HoconRunTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-hocon-");

    public void Dispose() => _temp.Delete(recursive: true);

    private async Task<CliResult> Run(string file, params (string Name, string? Value)[] environment)
    {
        // Run from another folder: includes are relative to the including file, not to the working directory.
        var elsewhere = Directory.CreateDirectory(Path.Combine(_temp.FullName, "cwd")).FullName;
        await using var process = TremorProcess.Start(["run", file], elsewhere, environment.ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal));
        return await process.WaitAsync(TremorProcess.DefaultTimeout);
    }

    [Fact]
    public async Task Substitutions_read_the_environment_and_an_unset_optional_one_leaves_the_default()
    {
        var file = Path.Combine(_temp.FullName, "ticks.conf");
        // ${?VAR} inside a connector config, on Akka's own settings, and as the last line without a newline.
        await File.WriteAllTextAsync(file, """
            akka.loglevel = ${?TREMOR_TEST_LOGLEVEL}
            tremor.flows.ticks {
              connectors {
                tick { type = metronome, config { interval = ${?TREMOR_TEST_IV}, iterations = ${TREMOR_TEST_N} } }
                out { type = stdio, codec = json, postprocessors = ["separate"] }
              }
              links = ["tick -> out"]
            }
            tremor.data-path.batch-size = ${?TREMOR_TEST_BATCH}
            """);

        var set = await Run(file, ("TREMOR_TEST_IV", "10ms"), ("TREMOR_TEST_N", "3"), ("TREMOR_TEST_BATCH", "2"), ("TREMOR_TEST_LOGLEVEL", "WARNING"));
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(3, set.StdoutLines.Count);
        Assert.DoesNotContain("INFO", set.Stderr); // the log level came from the environment

        var unset = await Run(file, ("TREMOR_TEST_N", "1"), ("TREMOR_TEST_IV", null), ("TREMOR_TEST_BATCH", null), ("TREMOR_TEST_LOGLEVEL", null));
        Assert.True(unset.ExitCode == 0, unset.ToString());
        Assert.Single(unset.StdoutLines);
        Assert.Contains("INFO", unset.Stderr); // the default log level

        var missing = await Run(file, ("TREMOR_TEST_N", null));
        Assert.Equal(2, missing.ExitCode);
        var error = Assert.Single(missing.StderrLines);
        Assert.Equal($"error: {file}:4:83: ${{TREMOR_TEST_N}} is neither a key of the config nor a set environment variable; set TREMOR_TEST_N, or write ${{?TREMOR_TEST_N}} to leave the key out (its default applies) when it is unset", error);
    }

    [Fact]
    public async Task Includes_are_read_relative_to_the_including_file_and_a_missing_required_one_is_an_error()
    {
        var conf = Directory.CreateDirectory(Path.Combine(_temp.FullName, "conf")).FullName;
        await File.WriteAllTextAsync(Path.Combine(conf, "source.conf"), "tick { type = metronome, config { interval = 10ms, iterations = 2 } }\n");
        await File.WriteAllTextAsync(Path.Combine(conf, "sink.conf"), "out { type = stdio, codec = json, postprocessors = [\"separate\"] }\n");
        await File.WriteAllTextAsync(Path.Combine(conf, "links.conf"), "links = [\"tick -> out\"]\n");
        var file = Path.Combine(conf, "main.conf");
        await File.WriteAllTextAsync(file, """
            tremor.flows.inc {
              connectors {
                include "source.conf"
                include file("sink.conf")
              }
              include required(file("links.conf"))
            }
            """);

        var ok = await Run(file);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal(2, ok.StdoutLines.Count);

        File.Delete(Path.Combine(conf, "links.conf"));
        var missing = await Run(file);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains($"{file}:6:3: required include \"links.conf\" not found (looked for {Path.Combine(conf, "links.conf")})", missing.Stderr);
    }

    [Fact]
    public async Task A_flow_with_an_invalid_name_is_refused_before_anything_starts()
    {
        var file = Path.Combine(_temp.FullName, "empty-name.conf");
        await File.WriteAllTextAsync(file, "tremor.flows { \"\" { connectors { m { type = metronome } }, links = [\"m -> m\"] } }\n");

        var result = await Run(file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("tremor.flows.\"\": \"\" is not a valid flow name: a name starts with a letter or '_'", result.Stderr);
    }
}
