using System.Diagnostics;

namespace Tremor.Cli.Tests;

/// <summary><c>plugins new</c> makes a project that builds with the one printed command and passes <c>plugins verify</c>.</summary>
public sealed class PluginKitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-kit-").FullName;

    [Theory]
    [InlineData("csharp")]
    [InlineData("c")]
    [InlineData("rust")]
    public async Task A_new_plugin_builds_with_the_printed_command_and_passes_verify(string language)
    {
        var name = $"kit-{language}";
        var created = await TremorProcess.RunAsync("plugins", "new", name, "--lang", language, "--output", Path.Combine(_dir, name));
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
        Assert.Contains("PASS    events through (sink side): 3 events: Ack", verified.Stdout);
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
