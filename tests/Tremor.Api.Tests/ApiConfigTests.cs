using System.Net.Http.Headers;

namespace Tremor.Api.Tests;

/// <summary>
/// What a request body may say (substitutions, includes, names), how the token is written and checked, and
/// <c>/metrics</c>: against a real tremor process. Before, one <c>${?TICK}</c> in a body killed the process, and a
/// flow named "" broke every other flow.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ApiConfigTests
{
    private static string Ticks(string name, string interval) => $$"""
        tremor.flows.{{name}} {
          connectors {
            tick { type = metronome, config { interval = {{interval}} } }
            out { type = null }
          }
          links = ["tick -> out"]
        }
        """;

    private static async Task<bool> Alive(TremorProcess tremor)
    {
        var (status, _) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");
        return tremor.Running && status == 200;
    }

    [Fact]
    public async Task A_body_with_substitutions_deploys_and_one_with_an_include_is_refused_while_the_process_keeps_running()
    {
        await using var tremor = await TremorProcess.StartAsync(environment: new Dictionary<string, string> { ["TREMOR_TEST_TICK"] = "50ms" });

        var (optionalSet, body) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("set", "${?TREMOR_TEST_TICK}"));
        Assert.True(optionalSet == 201, body.ToString());
        var (optionalUnset, _) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("unset", "${?TREMOR_TEST_UNSET}"));
        Assert.Equal(201, optionalUnset);
        var (required, _) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("required", "${TREMOR_TEST_TICK}"));
        Assert.Equal(201, required);

        var (missing, error) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("missing", "${TREMOR_TEST_UNSET}"));
        Assert.Equal(400, missing);
        Assert.StartsWith("request body:3:50: ${TREMOR_TEST_UNSET} is neither a key of the config nor a set environment variable", error.GetProperty("error").GetString());

        var (include, refused) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", "include required(file(\"flows.conf\"))\n");
        Assert.Equal(400, include);
        Assert.Contains("request body has no folder to resolve it against; send the included file's content inline", refused.GetProperty("error").GetString());

        Assert.True(await Alive(tremor), tremor.Stderr);
        var (_, flows) = await tremor.SendAsync(HttpMethod.Get, "/v1/flows");
        Assert.Equal(["required", "set", "unset"], flows.EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"a/b\"")]
    [InlineData("\"..\"")]
    [InlineData("\"x\\ny\"")]
    public async Task A_flow_name_outside_the_rule_is_a_400_naming_the_rule_and_nothing_else_breaks(string name)
    {
        await using var tremor = await TremorProcess.StartAsync();
        var (first, _) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks("good", "20ms"));
        Assert.Equal(201, first);

        var (status, error) = await tremor.SendAsync(HttpMethod.Post, "/v1/flows", Ticks(name, "20ms"));

        Assert.Equal(400, status);
        Assert.Contains("is not a valid flow name: a name starts with a letter or '_' and has only letters, digits, '_' and '-'", error.GetProperty("error").GetString());
        Assert.DoesNotContain("\nx", tremor.Stderr);
        var (deleted, _) = await tremor.SendAsync(HttpMethod.Delete, "/v1/flows/good");
        Assert.Equal(200, deleted);
    }

    [Fact]
    public async Task A_symbolic_link_at_the_token_file_is_refused_and_its_target_left_alone()
    {
        var elsewhere = Directory.CreateTempSubdirectory("tremor-api-target-");
        try
        {
            var target = Path.Combine(elsewhere.FullName, "precious.txt");
            File.WriteAllText(target, "keep me");
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TremorProcess.StartAsync(prepare: dir => File.CreateSymbolicLink(Path.Combine(dir, "token"), target)));

            Assert.Contains("tremor exited with 2", e.Message);
            Assert.Contains("is a symbolic link", e.Message);
            Assert.Equal("keep me", File.ReadAllText(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(target));
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_token_file_is_a_new_0600_file_even_where_a_0644_file_was_open()
    {
        FileStream? earlier = null;
        try
        {
            await using var tremor = await TremorProcess.StartAsync(prepare: dir =>
            {
                var path = Path.Combine(dir, "token");
                File.WriteAllText(path, "old");
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                earlier = File.OpenRead(path);
            });
            var token = Path.Combine(tremor.Directory, "token");

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
            Assert.Equal(64, File.ReadAllText(token).Length);
            // A descriptor opened on the old file still reads the old content, never the token.
            using var reader = new StreamReader(earlier!);
            Assert.Equal("old", reader.ReadToEnd());
        }
        finally
        {
            earlier?.Dispose();
        }
    }

    [Fact]
    public async Task By_default_the_token_goes_under_the_state_directory_per_port_and_tremor_api_finds_it()
    {
        var state = Directory.CreateTempSubdirectory("tremor-api-state-");
        try
        {
            var environment = new Dictionary<string, string> { ["XDG_STATE_HOME"] = state.FullName };
            await using var tremor = await TremorProcess.StartAsync(environment: environment, tokenFile: null);
            var port = tremor.Client.BaseAddress!.Port;
            var token = Path.Combine(state.FullName, "tremor", $"api-{port}.token");

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
            Assert.Empty(Directory.GetFiles(tremor.Directory, "*token*")); // nothing in the working directory
            Assert.Contains($"token in {token}", tremor.Stderr);

            var info = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "tremor.dll"), "api", "GET", "/v1/flows", "--url", $"http://127.0.0.1:{port}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = tremor.Directory,
            };
            info.Environment["XDG_STATE_HOME"] = state.FullName;
            using var cli = System.Diagnostics.Process.Start(info)!;
            var output = cli.StandardOutput.ReadToEndAsync();
            var error = cli.StandardError.ReadToEndAsync();
            await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(cli.ExitCode == 0, await error);
            Assert.StartsWith("[", (await output).Trim());
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_start_line_names_the_address_the_api_really_listens_on()
    {
        await using var tremor = await TremorProcess.StartAsync("tremor.api.bind = \"0.0.0.0\"");

        Assert.Matches(@"management API on http://127\.0\.0\.1:(\d+)/ \(listening on 0\.0\.0\.0:\1, every interface; token in ", tremor.Stderr);
        Assert.True(await Alive(tremor));
    }

    [Fact]
    public async Task The_bearer_scheme_is_case_insensitive_and_metrics_need_the_token()
    {
        await using var tremor = await TremorProcess.StartAsync();
        var token = tremor.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        using var client = new HttpClient { BaseAddress = tremor.Client.BaseAddress };

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("bearer", token);
        Assert.Equal(200, (int)(await client.GetAsync("/v1/flows")).StatusCode);
        Assert.Equal(200, (int)(await client.GetAsync("/metrics")).StatusCode);

        client.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(401, (int)(await client.GetAsync("/metrics")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token[..^1]);
        Assert.Equal(401, (int)(await client.GetAsync("/v1/flows")).StatusCode);
    }
}
