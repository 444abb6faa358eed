using System.Text;

namespace Tremor.Cli.Tests;

/// <summary><c>tremor.data-dir</c> through the real CLI: a runtime restarted on state another one holds is refused at start.</summary>
public sealed class DataDirTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-datadir-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task A_data_dir_locked_by_another_tremor_refuses_the_run_naming_the_directory_and_its_pid()
    {
        var data = Directory.CreateDirectory(Path.Combine(_temp.FullName, "state")).FullName;
        // What a running tremor leaves there: the locked file and its pid beside it.
        using (var holder = new FileStream(Path.Combine(data, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            File.WriteAllText(Path.Combine(data, ".owner"), "4242\n", Encoding.ASCII);
            var flow = Path.Combine(_temp.FullName, "flow.conf");
            File.WriteAllText(flow, $$"""
                include required(file("{{Path.Combine(Repo.Root, "hocon", "examples", "hello.conf")}}"))
                tremor.data-dir = "{{data}}"
                """);

            await using var second = TremorProcess.Start(["run", flow], _temp.FullName);
            var refused = await second.WaitAsync(TremorProcess.DefaultTimeout);
            Assert.True(refused.ExitCode == 2, refused.ToString());
            Assert.Contains($"the data directory '{data}' (tremor.data-dir) is in use by another tremor (pid 4242)", refused.Stderr);
            Assert.Equal("", refused.Stdout);
        }

        // Once the other one is gone (its lock released, as the kernel does when a process dies) the run goes ahead.
        var flowAfter = Path.Combine(_temp.FullName, "flow.conf");
        await using var third = TremorProcess.Start(["run", flowAfter], _temp.FullName);
        var ran = await third.WaitAsync(TremorProcess.DefaultTimeout);
        Assert.True(ran.ExitCode == 0, ran.ToString());
        Assert.NotEqual("", ran.Stdout);
    }
}
