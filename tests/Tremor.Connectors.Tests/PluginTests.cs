using System.Reflection;
using Tremor.Connectors.Bench;
using Tremor.Connectors.File;
using Tremor.Connectors.Std;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

public sealed class PluginTests
{
    public static TheoryData<Type, string, string[]> Plugins => new()
    {
        { typeof(StdPlugin), "std", ["metronome", "metrics", "stdio", "null", "exit"] },
        { typeof(FilePlugin), "file", ["file"] },
        { typeof(BenchPlugin), "bench", ["bench", "blackhole"] },
    };

    [Theory]
    [MemberData(nameof(Plugins))]
    public void Each_assembly_has_one_plugin_class_the_loader_can_create(Type pluginType, string name, string[] connectorTypes)
    {
        // What the runtime's loader looks for: exactly one public ITremorPlugin with a parameterless constructor.
        var candidates = pluginType.Assembly.GetExportedTypes()
            .Where(t => typeof(ITremorPlugin).IsAssignableFrom(t) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .ToList();
        Assert.Equal(pluginType, Assert.Single(candidates));
        // Deployed as plugins/NAME/NAME.dll, NAME being the project folder.
        Assert.Equal(pluginType.Namespace, pluginType.Assembly.GetName().Name);

        var plugin = (ITremorPlugin)Activator.CreateInstance(pluginType)!;

        Assert.Equal(name, plugin.Manifest.Name);
        Assert.Equal("0.1.0", plugin.Manifest.Version);
        Assert.Equal(PdkVersion.Text, plugin.Manifest.PdkVersion);
        Assert.Equal(connectorTypes, plugin.Connectors.Select(c => c.Type));
        Assert.All(plugin.Connectors, c => Assert.NotEqual(ConnectorKinds.None, c.Kinds));
        Assert.All(plugin.Connectors, c => Assert.False(string.IsNullOrWhiteSpace(c.Description)));
        Assert.All(plugin.Connectors.Where(c => c.Kinds.HasFlag(ConnectorKinds.Sink)), c => Assert.Equal("json", c.DefaultCodec));
    }

    [Fact]
    public void Plugins_reference_only_the_pdk_among_tremor_assemblies()
    {
        foreach (var assembly in new[] { typeof(StdPlugin).Assembly, typeof(FilePlugin).Assembly, typeof(BenchPlugin).Assembly })
        {
            var tremor = assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Tremor.", StringComparison.Ordinal));
            Assert.Equal(["Tremor.Pdk"], tremor);
        }
    }
}
