using System.Security.Cryptography;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>
/// Plugins written to hurt the loader: constructors that abort, segfault or hang, descriptors with bad pointers or
/// hostile names. Each is refused with one line naming the file and what happened, and this process (the runtime's
/// stand-in) goes on loading and running good plugins. Swapping the file under a loaded plugin changes nothing.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class HostilePluginTests(NativeFixture fixture)
{
    private static readonly IsolationOptions s_isolation = new(TimeSpan.FromSeconds(10), null);

    public static TheoryData<string, string> ConstructorDeaths => new()
    {
        { "HOSTILE_CTOR_ABORT", "killed by signal 6 (SIGABRT) while loading (in its static constructors); its last output: \"hostile constructor: aborting\"" },
        { "HOSTILE_CTOR_SEGV", "killed by signal 11 (SIGSEGV) while loading (in its static constructors)" },
    };

    [Theory]
    [MemberData(nameof(ConstructorDeaths))]
    public async Task A_constructor_that_dies_is_refused_naming_the_signal_and_the_runtime_keeps_running_plugins(string build, string found)
    {
        var path = fixture.DefectPlugin(build);

        var inspection = NativePluginLoader.Inspect(path);

        Assert.False(inspection.Accepted);
        Assert.Equal($"{path}: inspection: expected the inspector to read the descriptor and exit 0, found {found}", inspection.Refusal);
        await AssertGoodPluginStillRuns();
    }

    [Fact]
    public async Task A_constructor_that_hangs_is_refused_after_the_inspect_timeout()
    {
        var path = fixture.DefectPlugin("HOSTILE_CTOR_HANG");

        var inspection = NativePluginLoader.Inspect(path, null, TimeSpan.FromSeconds(1));

        Assert.Equal(
            $"{path}: inspection: expected the inspector to read the descriptor and exit 0, found no answer within 1s (hung while loading (in its static constructors); the inspector was killed)",
            inspection.Refusal);
        await AssertGoodPluginStillRuns();
    }

    [Fact]
    public void A_name_pointer_into_unmapped_memory_is_refused_not_dereferenced_here()
    {
        var path = fixture.DefectPlugin("HOSTILE_NAME_POINTER");

        var refused = Assert.Throws<NativePluginRefusedException>(() => NativePluginLoader.Load(path));

        Assert.Equal($"{path}: descriptor.name: expected a readable NUL-terminated string, found pointer 0x0000000000000010 (unreadable memory)", refused.Message);
    }

    public static TheoryData<string, string> HostileNames => new()
    {
        { "HOSTILE_NAME_SLASH", "\"a/b\"" },
        { "HOSTILE_NAME_DOTDOT", "\"../up\"" },
        { "HOSTILE_NAME_SHELL", "\"x;$(touch pwned)\"" },
        { "HOSTILE_NAME_NEWLINE", "\"evil\\nrefused: fake\"" },
        { "HOSTILE_NAME_ANSI", "\"\\x1b[31mred\"" },
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_name_outside_the_rule_is_refused_with_the_rule_and_printed_escaped(string build, string quoted)
    {
        var path = fixture.DefectPlugin(build);

        var inspection = NativePluginLoader.Inspect(path);

        Assert.Equal($"{path}: descriptor.name: expected a plugin name: {PluginNames.Rule}, found {quoted}", inspection.Refusal);
        Assert.DoesNotContain(inspection.Refusal!, c => char.IsControl(c));
    }

    [Fact]
    public async Task An_accepted_plugin_is_loaded_into_this_process_only_when_the_first_in_process_instance_is_created()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        Assert.False(plugin.IsLoadedInProcess);
        var isolated = plugin.CreateIsolatedFactory(s_isolation).Create(FakeHost.Context(new FakeHost(), ("path", NewFile("lazy-isolated"))));
        await isolated.DisposeAsync();
        Assert.False(plugin.IsLoadedInProcess);

        await using var connector = plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost(), ("path", NewFile("lazy"))));

        Assert.True(plugin.IsLoadedInProcess);
    }

    [Fact]
    public void A_plugin_whose_descriptor_differs_in_this_process_from_the_inspected_one_is_not_run()
    {
        var path = fixture.DefectPlugin("HOSTILE_TWO_FACED");
        using var plugin = NativePluginLoader.Load(path);
        Assert.Equal("0.1.0", plugin.Manifest.Version);

        var refused = Assert.Throws<NativePluginException>(() => plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost())));

        Assert.Equal(
            $"{path}: the descriptor read in this process is not the one the inspector checked (name, version, kinds or flags differ); not running it",
            refused.Message);
        Assert.False(plugin.IsLoadedInProcess);
        Assert.Equal(0, plugin.LiveInstances);
    }

    [Fact]
    public async Task Renaming_another_build_over_the_file_changes_nothing_every_isolated_restart_runs_the_checked_copy()
    {
        var original = fixture.CopyOf(fixture.CBlackhole, $"swapped-{Guid.NewGuid():N}.so");
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(original)));
        using var plugin = NativePluginLoader.Load(original);
        var factory = plugin.CreateIsolatedFactory(s_isolation);
        var first = NewFile("before-swap");
        await using (var connector = factory.Create(FakeHost.Context(new FakeHost(), ("path", first))))
        {
            Assert.True(await connector.ConnectAsync(1, default));
            Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[64], "before"), default));
        }

        // An untrusted build (its constructor aborts) renamed over the trusted file, as an attacker or a careless deploy would.
        var impostor = fixture.CopyOf(fixture.DefectPlugin("HOSTILE_CTOR_ABORT"), $"impostor-{Guid.NewGuid():N}.so");
        File.Move(impostor, original, overwrite: true);

        // A restart is a new plugin host process from the same factory: it still runs the checked bytes.
        var second = NewFile("after-swap");
        await using (var restarted = factory.Create(FakeHost.Context(new FakeHost(), ("path", second))))
        {
            Assert.True(await restarted.ConnectAsync(1, default));
            Assert.Equal(SinkReply.Acked, await restarted.Sink!.OnBatchAsync(FakeHost.Batch(new byte[64], "after"), default));
        }
        Assert.Equal(["before"], File.ReadAllLines(first));
        Assert.Equal(["after"], File.ReadAllLines(second));
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(plugin.CheckedCopy))));

        // Loading the file again checks it again: now it is the impostor, refused.
        var reload = NativePluginLoader.Inspect(original);
        Assert.StartsWith($"{original}: inspection: expected the inspector to read the descriptor and exit 0, found killed by signal 6 (SIGABRT)", reload.Refusal);
    }

    private string NewFile(string name) => Path.Combine(fixture.WorkDir, $"{name}-{Guid.NewGuid():N}.txt");

    // A good plugin loads and runs in this very process after the hostile one was refused.
    private async Task AssertGoodPluginStillRuns()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var file = NewFile("still-running");
        await using (var connector = plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost(), ("path", file))))
        {
            Assert.True(await connector.ConnectAsync(1, default));
            Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[64], "alive"), default));
        }
        Assert.Equal(["alive"], File.ReadAllLines(file));
    }
}
