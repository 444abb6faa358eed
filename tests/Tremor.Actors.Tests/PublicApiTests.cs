using System.Runtime.CompilerServices;
using PublicApiGenerator;

namespace Tremor.Actors.Tests;

/// <summary>
/// The runtime's public surface is what the CLI (and the cluster) build on: the actors they message and their
/// messages, the configuration model, plugin discovery and the catalog. Everything else is internal, so any change to
/// what stays public is a visible decision. When this fails, read PublicApi.received.txt; if the change is intended,
/// copy it over PublicApi.verified.txt.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one()
    {
        var api = typeof(World).Assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).ReplaceLineEndings("\n");
        var folder = Folder();
        var verified = Path.Combine(folder, "PublicApi.verified.txt");
        var received = Path.Combine(folder, "PublicApi.received.txt");
        var expected = File.Exists(verified) ? File.ReadAllText(verified).ReplaceLineEndings("\n") : "";
        if (api != expected)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of Tremor.Actors changed. Compare {received} with {verified}; if intended, copy it over.");
        }
        File.Delete(received);
    }

    private static string Folder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
