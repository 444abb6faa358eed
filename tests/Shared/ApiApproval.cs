using System.Reflection;
using PublicApiGenerator;
using Xunit;

namespace Tremor.Tests;

/// <summary>
/// An approval test of an assembly's public surface: the generated API must equal the PublicApi.verified.txt beside
/// the test, so any change to what is public is a visible decision. On a difference it writes
/// PublicApi.received.txt there; if the change is intended, copy it over PublicApi.verified.txt.
/// </summary>
public static class ApiApproval
{
    public static void AssertApproved(Assembly assembly, string folder)
    {
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).ReplaceLineEndings("\n");
        var verified = Path.Combine(folder, "PublicApi.verified.txt");
        var received = Path.Combine(folder, "PublicApi.received.txt");
        var expected = File.Exists(verified) ? File.ReadAllText(verified).ReplaceLineEndings("\n") : "";
        if (api != expected)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of {assembly.GetName().Name} changed. Compare {received} with {verified}; if intended, copy it over.");
        }
        File.Delete(received);
    }
}
