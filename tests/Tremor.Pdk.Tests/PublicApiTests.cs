using System.Runtime.CompilerServices;
using Tremor.Tests;
using Tremor.Pdk;

namespace Tremor.Pdk.Tests;

/// <summary>
/// The PDK's public surface is the plugin authors' contract: any change to it must be a visible decision. When this
/// fails, read PublicApi.received.txt; if the change is intended, copy it over PublicApi.verified.txt (and bump
/// PdkVersion: minor for additions, major for anything that breaks a built plugin).
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one()
    {
        ApiApproval.AssertApproved(typeof(Value).Assembly, Folder());
    }

    [Fact]
    public void The_package_version_plugin_authors_reference_is_the_pdk_version()
    {
        // Tremor.Pdk's package (TremorPdkVersion) and PdkVersion must not drift apart: a plugin author picks the
        // package by the version the runtime prints.
        var informational = typeof(Value).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        Assert.StartsWith(PdkVersion.Text + ".", informational, StringComparison.Ordinal);
        Assert.Equal(PdkVersion.Text, $"{PdkVersion.Major}.{PdkVersion.Minor}");
    }

    [Fact]
    public void The_assembly_version_is_pinned_to_the_major_so_newer_minor_plugins_bind() =>
        Assert.Equal(new Version(PdkVersion.Major, 0, 0, 0), typeof(Value).Assembly.GetName().Version);

    private static string Folder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
