using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

[Collection(NativeCollection.Name)]
public sealed class NativeConnectorTests(NativeFixture fixture)
{
    [Fact]
    public void The_sample_plugins_pass_every_check()
    {
        var counter = NativePluginLoader.Inspect(fixture.CCounter);
        Assert.True(counter.Accepted, counter.Refusal);
        Assert.Equal(("c-counter", "0.1.0", ConnectorKinds.Source, 1, 2), (counter.Name, counter.Version, counter.Kinds, counter.AbiMajor, counter.AbiMinor));
        Assert.Contains("iterations", counter.ConfigSchema, StringComparison.Ordinal);

        var blackhole = NativePluginLoader.Inspect(fixture.CBlackhole);
        Assert.True(blackhole.Accepted, blackhole.Refusal);
        Assert.Equal(("c-blackhole", ConnectorKinds.Sink), (blackhole.Name, blackhole.Kinds));

        var rust = NativePluginLoader.Inspect(fixture.RustSink);
        Assert.True(rust.Accepted, rust.Refusal);
        Assert.Equal(("rust-sink", ConnectorKinds.Sink, 1), (rust.Name, rust.Kinds, rust.AbiMinor));
        Assert.All(rust.Checks, c => Assert.True(c.Passed, c.Detail));

        Assert.True(NativePluginLoader.LooksLikeNativePlugin(fixture.CCounter));
    }

    [Fact]
    public async Task The_c_sink_receives_slices_pointing_into_the_batch_bytes()
    {
        using var plugin = NativePluginLoader.Load(fixture.ProbePlugin);
        var host = new FakeHost();
        var bytes = GC.AllocateArray<byte>(256, pinned: true);
        var batch = FakeHost.Batch(bytes, "{\"a\":1}", "{\"b\":22}", "x");

        await using (var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host)))
        {
            Assert.True(await connector.ConnectAsync(1, default));
            Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(batch, default)).Status);
        }

        var address = AddressOf(bytes);
        var lines = host.Logs.Select(l => l.Message).ToList();
        Assert.Equal($"bytes={address} len=16 count=3", lines[0]);
        Assert.Equal($"slice={address} len=7 id=1", lines[1]);
        Assert.Equal($"slice={address + 7} len=8 id=2", lines[2]);
        Assert.Equal($"slice={address + 15} len=1 id=3", lines[3]);
    }

    private static unsafe ulong AddressOf(byte[] pinned)
    {
        fixed (byte* p = pinned) return (ulong)p;
    }

    [Fact]
    public async Task The_c_blackhole_counts_and_writes_every_event()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        Assert.Equal(new PluginManifest("c-blackhole", "0.1.0", plugin.Manifest.Description, "abi 1.2"), plugin.Manifest);
        Assert.Equal("c-blackhole", plugin.ConnectorFactory.Type);
        Assert.Equal("json", plugin.ConnectorFactory.DefaultCodec);
        var host = new FakeHost();
        var file = Path.Combine(fixture.WorkDir, $"blackhole-{Guid.NewGuid():N}.txt");

        var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("path", file)));
        Assert.Equal(1, plugin.LiveInstances);
        Assert.True(await connector.ConnectAsync(1, default));
        for (var i = 0; i < 10; i++)
        {
            var reply = await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[64], $"{{\"n\":{i}}}", "second"), default);
            Assert.Equal(SinkReply.Acked, reply);
        }
        await connector.Sink!.OnEndAsync(default);
        await connector.DisposeAsync();

        Assert.Equal(0, plugin.LiveInstances);
        Assert.Contains(host.Logs, l => l.Message == "c-blackhole: 20 events, 130 bytes in 10 batches");
        var written = File.ReadAllLines(file);
        Assert.Equal(20, written.Length);
        Assert.Equal("{\"n\":9}", written[18]);
    }

    [Fact]
    public async Task Payloads_outside_the_batch_bytes_still_reach_the_sink_intact()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var file = Path.Combine(fixture.WorkDir, $"scattered-{Guid.NewGuid():N}.txt");
        var inOrder = FakeHost.Batch(new byte[64], "alpha", "beta", "gamma");
        // Reversed order and a payload from another array: not back to back in Bytes.
        var events = new List<SinkEvent> { inOrder.Events[2], inOrder.Events[0], inOrder.Events[1] with { Payload = Encoding.UTF8.GetBytes("elsewhere") } };
        await using var connector = plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost(), ("path", file)));
        Assert.True(await connector.ConnectAsync(1, default));
        Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(new SinkBatch(events, inOrder.Bytes), default)).Status);
        Assert.Equal(["gamma", "alpha", "elsewhere"], File.ReadAllLines(file));
    }

    [Fact]
    public async Task An_error_status_surfaces_as_a_NativePluginException()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var host = new FakeHost();
        await using var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("fail-every", 2), ("reject-every", 3)));
        Assert.True(await connector.ConnectAsync(1, default));

        Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "a"), default)).Status);
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "b"), default));
        Assert.Equal("c-blackhole (test::native): sink_batch: batch 2 fails on purpose (fail-every = 2)", error.Message);
        Assert.Equal(-1, error.Status);

        var rejected = await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "c"), default);
        Assert.Equal(SinkReply.Failed("batch 3 rejected on purpose (reject-every = 3)"), rejected);
    }

    [Fact]
    public void A_bad_config_value_is_a_ConfigException_at_create()
    {
        using var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        // An integer, as the schema asks, that the plugin's own check refuses.
        var error = Assert.Throws<ConfigException>(() => plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost(), ("fail-every", -1))));
        Assert.Equal("test.config: c-blackhole: fail-every: expected a non-negative integer", error.Message);
        Assert.Equal(0, plugin.LiveInstances);
    }

    [Fact]
    public async Task The_c_source_yields_its_events_and_finishes()
    {
        using var plugin = NativePluginLoader.Load(fixture.CCounter);
        var host = new FakeHost();
        await using var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("iterations", 5), ("fail-connects", 1), ("stream-id", 7)));
        Assert.Null(connector.Sink);
        Assert.False(await connector.ConnectAsync(1, default));
        Assert.True(await connector.ConnectAsync(2, default));

        var batch = new SourceBatch(3);
        var texts = new List<string>();
        var statuses = new List<PullStatus>();
        var ends = 0;
        PullStatus status;
        do
        {
            batch.Clear();
            status = await connector.Source!.PullAsync(batch, default);
            statuses.Add(status);
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].IsStreamEnd)
                {
                    ends++;
                    Assert.Equal(7UL, batch[i].StreamId);
                }
                else
                {
                    texts.Add(Encoding.UTF8.GetString(batch[i].Data.Span));
                }
            }
        }
        while (status != PullStatus.Finished);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{{\"count\":{i}}}"), texts);
        Assert.Equal([PullStatus.Data, PullStatus.Finished], statuses);
        Assert.Equal(1, ends);
    }

    [Fact]
    public async Task A_source_error_status_surfaces_as_a_NativePluginException()
    {
        using var plugin = NativePluginLoader.Load(fixture.CCounter);
        await using var connector = plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost(), ("iterations", 100), ("fail-after-batches", 1)));
        Assert.Equal(PullStatus.Data, await connector.Source!.PullAsync(new SourceBatch(4), default));
        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Source!.PullAsync(new SourceBatch(4), default));
        Assert.Equal("c-counter (test::native): pull: pull 2 fails on purpose (fail-after-batches = 1)", error.Message);
    }

    [Fact]
    public async Task A_plugin_built_against_an_older_minor_loads_and_works()
    {
        var inspection = NativePluginLoader.Inspect(fixture.OlderMinorBlackhole);
        Assert.True(inspection.Accepted, inspection.Refusal);
        Assert.Equal((1, 0), (inspection.AbiMajor, inspection.AbiMinor));
        Assert.Null(inspection.Description); // descriptor.description came with 1.1

        using var plugin = NativePluginLoader.Load(fixture.OlderMinorBlackhole);
        Assert.Equal("abi 1.0", plugin.Manifest.PdkVersion);
        var host = new FakeHost();
        await using (var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host)))
        {
            Assert.True(await connector.ConnectAsync(1, default));
            Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[32], "old", "minor"), default)).Status);
            await connector.OnDrainAsync(default); // no lifecycle entry in 1.0: nothing is called
            await connector.Sink!.OnEndAsync(default);
        }
        Assert.Contains(host.Logs, l => l.Message == "c-blackhole: 2 events, 8 bytes in 1 batches");
    }

    [Fact]
    public async Task A_rust_panic_is_reported_as_an_error_status_not_an_abort()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        var host = new FakeHost();
        var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("panic-on-batch", 2)));
        Assert.True(await connector.ConnectAsync(1, default));
        Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "a"), default)).Status);

        var error = await Assert.ThrowsAsync<NativePluginException>(async () => await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "b"), default));
        Assert.Equal(-3, error.Status);
        Assert.Equal("rust-sink (test::native): sink_batch: panic: batch 2 panics on purpose (panic-on-batch = 2) (panic caught at the boundary)", error.Message);

        // The supervisor destroys the broken instance and creates a new one.
        await connector.DisposeAsync();
        await using var fresh = plugin.ConnectorFactory.Create(FakeHost.Context(host));
        Assert.Equal(SinkStatus.Ack, (await fresh.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "c"), default)).Status);
    }

    [Fact]
    public async Task The_rust_sink_acks_asynchronously_from_its_own_thread()
    {
        using var plugin = NativePluginLoader.Load(fixture.RustSink);
        var host = new FakeHost();
        var connector = plugin.ConnectorFactory.Create(FakeHost.Context(host, ("async", true)));
        var batch = FakeHost.Batch(new byte[64], "one", "two", "three");
        Assert.Equal(SinkReply.Pending, await connector.Sink!.OnBatchAsync(batch, default));

        // destroy joins the ack thread, so every ack has arrived once it returned.
        await connector.DisposeAsync();
        Assert.Equal(batch.Events.Select(e => e.Id), host.Acked.OrderBy(id => id.Sequence));
        Assert.Contains(host.Logs, l => l.Message == "rust-sink: 3 events, 11 bytes in 1 batches");
    }

    [Fact]
    public async Task Dispose_defers_unloading_until_the_last_instance_is_destroyed()
    {
        var plugin = NativePluginLoader.Load(fixture.CBlackhole);
        var connector = plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost()));
        plugin.Dispose();
        Assert.True(plugin.IsDisposed);
        Assert.Equal(1, plugin.LiveInstances);
        Assert.Throws<ObjectDisposedException>(() => plugin.ConnectorFactory.Create(FakeHost.Context(new FakeHost())));

        // Still loaded: the live instance keeps working.
        Assert.Equal(SinkStatus.Ack, (await connector.Sink!.OnBatchAsync(FakeHost.Batch(new byte[16], "late"), default)).Status);
        await connector.DisposeAsync();
        Assert.Equal(0, plugin.LiveInstances);
    }

    [Fact]
    public void Inspection_lists_every_check_in_order()
    {
        var inspection = NativePluginLoader.Inspect(fixture.CCounter);
        Assert.Equal(
            ["elf magic", "elf type", "architecture", "truncation", "dlopen", "entry symbol", "magic", "abi major", "abi minor", "descriptor size", "layout", "name and version", "kinds", "vtable"],
            inspection.Checks.Select(c => c.Name));
        Assert.Equal(64, inspection.Sha256!.Length);
        Assert.Equal(string.Format(CultureInfo.InvariantCulture, "{0} rows match", 82), inspection.Checks.Single(c => c.Name == "layout").Detail);
    }
}
