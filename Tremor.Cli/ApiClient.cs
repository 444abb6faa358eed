using System.Net.Http.Headers;

namespace Tremor.Cli;

/// <summary>The HTTP client the CLI's commands use to talk to a running tremor's management API.</summary>
internal static class ApiClient
{
    /// <summary>
    /// A client for <paramref name="url"/> that sends the bearer token read from <paramref name="tokenFile"/>; null when the
    /// file cannot be read, after saying so on <paramref name="error"/> (the command exits 2).
    /// </summary>
    public static async Task<HttpClient?> CreateAsync(string url, string tokenFile, TimeSpan timeout, TextWriter error)
    {
        var (token, problem) = await ReadTokenAsync(url, tokenFile);
        if (token is null)
        {
            error.WriteLine($"error: {problem}");
            return null;
        }
        var client = new HttpClient { BaseAddress = new Uri(url), Timeout = timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>
    /// The token in <paramref name="tokenFile"/> (empty: the file tremor writes for the port of <paramref name="url"/>),
    /// or null and why it could not be read.
    /// </summary>
    public static async Task<(string? Token, string? Problem)> ReadTokenAsync(string url, string tokenFile)
    {
        tokenFile = TokenFileFor(url, tokenFile);
        try
        {
            return ((await File.ReadAllTextAsync(tokenFile)).Trim(), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read the API token from {Path.GetFullPath(tokenFile)}: {e.Message} (use --token-file)");
        }
    }

    /// <summary>The token file a command reads: the one given, or the default tremor writes for the port of <paramref name="url"/>.</summary>
    public static string TokenFileFor(string url, string tokenFile) =>
        Path.GetFullPath(tokenFile.Length == 0 ? Tremor.Actors.Configuration.ApiSettings.DefaultTokenFile(new Uri(url).Port) : tokenFile);
}
