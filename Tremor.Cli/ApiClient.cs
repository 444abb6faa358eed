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
        if (tokenFile.Length == 0) tokenFile = Tremor.Actors.Configuration.ApiSettings.DefaultTokenFile(new Uri(url).Port);
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: cannot read the API token from {Path.GetFullPath(tokenFile)}: {e.Message} (use --token-file)");
            return null;
        }
        var client = new HttpClient { BaseAddress = new Uri(url), Timeout = timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
