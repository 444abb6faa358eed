using System.Security.Cryptography;
using Tremor.Pdk;

namespace Tremor.Cli.Tests;

/// <summary><c>tremor plugins list | inspect | hash</c> through the real CLI, against the built plugins and the PDK-2 fixture.</summary>
public sealed class PluginsCommandTests
{
    private static readonly string Pdk2Refusal = $"built for PDK 2.0, but this runtime provides PDK {PdkVersion.Text}";

    [Fact]
    public async Task List_shows_the_built_plugins_loaded_and_a_pdk2_plugin_refused_with_both_versions()
    {
        var result = await TremorProcess.RunAsync("plugins", "list", "--plugins", Repo.Pdk2Dir);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdoutLines;
        Assert.Equal(["NAME", "VERSION", "KIND", "PDK", "STATUS"], Cells(lines[0]).Take(5));
        foreach (var name in new[] { "std", "file", "bench" })
        {
            var row = Cells(Assert.Single(lines, l => Cells(l)[0] == name));
            Assert.Equal("loaded", row[4]);
            Assert.Equal(PdkVersion.Text, row[3]);
        }
        var refusedRow = Cells(Assert.Single(lines, l => Cells(l)[0] == "Pdk2Plugin"));
        Assert.Equal("refused", refusedRow[4]);
        var refusal = Assert.Single(lines, l => l.StartsWith("refused: ", StringComparison.Ordinal));
        Assert.Contains(Repo.Pdk2Plugin, refusal);
        Assert.Contains(Pdk2Refusal, refusal);
    }

    [Fact]
    public async Task Inspect_the_std_plugin_names_it_and_its_connector_types()
    {
        var result = await TremorProcess.RunAsync("plugins", "inspect", Repo.StdPlugin);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.StdoutLines, l => l == "name:        std");
        foreach (var type in new[] { "metronome", "metrics", "stdio", "null", "exit" })
        {
            Assert.Contains(result.StdoutLines, l => l.StartsWith($"provides connector {type} (", StringComparison.Ordinal));
        }
        Assert.Equal("accepted", result.StdoutLines[^1]);
    }

    [Fact]
    public async Task Inspect_a_pdk2_plugin_refuses_it_with_exit_2()
    {
        var result = await TremorProcess.RunAsync("plugins", "inspect", Repo.Pdk2Plugin);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(result.StdoutLines, l => l.StartsWith($"check pdk-reference: FAIL (Tremor.Pdk 2.0.0.0, host provides {PdkVersion.Text})", StringComparison.Ordinal));
        Assert.DoesNotContain("accepted", result.Stdout);
        var refusal = Assert.Single(result.StderrLines);
        Assert.Equal($"refused: {Repo.Pdk2Plugin}: {Pdk2Refusal}; rebuild the plugin against Tremor.Pdk 1.x", refusal);
    }

    [Fact]
    public async Task Hash_prints_the_trusted_entry_with_the_files_sha256()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Repo.StdPlugin)));

        var result = await TremorProcess.RunAsync("plugins", "hash", Repo.StdPlugin);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal([$"\"Tremor.Connectors.Std\" = \"{expected}\""], result.StdoutLines);
    }

    [Fact]
    public async Task The_hash_line_pasted_into_trusted_unchanged_lets_the_plugin_load_under_require_trusted()
    {
        var line = Assert.Single((await TremorProcess.RunAsync("plugins", "hash", Repo.StdPlugin)).StdoutLines);
        var dir = Directory.CreateTempSubdirectory("tremor-trust-").FullName;
        try
        {
            var config = Path.Combine(dir, "trust.conf");
            await File.WriteAllTextAsync(config, $"tremor.plugins {{\n  require-trusted = on\n  trusted {{\n    {line}\n  }}\n}}\n");

            var result = await TremorProcess.RunAsync("plugins", "list", "--config", config);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("loaded", Cells(Assert.Single(result.StdoutLines, l => Cells(l)[0] == "std"))[4]);
            // Everything else is refused as untrusted: the line trusted exactly that file.
            Assert.Equal("refused", Cells(Assert.Single(result.StdoutLines, l => Cells(l)[0] == "Tremor.Connectors.File"))[4]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string[] Cells(string row) => row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
