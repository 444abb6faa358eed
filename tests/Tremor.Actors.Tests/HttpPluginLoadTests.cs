using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Tremor.Actors.Configuration;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>
/// The http plugin needs the ASP.NET Core shared framework (Kestrel); this test process references only
/// Microsoft.NETCore.App, so the plugin loader has to find that framework for the plugin from its runtimeconfig.json.
/// </summary>
public sealed class HttpPluginLoadTests
{
    private static readonly PluginSettings NoTrust = new([], new Dictionary<string, string>(), false);

    private static string BuiltPlugin(string name) =>
        Path.Combine(PluginDiscovery.SearchDirectories([])[^1], name, name + ".dll");

    [Fact]
    public async Task The_http_plugin_loads_and_serves_a_request_in_a_host_without_aspnet()
    {
        var trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        Assert.DoesNotContain("Microsoft.AspNetCore.", trusted, StringComparison.Ordinal);

        var path = BuiltPlugin("Tremor.Connectors.Http");
        Assert.True(File.Exists(path), $"{path} is not built: dotnet build connectors/Tremor.Connectors.Http");
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, NoTrust);
        var record = discovery.LoadOne(path);
        Assert.True(record.Status == PluginStatus.Loaded, record.Reason);

        var factory = catalog.Connector("http_server", "test");
        var config = new ValueRecord();
        config.Set("url", "http://127.0.0.1:0");
        var connector = factory.Create(new ConnectorContext(new Connectors.DetachedPluginHost("test"), new PluginConfig("c", config)));
        try
        {
            Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
            // The bound port is logged, not part of the PDK; find it through the connector's internal property.
            var url = (Uri)connector.GetType().GetProperty("BoundUrl", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.GetValue(connector)!;
            using var client = new HttpClient { BaseAddress = url };
            var responseTask = client.PostAsync("/loaded", new StringContent("{}"));

            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var batch = new SourceBatch(8);
            while (batch.Count == 0) await connector.Source!.PullAsync(batch, patience.Token);
            var meta = batch[0].Meta;
            Assert.Equal("/loaded", meta["http_server"]["request"]["path"].AsString());

            var body = Encoding.UTF8.GetBytes("answered");
            var e = new Event { Id = new EventId(1, 1, 0, 0), Meta = meta };
            await connector.Sink!.OnBatchAsync(new SinkBatch([new SinkEvent(e.Id, 0, body, e)], body), CancellationToken.None);
            using var response = await responseTask.WaitAsync(patience.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("answered", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await connector.OnStopAsync(CancellationToken.None);
            await connector.DisposeAsync();
            discovery.UnloadAll();
        }
    }

    [Fact]
    public async Task The_http_plugin_s_load_context_is_collected_after_a_server_ran_and_the_plugin_was_unloaded()
    {
        var context = await RunAndUnloadAsync();
        for (var round = 0; round < 10 && context.IsAlive; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(context.IsAlive, "the http plugin's load context is still alive after 10 rounds of GC.Collect");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunAndUnloadAsync()
    {
        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, NoTrust);
        Assert.Equal(PluginStatus.Loaded, discovery.LoadOne(BuiltPlugin("Tremor.Connectors.Http")).Status);
        var config = new ValueRecord();
        config.Set("url", "http://127.0.0.1:0");
        config.Set("reply", "accepted");
        var connector = catalog.Connector("http_server", "test").Create(new ConnectorContext(new Connectors.DetachedPluginHost("test"), new PluginConfig("c", config)));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        var url = (Uri)connector.GetType().GetProperty("BoundUrl", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.GetValue(connector)!;
        using (var client = new HttpClient { BaseAddress = url })
        {
            using var response = await client.PostAsync("/", new StringContent("{}")).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        await connector.OnStopAsync(CancellationToken.None);
        await connector.DisposeAsync();
        var context = discovery.LoadContextReference("http")!;
        Assert.True(discovery.Unload("http"));
        return context;
    }
}
