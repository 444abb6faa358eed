using System.Diagnostics;

namespace Tremor.Cli.Tests;

/// <summary>
/// A plugin folder a hostile or careless author filled: constructors that abort, segfault or hang, a descriptor whose
/// name points nowhere, names that break lines and terminals, an impostor <c>file</c> provider, a second plugin
/// providing <c>metronome</c>, and two builds of one plugin (a stale one and a fresh one). Built with gcc from the
/// Native tests' C source, once for the class.
/// </summary>
public sealed class HostilePluginFolder : IDisposable
{
    public HostilePluginFolder()
    {
        Dir = Directory.CreateTempSubdirectory("tremor-hostile-plugins-").FullName;
        var builds = new (string File, string[] Defines)[]
        {
            ("abort.so", ["-DHOSTILE_CTOR_ABORT"]),
            ("segv.so", ["-DHOSTILE_CTOR_SEGV"]),
            ("name-pointer.so", ["-DHOSTILE_NAME_POINTER"]),
            ("newline.so", ["-DHOSTILE_NAME_NEWLINE"]),
            ("ansi.so", ["-DHOSTILE_NAME_ANSI"]),
            ("impostor/file.so", ["-DPROBE_NAME=\"file\""]),
            ("second-metronome.so", ["-DPROBE_NAME=\"metronome\""]),
            ("no-codec.so", ["-DPROBE_NAME=\"no-codec\"", "-DPROBE_CODEC=\"yaml-ish\""]),
            ("target/debug/twin.so", ["-DPROBE_NAME=\"twin\"", "-DPROBE_VERSION=\"1.0.0\""]),
            ("target/release/twin.so", ["-DPROBE_NAME=\"twin\"", "-DPROBE_VERSION=\"2.0.0\""]),
        };
        // The hanging plugin has a folder of its own: only the test of the timeout waits for it.
        HangDir = Directory.CreateTempSubdirectory("tremor-hanging-plugin-").FullName;
        Task.WaitAll(
            [.. builds.Select(b => Task.Run(() => Gcc(Path.Combine(Dir, b.File), b.Defines))), Task.Run(() => Gcc(Path.Combine(HangDir, "hang.so"), ["-DHOSTILE_CTOR_HANG"]))]);
        // The debug build is the stale one: the most recently modified file of a name wins within a folder.
        File.SetLastWriteTimeUtc(StaleTwin, DateTime.UtcNow.AddHours(-1));
        Config = Path.Combine(HangDir, "..", Path.GetFileName(HangDir) + ".conf");
        File.WriteAllText(Config, "tremor.plugins.inspect-timeout = 1s\n");
    }

    public string Dir { get; }

    /// <summary>A folder holding only a plugin whose constructor never returns.</summary>
    public string HangDir { get; }

    /// <summary>A config that kills a hanging inspection after 1 s.</summary>
    public string Config { get; }

    public string StaleTwin => Path.Combine(Dir, "target", "debug", "twin.so");

    public string FreshTwin => Path.Combine(Dir, "target", "release", "twin.so");

    public string PathOf(string file) => Path.Combine(Dir, file);

    /// <summary>Builds one variant of test_plugin.c into <paramref name="output"/>.</summary>
    public static void Gcc(string output, IEnumerable<string> defines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        var source = Path.Combine(AppContext.BaseDirectory, "native");
        var start = new ProcessStartInfo("gcc") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-std=c99", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", .. defines, "-I", source, "-o", output, Path.Combine(source, "test_plugin.c")])
        {
            start.ArgumentList.Add(a);
        }
        using var gcc = Process.Start(start)!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc {output}: {errors}");
    }

    public void Dispose()
    {
        Directory.Delete(Dir, recursive: true);
        Directory.Delete(HangDir, recursive: true);
        File.Delete(Config);
    }
}

public sealed class HostilePluginTests(HostilePluginFolder folder) : IClassFixture<HostilePluginFolder>
{
    private const string ExitNonZero = "the inspector to read the descriptor and exit 0";

    [Fact]
    public async Task Plugins_list_lists_every_hostile_plugin_refused_or_shadowed_with_one_line_each_and_exits_0()
    {
        var result = await TremorProcess.RunAsync("plugins", "list", "--plugins", folder.Dir);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdoutLines;
        Assert.DoesNotContain(result.Stdout, c => c == '\x1b' || c == '\r');
        // The built-ins are untouched: the impostor and the second metronome did not take their types.
        Assert.Equal("loaded", Status(lines, "std", "Tremor.Connectors.Std.dll"));
        Assert.Equal("loaded", Status(lines, "file", "Tremor.Connectors.File.dll"));
        Refused(lines, "abort.so", $"inspection: expected {ExitNonZero}, found killed by signal 6 (SIGABRT) while loading (in its static constructors); its last output: \"hostile constructor: aborting\"");
        Refused(lines, "segv.so", $"inspection: expected {ExitNonZero}, found killed by signal 11 (SIGSEGV) while loading (in its static constructors)");
        Refused(lines, "name-pointer.so", "descriptor.name: expected a readable NUL-terminated string, found pointer 0x0000000000000010 (unreadable memory)");
        Refused(lines, "newline.so", "descriptor.name: expected a plugin name: lowercase letters, digits and '-', starting with a letter, not ending with '-' and no '--', at most 63 characters (e.g. my-sink), found \"evil\\nrefused: fake\"");
        Refused(lines, "ansi.so", "descriptor.name: expected a plugin name: lowercase letters, digits and '-', starting with a letter, not ending with '-' and no '--', at most 63 characters (e.g. my-sink), found \"\\x1b[31mred\"");
        var std = Path.Combine(Repo.PluginDir, "Tremor.Connectors.Std", "Tremor.Connectors.Std.dll");
        Refused(lines, "second-metronome.so", $"connector type 'metronome' is already provided by plugin 'std' ({std}); one connector type has one provider: remove one of the two files, or unload 'std' first");
        Refused(lines, "no-codec.so", "connector type 'no-codec' names the default codec \"yaml-ish\", which no loaded plugin provides; known codecs: ");
        // Same name as a built-in plugin: listed shadowed by it; the stale twin shadowed by the fresh one.
        var file = Path.Combine(Repo.PluginDir, "Tremor.Connectors.File", "Tremor.Connectors.File.dll");
        Assert.Contains($"shadowed: {folder.PathOf("impostor/file.so")}: shadowed by {file}", lines);
        Assert.Contains($"shadowed: {folder.StaleTwin}: shadowed by {folder.FreshTwin}", lines);
        Assert.Equal("shadowed", Status(lines, "twin", folder.StaleTwin));
        Assert.Equal("loaded", Status(lines, "twin", folder.FreshTwin));
        Assert.StartsWith($"search order: {Path.Combine(AppContext.BaseDirectory, "plugins")}, {Repo.PluginDir}, {folder.Dir}; the first file of a plugin name wins", lines[^1]);
    }

    [Fact]
    public async Task Plugins_list_refuses_a_plugin_whose_constructor_hangs_after_inspect_timeout_and_exits_0()
    {
        var result = await TremorProcess.RunAsync("plugins", "list", "--plugins", folder.HangDir, "--config", folder.Config);

        Assert.True(result.ExitCode == 0, result.ToString());
        var hang = Path.Combine(folder.HangDir, "hang.so");
        Assert.Contains(
            $"refused: {hang}: inspection: expected {ExitNonZero}, found no answer within 1s (hung while loading (in its static constructors); the inspector was killed)",
            result.StdoutLines);
        Assert.Equal("loaded", Status(result.StdoutLines, "std", "Tremor.Connectors.Std.dll"));
    }

    [Fact]
    public async Task Plugins_inspect_of_a_plugin_whose_constructor_aborts_refuses_it_with_exit_2_instead_of_dying()
    {
        var path = folder.PathOf("abort.so");

        var result = await TremorProcess.RunAsync("plugins", "inspect", path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("check inspection: FAIL (inspection: expected the inspector to read the descriptor and exit 0, found killed by signal 6 (SIGABRT)", result.Stdout);
        Assert.StartsWith($"refused: {path}: inspection: ", Assert.Single(result.StderrLines));
    }

    [Fact]
    public async Task Run_hello_with_the_hostile_folder_present_runs_the_flow_to_the_end()
    {
        var result = await TremorProcess.RunAsync("run", "hocon/examples/hello.conf", "--plugins", folder.Dir);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(5, result.StdoutLines.Count(l => l.StartsWith("{\"onramp\":\"metronome\"", StringComparison.Ordinal)));
        Assert.Contains(result.StderrLines, l => l.StartsWith($"warning: plugin refused: {folder.PathOf("abort.so")}: inspection: ", StringComparison.Ordinal));
        Assert.Contains($"note: plugin {folder.StaleTwin}: shadowed by {folder.FreshTwin}", result.StderrLines);
    }

    private static string[] Cells(string row) => row.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    // The table's columns are padded: the STATUS cell starts where its header does.
    private static string StatusCell(IReadOnlyList<string> lines, string row) => row[lines[0].IndexOf("STATUS", StringComparison.Ordinal)..].Split(' ')[0];

    private static string Status(IReadOnlyList<string> lines, string name, string pathEnd) =>
        StatusCell(lines, Assert.Single(lines, l => Cells(l) is { Length: > 4 } c && c[0] == name && c[^1].EndsWith(pathEnd, StringComparison.Ordinal)));

    private void Refused(IReadOnlyList<string> lines, string file, string reason)
    {
        var path = folder.PathOf(file);
        Assert.Contains(lines, l => Cells(l) is { Length: > 4 } c && c[^1] == path && StatusCell(lines, l) == "refused");
        Assert.Contains(lines, l => l.StartsWith($"refused: {path}: {reason}", StringComparison.Ordinal));
    }
}
