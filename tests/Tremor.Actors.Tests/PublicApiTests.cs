using System.Runtime.CompilerServices;
using Tremor.Tests;

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
        ApiApproval.AssertApproved(typeof(World).Assembly, Folder());
    }

    private static string Folder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
