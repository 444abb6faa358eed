using System.Text.Json;

namespace Tremor.Actors.Tests;

/// <summary>What the single-node runtime pulls in: cluster placement lives in Tremor.Cluster, not here.</summary>
public sealed class DependencyTests
{
    [Fact]
    public void The_runtime_and_its_tests_do_not_depend_on_akka_cluster()
    {
        // The deps file lists every package the build resolved for this test assembly, transitive ones included: the
        // runtime's whole package graph.
        var depsFile = Path.Combine(AppContext.BaseDirectory, "Tremor.Actors.Tests.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        var packages = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();
        Assert.Contains("Akka", packages);
        var clusterPackages = packages.Where(p => p.StartsWith("Akka.Cluster", StringComparison.Ordinal) || p is "Akka.DistributedData" or "Akka.Remote").ToList();
        Assert.True(clusterPackages.Count == 0, $"Tremor.Actors pulls {string.Join(", ", clusterPackages)}; cluster code belongs in Tremor.Cluster");
    }
}
