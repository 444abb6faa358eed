using System.Diagnostics;

namespace Tremor.Cli.Tests;

/// <summary><c>plugins new</c> makes a project that builds with the one printed command and passes <c>plugins verify</c>.</summary>
public sealed class PluginKitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-kit-").FullName;

    [Theory]
    [InlineData("csharp", "sink")]
    [InlineData("c", "sink")]
    [InlineData("rust", "sink")]
    [InlineData("csharp", "source")]
    [InlineData("c", "source")]
    [InlineData("rust", "source")]
    public async Task A_new_plugin_builds_with_the_printed_command_and_passes_verify(string language, string kind)
    {
        var name = $"kit-{language}-{kind}";
        var created = await TremorProcess.RunAsync("plugins", "new", name, "--lang", language, "--kind", kind, "--output", Path.Combine(_dir, name));
        Assert.True(created.ExitCode == 0, created.ToString());
        var build = created.StdoutLines.Single(l => l.StartsWith("build:", StringComparison.Ordinal))["build:".Length..].Trim();
        var artifact = created.StdoutLines.Single(l => l.StartsWith("verify:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1];
        if (language == "c") Assert.Contains("-Wall -Wextra -Werror", build);

        var (code, output) = await Shell(build);
        Assert.True(code == 0, $"{build}\n{output}");
        Assert.True(File.Exists(artifact), $"{artifact} was not built\n{output}");

        var verified = await TremorProcess.RunAsync("plugins", "verify", artifact);
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Contains("verified: every step passed", verified.Stdout);
        Assert.Contains("PASS    refuses a bad config", verified.Stdout);
        if (kind == "sink") Assert.Contains("PASS    events through (sink side): 3 events: Ack", verified.Stdout);
        else Assert.Contains("PASS    pull (source side): Finished, 11 chunk(s)", verified.Stdout); // ten events and the stream's end

        // The template reads its config: a bad value is refused with the key named.
        var badConfig = await TremorProcess.RunAsync("plugins", "verify", artifact, "--config", kind == "sink" ? "log-every = oops" : "count = oops");
        Assert.Contains(kind == "sink" ? "log-every" : "count", badConfig.Stdout);
        Assert.Contains("FAIL    create with the example config", badConfig.Stdout);
    }

    [Fact]
    public async Task A_bad_plugin_name_or_language_is_refused_with_what_to_do()
    {
        var badName = await TremorProcess.RunAsync("plugins", "new", "My_Sink", "--output", Path.Combine(_dir, "x"));
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("use lowercase letters, digits and '-'", badName.Stderr);
        var badLang = await TremorProcess.RunAsync("plugins", "new", "ok", "--lang", "cobol", "--output", Path.Combine(_dir, "y"));
        Assert.Equal(2, badLang.ExitCode);
        Assert.Contains("expected csharp, c or rust", badLang.Stderr);
        var badKind = await TremorProcess.RunAsync("plugins", "new", "ok", "--kind", "pipe", "--output", Path.Combine(_dir, "z"));
        Assert.Equal(2, badKind.ExitCode);
        Assert.Contains("expected sink or source", badKind.Stderr);
    }

    [Theory]
    [InlineData("x-")]
    [InlineData("a--b")]
    [InlineData("-a")]
    [InlineData("9lives")]
    [InlineData("my/sink")]
    public async Task A_name_the_rule_refuses_is_one_line_with_the_rule_and_nothing_is_created(string name)
    {
        var output = Path.Combine(_dir, "refused");
        var result = await TremorProcess.RunAsync("plugins", "new", name, "--output", output);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"plugin name '{name}': use lowercase letters, digits and '-', starting with a letter, not ending with '-'", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        Assert.False(Directory.Exists(output));
    }

    private static async Task<(int Code, string Output)> Shell(string command)
    {
        var start = new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var home = Environment.GetEnvironmentVariable("HOME") ?? "";
        start.Environment["PATH"] = $"{Path.Combine(home, ".cargo", "bin")}:{Environment.GetEnvironmentVariable("PATH")}";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
