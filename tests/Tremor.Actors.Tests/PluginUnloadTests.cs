using System.Runtime.CompilerServices;
using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

public sealed class PluginUnloadTests
{
    private static readonly PluginSettings NoTrust = new([], new Dictionary<string, string>(), false);

    private static string BuiltPlugin(string name) =>
        Path.Combine(PluginDiscovery.SearchDirectories([])[^1], name, name + ".dll");

    [Fact]
    public void An_unloaded_managed_plugin_s_load_context_is_collected()
    {
        var context = LoadUseAndUnload();
        for (var round = 0; round < 10 && context.IsAlive; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(context.IsAlive, "the plugin's load context is still alive after 10 rounds of GC.Collect");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadUseAndUnload()
    {
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, NoTrust);
        var record = discovery.LoadOne(BuiltPlugin("Tremor.Connectors.Std"));
        Assert.Equal(PluginStatus.Loaded, record.Status);
        // Use it: an instance is created and disposed, as a flow would.
        var factory = catalog.Connector("metronome", "test");
        var instance = factory.Create(new ConnectorContext(new Connectors.DetachedPluginHost("test"), new PluginConfig("c", null)));
        instance.DisposeAsync().AsTask().Wait();
        var context = discovery.LoadContextReference("std")!;
        Assert.True(discovery.Unload("std"));
        Assert.Throws<ConfigException>(() => catalog.Connector("metronome", "test"));
        Assert.DoesNotContain(catalog.Records, r => r.Name == "std");
        return context;
    }

    [Fact]
    public void A_plugin_not_in_the_trust_list_is_refused_with_its_hash_when_trust_is_required()
    {
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, new PluginSettings([], new Dictionary<string, string>(), RequireTrusted: true));
        var path = BuiltPlugin("Tremor.Connectors.Std");
        var record = discovery.LoadOne(path);
        Assert.Equal(PluginStatus.Refused, record.Status);
        Assert.Contains(ManagedPluginLoader.Sha256(path), record.Reason);
        Assert.Contains("not trusted", record.Reason);

        var trusted = new PluginDiscovery(new PluginCatalog(), new PluginSettings([], new Dictionary<string, string> { ["Tremor.Connectors.Std"] = ManagedPluginLoader.Sha256(path) }, RequireTrusted: true));
        Assert.Equal(PluginStatus.Loaded, trusted.LoadOne(path).Status);
        trusted.UnloadAll();
    }

    [Fact]
    public void A_wrong_trusted_hash_refuses_the_file_naming_both_hashes()
    {
        var path = BuiltPlugin("Tremor.Connectors.File");
        var wrong = new string('0', 64);
        var discovery = new PluginDiscovery(new PluginCatalog(), new PluginSettings([], new Dictionary<string, string> { ["Tremor.Connectors.File"] = wrong }, false));
        var record = discovery.LoadOne(path);
        Assert.Equal(PluginStatus.Refused, record.Status);
        Assert.Contains(wrong, record.Reason);
        Assert.Contains(ManagedPluginLoader.Sha256(path), record.Reason);
    }
}
