using System.Diagnostics;
using System.Text;
using Tremor.Native.Isolation;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>
/// isolation = process: the plugin runs in a tremor-plugin-host child; a segfault, abort, hang or exhausted
/// memory-limit fails the call in flight (with how the child died) and leaves this test process running.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class IsolationTests(NativeFixture fixture)
{
    private static readonly IsolationOptions s_options = new(TimeSpan.FromSeconds(10), null);

    private string CCrasher => Path.Combine(fixture.PluginDir, "c-crasher.so");

    private string NewFile(string name) => Path.Combine(fixture.WorkDir, $"{name}-{Guid.NewGuid():N}.txt");

    private static SinkBatch Batch(params string[] payloads) => FakeHost.Batch(new byte[4096], payloads);

    [Fact]
    public async Task Process_mode_delivers_batches_to_c_blackhole_and_it_counts()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var factory = plugin.CreateIsolatedFactory(s_options);
        Assert.Equal((plugin.ConnectorFactory.Type, plugin.ConnectorFactory.Kinds, plugin.ConnectorFactory.DefaultCodec), (factory.Type, factory.Kinds, factory.DefaultCodec));
        var host = new FakeHost();
        var file = NewFile("isolated-blackhole");

        var connector = factory.Create(FakeHost.Context(host, ("path", file)));
        Assert.Equal(0, plugin.LiveInstances); // the instance lives in the child, not in this process
        Assert.True(await connector.ConnectAsync(1, default));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(Batch($"{{\"n\":{i}}}", "second"), default));
        }
        await connector.Sink!.OnEndAsync(default);
        await connector.DisposeAsync();

        // destroy's log line travelled back over the control channel.
        Assert.Contains(host.Logs, l => l.Message == "c-blackhole: 20 events, 130 bytes in 10 batches");
        var written = File.ReadAllLines(file);
        Assert.Equal(20, written.Length);
        Assert.Equal("{\"n\":9}", written[18]);
    }

    [Fact]
    public async Task A_large_batch_grows_the_shared_region_and_arrives_intact()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var file = NewFile("isolated-large");
        await using var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost(), ("path", file)));
        Assert.True(await connector.ConnectAsync(1, default));
        var payloads = Enumerable.Range(0, 3000).Select(i => new string((char)('a' + (i % 26)), 1000 + i)).ToArray();
        var batch = FakeHost.Batch(new byte[payloads.Sum(p => p.Length)], payloads);
        Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(batch, default));
        // A payload outside the batch bytes is appended to the region, not lost.
        var outside = Encoding.UTF8.GetBytes("elsewhere");
        var id = new EventId(1, 0, 9, 9);
        var mixed = new SinkBatch([new SinkEvent(id, 1, outside, new Event { Id = id, Data = "elsewhere" })], ReadOnlyMemory<byte>.Empty);
        Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(mixed, default));
        Assert.Equal([.. payloads, "elsewhere"], File.ReadAllLines(file));
    }

    [Fact]
    public async Task A_source_runs_in_process_mode_too()
    {
        using var plugin = NativePluginLoader.Load(fixture.CCounter);
        await using var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost(), ("iterations", 5), ("fail-connects", 1), ("stream-id", 7)));
        Assert.Null(connector.Sink);
        Assert.False(await connector.ConnectAsync(1, default));
        Assert.True(await connector.ConnectAsync(2, default));
        var batch = new SourceBatch(3);
        var texts = new List<string>();
        var ends = 0;
        PullStatus status;
        do
        {
            batch.Clear();
            status = await connector.Source!.PullAsync(batch, default);
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].IsStreamEnd) ends++;
                else texts.Add(Encoding.UTF8.GetString(batch[i].Data.Span));
            }
        }
        while (status != PullStatus.Finished);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{{\"count\":{i}}}"), texts);
        Assert.Equal(1, ends);
    }

    [Theory]
    [InlineData("segfault", "plugin host process died: killed by signal 11 (SIGSEGV)")]
    [InlineData("abort", "plugin host process died: killed by signal 6 (SIGABRT)")]
    public async Task A_crash_fails_the_call_and_a_new_instance_works(string mode, string expected)
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        var factory = plugin.CreateIsolatedFactory(s_options);
        var file = NewFile($"crasher-{mode}");

        var crashing = factory.Create(FakeHost.Context(new FakeHost(), ("mode", mode), ("path", file)));
        Assert.True(await crashing.ConnectAsync(1, default));
        Assert.Equal(SinkReply.Acked, await crashing.Sink!.OnBatchAsync(Batch("fine"), default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await crashing.Sink!.OnBatchAsync(Batch("ok", "a POISON event"), default));
        Assert.Equal($"c-crasher (test::native): sink_batch: {expected}", error.Message);
        // The instance stays dead: every further call says so.
        var again = await Assert.ThrowsAsync<NativePluginException>(async () => await crashing.Sink!.OnBatchAsync(Batch("x"), default));
        Assert.Contains(expected, again.Message, StringComparison.Ordinal);
        await crashing.DisposeAsync();

        // What the runtime does after the backoff: factory.Create + ConnectAsync, then the retry without the poison.
        await using var fresh = factory.Create(FakeHost.Context(new FakeHost(), ("mode", mode), ("path", file)));
        Assert.True(await fresh.ConnectAsync(1, default));
        Assert.Equal(SinkReply.Acked, await fresh.Sink!.OnBatchAsync(Batch("ok", "after"), default));
        Assert.Equal(["fine", "ok", "after"], File.ReadAllLines(file));
    }

    [Fact]
    public async Task A_hang_is_killed_after_the_call_timeout()
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        var factory = plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(1), null));
        await using var connector = (IsolatedConnector)factory.Create(FakeHost.Context(new FakeHost(), ("mode", "hang")));
        Assert.True(await connector.ConnectAsync(1, default));
        using var child = Process.GetProcessById(connector.ProcessId);

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("POISON"), default));
        watch.Stop();

        Assert.Equal("c-crasher (test::native): sink_batch: call exceeded call-timeout 1s: plugin host process killed (SIGKILL)", error.Message);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8));
        Assert.True(child.WaitForExit(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Exhausting_the_memory_limit_fails_the_call_and_says_so()
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        var factory = plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(20), 64L << 20));
        await using var connector = factory.Create(FakeHost.Context(new FakeHost(), ("mode", "oom")));
        Assert.True(await connector.ConnectAsync(1, default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("POISON"), default));
        Assert.StartsWith("c-crasher (test::native): sink_batch: plugin host process died: killed by signal 6 (SIGABRT): it exceeded memory-limit 64MiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_child_killed_from_outside_fails_the_next_call()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        await using var connector = (IsolatedConnector)plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost()));
        Assert.True(await connector.ConnectAsync(1, default));
        using (var child = Process.GetProcessById(connector.ProcessId))
        {
            child.Kill();
            Assert.True(child.WaitForExit(TimeSpan.FromSeconds(5)));
        }
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("x"), default));
        Assert.Equal("c-blackhole (test::native): sink_batch: plugin host process died: killed by signal 9 (SIGKILL)", error.Message);
    }

    [Fact]
    public async Task The_host_runs_on_the_callers_cpu_during_sink_calls_and_on_its_own_affinity_otherwise()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        await using var connector = (IsolatedConnector)plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost()));
        var own = CpusAllowed(connector.ProcessId);
        Assert.True(await connector.ConnectAsync(1, default));
        Assert.Equal(own, CpusAllowed(connector.ProcessId));
        Assert.Equal(-1, connector.HostCpu);

        Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(Batch("{}"), default));
        if (own.Count > 1)
        {
            // Kept on the CPU the calling thread ran on (one of the host's own), until another kind of call.
            Assert.Contains(connector.HostCpu, own);
            Assert.Equal([connector.HostCpu], CpusAllowed(connector.ProcessId));
            await connector.OnPauseAsync(default);
            Assert.Equal(-1, connector.HostCpu);
            Assert.Equal(own, CpusAllowed(connector.ProcessId));
        }
        else
        {
            // One CPU: nothing to follow, the host's affinity is never touched.
            Assert.Equal(-1, connector.HostCpu);
            Assert.Equal(own, CpusAllowed(connector.ProcessId));
        }
    }

    [Fact]
    public async Task With_host_cpu_any_the_hosts_affinity_is_never_touched()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var options = s_options with { FollowCallerCpu = false };
        await using var connector = (IsolatedConnector)plugin.CreateIsolatedFactory(options).Create(FakeHost.Context(new FakeHost()));
        var own = CpusAllowed(connector.ProcessId);
        Assert.True(await connector.ConnectAsync(1, default));
        for (var i = 0; i < 5; i++) Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(Batch("{}"), default));
        Assert.Equal(-1, connector.HostCpu);
        Assert.Equal(own, CpusAllowed(connector.ProcessId));
    }

    /// <summary>The CPUs the process's main thread may run on, from <c>Cpus_allowed_list</c> (e.g. <c>0-1,4</c>).</summary>
    private static List<int> CpusAllowed(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
        var cpus = new List<int>();
        foreach (var range in line["Cpus_allowed_list:".Length..].Trim().Split(','))
        {
            var ends = range.Split('-');
            var first = int.Parse(ends[0]);
            var last = ends.Length > 1 ? int.Parse(ends[1]) : first;
            for (var cpu = first; cpu <= last; cpu++) cpus.Add(cpu);
        }
        return cpus;
    }

    [Fact]
    public async Task A_rust_panic_in_the_child_is_an_error_status_and_the_child_lives_on()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        await using var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost(), ("panic-on-batch", 2)));
        Assert.True(await connector.ConnectAsync(1, default));
        Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(Batch("a"), default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("b"), default));
        Assert.Equal(-3, error.Status);
        Assert.Equal("rust-sink (test::native): sink_batch: panic: batch 2 panics on purpose (panic-on-batch = 2) (panic caught at the boundary)", error.Message);
    }

    [Fact]
    public async Task Asynchronous_acks_from_the_plugins_thread_reach_the_host_by_destroy()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        var host = new FakeHost();
        var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(host, ("async", true)));
        var batch = Batch("one", "two", "three");
        Assert.Equal(SinkReply.Pending, await connector.Sink!.OnBatchAsync(batch, default));

        // Acks travel as frames read during calls; destroy joins the ack thread, so all have arrived once it returned.
        await connector.DisposeAsync();
        Assert.Equal(batch.Events.Select(e => e.Id), host.Acked.OrderBy(id => id.Sequence));
        Assert.Contains(host.Logs, l => l.Message == "rust-sink: 3 events, 11 bytes in 1 batches");
    }

    public static TheoryData<string> Defects => new(NativeFixture.Defects);

    [Theory]
    [MemberData(nameof(Defects))]
    public void The_child_refuses_a_bad_plugin_with_the_same_line_as_the_loader(string defect)
    {
        var path = fixture.DefectPlugin(defect);
        var expected = NativePluginLoader.Inspect(path);
        Assert.False(expected.Accepted);
        var factory = new IsolatedConnectorFactory(path, "probe-sink", "", ConnectorKinds.Sink, "json", 0, s_options);
        var error = Assert.Throws<NativePluginRefusedException>(() => factory.Create(FakeHost.Context(new FakeHost())));
        Assert.Equal(expected.Refusal, error.Message);
    }

    [Fact]
    public void A_config_error_in_the_child_is_a_ConfigException_as_in_process()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        // The schema lets an integer through; the plugin's create refuses a negative one with TREMOR_ERROR_CONFIG.
        var context = FakeHost.Context(new FakeHost(), ("fail-every", -1));
        var inProcess = Assert.Throws<ConfigException>(() => plugin.ConnectorFactory.Create(context));
        var isolated = Assert.Throws<ConfigException>(() => plugin.CreateIsolatedFactory(s_options).Create(context));
        Assert.Equal(inProcess.Message, isolated.Message);
        Assert.Equal("test.config: c-blackhole: fail-every: expected a non-negative integer", isolated.Message);
    }

    [Fact]
    public async Task The_child_gets_a_scrubbed_environment_and_only_the_descriptors_it_needs()
    {
        Environment.SetEnvironmentVariable("TREMOR_TEST_SECRET", "do-not-leak");
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        await using var connector = (IsolatedConnector)plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost()));
        var environment = File.ReadAllText($"/proc/{connector.ProcessId}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(environment, v => Assert.True(v.StartsWith("PATH=", StringComparison.Ordinal) || v.StartsWith("LANG=", StringComparison.Ordinal), v));
        // stdin (/dev/null), stdout (= stderr), stderr, the two control channel ends, the shared region.
        var descriptors = Directory.GetFiles($"/proc/{connector.ProcessId}/fd");
        Assert.InRange(descriptors.Length, 5, 6);
        // The region file is unlinked once the child has it open.
        var region = Assert.Single(descriptors.Select(fd => new FileInfo(fd).LinkTarget ?? ""), t => t.Contains("tremor-plugin-", StringComparison.Ordinal));
        Assert.EndsWith("(deleted)", region, StringComparison.Ordinal);
    }

    /// <summary>True while <paramref name="pid"/> is (or is the zombie of) a plugin host; a reused pid is someone else.</summary>
    private static bool IsPluginHost(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Contains("(tremor-plugin-", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Restarts_leak_no_descriptors_and_no_processes()
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        var factory = plugin.CreateIsolatedFactory(s_options);
        // Warm up once (thread pool, SIGCHLD handling and the like open descriptors on first use).
        await CrashOnce();
        var before = Directory.GetFiles("/proc/self/fd").Length;
        var pids = new List<int>();
        for (var i = 0; i < 5; i++) pids.Add(await CrashOnce());
        var after = Directory.GetFiles("/proc/self/fd").Length;
        Assert.InRange(after, 0, before + 4);
        Assert.All(pids, pid => Assert.False(IsPluginHost(pid), $"plugin host {pid} was not reaped"));

        async Task<int> CrashOnce()
        {
            var connector = (IsolatedConnector)factory.Create(FakeHost.Context(new FakeHost(), ("mode", "segfault")));
            var pid = connector.ProcessId;
            await connector.ConnectAsync(1, default);
            await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("POISON"), default));
            await connector.DisposeAsync();
            await using var healthy = factory.Create(FakeHost.Context(new FakeHost(), ("mode", "segfault")));
            await healthy.ConnectAsync(1, default);
            await healthy.Sink!.OnBatchAsync(Batch("fine"), default);
            return pid;
        }
    }

    /// <summary>The live (not zombie) processes of process group <paramref name="group"/>.</summary>
    private static List<int> LiveMembers(int group)
    {
        var members = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) == group) members.Add(pid);
            }
            catch (IOException)
            {
            }
        }
        return members;
    }

    [Theory]
    [InlineData("fork-segfault")]
    [InlineData("fork-forever")]
    public async Task A_plugin_that_forks_then_crashes_is_reported_as_its_signal_and_its_child_is_killed(string mode)
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        // A call-timeout far beyond the test: a death noticed only through the watchdog would say so and take a minute.
        var factory = plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromMinutes(1), null));
        var file = NewFile($"crasher-{mode}");
        var crashing = (IsolatedConnector)factory.Create(FakeHost.Context(new FakeHost(), ("mode", mode), ("path", file)));
        var group = crashing.ProcessId;
        Assert.True(await crashing.ConnectAsync(1, default));
        Assert.Equal(SinkReply.Acked, await crashing.Sink!.OnBatchAsync(Batch("fine"), default));

        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await crashing.Sink!.OnBatchAsync(Batch("ok", "a POISON event"), default));
        Assert.Equal("c-crasher (test::native): sink_batch: plugin host process died: killed by signal 11 (SIGSEGV)", error.Message);
        // The child the plugin forked (it held the control pipe) went with the host's process group.
        Assert.True(SpinWait.SpinUntil(() => LiveMembers(group).Count == 0, TimeSpan.FromSeconds(10)), $"left running: {string.Join(", ", LiveMembers(group))}");
        await crashing.DisposeAsync();

        await using var fresh = factory.Create(FakeHost.Context(new FakeHost(), ("mode", mode), ("path", file)));
        Assert.True(await fresh.ConnectAsync(1, default));
        Assert.Equal(SinkReply.Acked, await fresh.Sink!.OnBatchAsync(Batch("ok", "after"), default));
        Assert.Equal(["fine", "ok", "after"], File.ReadAllLines(file));
    }

    [Fact]
    public async Task A_plugin_that_forks_then_hangs_is_killed_by_the_call_timeout_with_its_child()
    {
        using var plugin = NativePluginLoader.Load(CCrasher);
        var factory = plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(1), null));
        await using var connector = (IsolatedConnector)factory.Create(FakeHost.Context(new FakeHost(), ("mode", "fork-hang")));
        var group = connector.ProcessId;
        Assert.True(await connector.ConnectAsync(1, default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("POISON"), default));
        Assert.Equal("c-crasher (test::native): sink_batch: call exceeded call-timeout 1s: plugin host process killed (SIGKILL)", error.Message);
        Assert.True(SpinWait.SpinUntil(() => LiveMembers(group).Count == 0, TimeSpan.FromSeconds(10)), $"left running: {string.Join(", ", LiveMembers(group))}");
    }

    [Fact]
    public async Task Stopping_an_instance_kills_what_its_plugin_forked()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var connector = (IsolatedConnector)plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost()));
        var group = connector.ProcessId;
        // The host leads its own process group, so a restart or stop can take everything in it.
        Assert.Contains(group, LiveMembers(group));
        await connector.DisposeAsync();
        Assert.True(SpinWait.SpinUntil(() => LiveMembers(group).Count == 0, TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("garbage", "protocol violation: the plugin host sent a frame of unknown type")]
    [InlineData("big-region", "protocol violation: the plugin host reported a shared region of 1099511627776 bytes, more than max-region-size 268435456")]
    [InlineData("short-region", "protocol violation: the plugin host reported a shared region of 67108864 bytes, but the file holds 1048576")]
    public async Task Garbage_or_a_forged_region_on_the_control_pipe_is_a_protocol_violation(string mode, string expected)
    {
        using var plugin = NativePluginLoader.Load(fixture.HostileSink);
        var factory = plugin.CreateIsolatedFactory(s_options);
        await using var connector = factory.Create(FakeHost.Context(new FakeHost(), ("mode", mode)));
        Assert.True(await connector.ConnectAsync(1, default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(Batch("x"), default));
        Assert.StartsWith($"hostile-sink (test::native): sink_batch: {expected}", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("; plugin host process killed (SIGKILL)", error.Message, StringComparison.Ordinal);

        // This process is unharmed and a new instance serves.
        await using var fresh = factory.Create(FakeHost.Context(new FakeHost(), ("mode", "none")));
        Assert.Equal(SinkReply.Acked, await fresh.Sink!.OnBatchAsync(Batch("y"), default));
    }

    [Fact]
    public async Task The_child_cannot_shrink_the_shared_region_under_this_process()
    {
        using var plugin = NativePluginLoader.Load(fixture.HostileSink);
        await using var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(new FakeHost(), ("mode", "shrink-region")));
        // Had it shrunk, this process's next access to the region past the end of the file would be SIGBUS.
        var reply = await connector.Sink!.OnBatchAsync(Batch("x"), default);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Equal("shrink refused: Operation not permitted", reply.Error);
    }

    [Fact]
    public async Task A_batch_larger_than_max_region_size_fails_and_names_the_key()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        await using var connector = plugin.CreateIsolatedFactory(new IsolationOptions(TimeSpan.FromSeconds(10), null, 64 << 10)).Create(FakeHost.Context(new FakeHost()));
        Assert.Equal(SinkReply.Acked, await connector.Sink!.OnBatchAsync(Batch("small"), default));
        var big = new string('x', 100_000);
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[big.Length], big), default));
        Assert.Equal("c-blackhole (test::native): sink_batch: the batch needs 100032 bytes of shared region, more than max-region-size 65536 (raise max-region-size or lower the batch size)", error.Message);
    }

    [Fact]
    public async Task Acks_of_events_from_two_sources_with_the_same_sequence_reach_each_its_own_source()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        var host = new FakeHost();
        var connector = plugin.CreateIsolatedFactory(s_options).Create(FakeHost.Context(host, ("async", true)));
        var batch = TwoSources.Batch();
        Assert.Equal(SinkReply.Pending, await connector.Sink!.OnBatchAsync(batch, default));
        await connector.DisposeAsync();
        Assert.Equal(batch.Events.Select(e => e.Id).OrderBy(id => id.SourceId), host.Acked.OrderBy(id => id.SourceId));
    }
}
