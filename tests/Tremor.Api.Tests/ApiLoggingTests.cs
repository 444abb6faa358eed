using System.Text.RegularExpressions;

namespace Tremor.Api.Tests;

/// <summary>The management API runs in the run's one host: ASP.NET Core's log lines go through <c>tremor.log</c> like tremor's own.</summary>
public sealed class ApiLoggingTests
{
    /// <summary>Like TestKit's AwaitAssert, for output of another process: checks until true or 30 s passed.</summary>
    private static async Task Eventually(Func<bool> condition, string what, TremorProcess tremor)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}\n{tremor.Stderr}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_category_level_in_tremor_log_turns_on_asp_net_cores_request_lines_in_tremors_format()
    {
        await using var tremor = await TremorProcess.StartAsync("""tremor.log.categories { "Microsoft.AspNetCore.Hosting" = info }""");

        var (status, _) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");

        Assert.Equal(200, status);
        var line = new Regex(@"^\d\d:\d\d:\d\d\.\d{3} INFO  Microsoft\.AspNetCore\.Hosting\.Diagnostics: Request starting HTTP/1\.1 GET http://127\.0\.0\.1:\d+/v1/flows", RegexOptions.Multiline);
        await Eventually(() => line.IsMatch(tremor.Stderr), "ASP.NET Core's request line on stderr", tremor);
        // The rest of ASP.NET Core stays at the default level: no debug lines from Kestrel.
        Assert.DoesNotContain(" DEBUG ", tremor.Stderr);
    }
}
