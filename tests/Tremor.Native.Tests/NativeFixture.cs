using System.Diagnostics;
using System.Reflection;

namespace Tremor.Native.Tests;

/// <summary>
/// Compiles the test plugins (one C source, one -D switch per defect), the layout probe and an older-minor build of
/// c-blackhole with gcc into a temporary folder, once for all tests.
/// </summary>
public sealed class NativeFixture : IDisposable
{
    public static readonly string[] Defects =
    [
        "DEFECT_NO_SYMBOL", "DEFECT_MAGIC", "DEFECT_MAJOR", "DEFECT_MINOR", "DEFECT_DESC_SIZE", "DEFECT_STRUCT_SIZE",
        "DEFECT_LAYOUT", "DEFECT_EMPTY_NAME", "DEFECT_BAD_VERSION", "DEFECT_NO_SINK",
    ];

    /// <summary>Builds of test_plugin.c that attack the loader (constructors that crash or hang, hostile names).</summary>
    public static readonly string[] Hostile =
    [
        "HOSTILE_CTOR_ABORT", "HOSTILE_CTOR_SEGV", "HOSTILE_CTOR_HANG", "HOSTILE_NAME_POINTER",
        "HOSTILE_NAME_SLASH", "HOSTILE_NAME_DOTDOT", "HOSTILE_NAME_SHELL", "HOSTILE_NAME_NEWLINE", "HOSTILE_NAME_ANSI", "HOSTILE_TWO_FACED",
    ];

    public NativeFixture()
    {
        SourceDir = Path.Combine(AppContext.BaseDirectory, "native");
        WorkDir = Directory.CreateTempSubdirectory("tremor-native-tests-").FullName;
        PluginDir = typeof(NativeFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NativePluginDir").Value!;

        var jobs = new List<Task>
        {
            Task.Run(() => Gcc("-std=c99 -Wall -Wextra -Werror -fPIC -shared", "test_plugin.c", ProbePlugin)),
            Task.Run(() => Gcc("-std=c99 -Wall -Wextra -Werror", "layout_probe.c", LayoutProbe)),
            Task.Run(() => Gcc("-std=c99 -Wall -Wextra -Werror -fPIC -shared -pthread", "hostile_sink.c", HostileSink)),
            Task.Run(() => Gcc("-std=c99 -no-pie", "not_a_library.c", Executable)),
            Task.Run(() => Gcc(
                "-std=c99 -Wall -Wextra -Werror -fPIC -shared -DTREMOR_PDK_TARGET_MINOR=0 -DTREMOR_BLACKHOLE_NAME=\\\"c-blackhole-1-0\\\"",
                "c_blackhole.c",
                OlderMinorBlackhole)),
            Task.Run(() => Gcc("-std=c99 -Wall -Wextra -Werror -fPIC -shared", "full_queue.c", FullQueue)),
            Task.Run(() => Gcc("-std=c99 -Wall -Wextra -Werror -fPIC -shared -DTREMOR_PDK_TARGET_MINOR=1 -DFULL_QUEUE_OLD_MINOR", "full_queue.c", FullQueueOldMinor)),
        };
        foreach (var defect in Defects.Concat(Hostile))
        {
            jobs.Add(Task.Run(() => Gcc($"-std=c99 -Wall -Wextra -Werror -fPIC -shared -D{defect}", "test_plugin.c", DefectPlugin(defect))));
        }
        Task.WaitAll(jobs);
    }

    public string SourceDir { get; }

    public string WorkDir { get; }

    /// <summary>Where the solution's native plugins are built ($(TremorPluginDir)native/).</summary>
    public string PluginDir { get; }

    public string ProbePlugin => Path.Combine(WorkDir, "probe-sink.so");

    public string LayoutProbe => Path.Combine(WorkDir, "layout_probe");

    /// <summary>A sink that attacks the runtime (native/hostile_sink.c): garbage on the control pipe, forged region sizes, late callbacks.</summary>
    public string HostileSink => Path.Combine(WorkDir, "hostile-sink.so");

    public string Executable => Path.Combine(WorkDir, "executable.so");

    public string OlderMinorBlackhole => Path.Combine(WorkDir, "c-blackhole-1-0.so");

    /// <summary>A bounded queue, sink and source, whose sink answers TREMOR_FULL (native/full_queue.c).</summary>
    public string FullQueue => Path.Combine(WorkDir, "c-full-queue.so");

    /// <summary>The same built for ABI 1.1, answering 5 although its minor has no TREMOR_FULL.</summary>
    public string FullQueueOldMinor => Path.Combine(WorkDir, "c-full-queue-1-1.so");

    public string CCounter => Path.Combine(PluginDir, "c-counter.so");

    public string CBlackhole => Path.Combine(PluginDir, "c-blackhole.so");

    public string RustSink => Path.Combine(PluginDir, "rust-sink.so");

    public string DefectPlugin(string defect) => Path.Combine(WorkDir, defect.ToLowerInvariant() + ".so");

    /// <summary>A copy of a good plugin in the work folder, for tests that damage bytes.</summary>
    public string CopyOf(string path, string name)
    {
        var target = Path.Combine(WorkDir, name);
        File.Copy(path, target, overwrite: true);
        return target;
    }

    public static string Run(string file, string arguments = "")
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} exited with {process.ExitCode}: {error.Result}");
        return output.Result;
    }

    private void Gcc(string flags, string source, string output) =>
        Run("gcc", $"{flags} -I\"{SourceDir}\" -o \"{output}\" \"{Path.Combine(SourceDir, source)}\"");

    public void Dispose()
    {
        // Loaded libraries keep their files mapped; deleting the folder is still fine on Linux.
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<NativeFixture>
{
    public const string Name = "native";
}
