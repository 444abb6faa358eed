using System.Net.Http.Headers;
using System.Text;

namespace Tremor.Cli;

/// <summary><c>tremor api METHOD PATH</c>: a small client of a running tremor's management API.</summary>
public static class ApiCommand
{
    /// <summary>Sends one request; prints the JSON answer; exit 0 on 2xx, 1 otherwise.</summary>
    public static async Task<int> RunAsync(string method, string path, string? body, string url, string tokenFile, TextWriter output, TextWriter error)
    {
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        }
        catch (IOException e)
        {
            error.WriteLine($"error: cannot read the API token from {Path.GetFullPath(tokenFile)}: {e.Message} (use --token-file)");
            return 2;
        }
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path.StartsWith('/') ? path : "/" + path);
        if (body is not null)
        {
            var text = body == "-" ? await Console.In.ReadToEndAsync() : File.Exists(body) ? await File.ReadAllTextAsync(body) : body;
            request.Content = new StringContent(text, Encoding.UTF8, text.TrimStart().StartsWith('{') && !text.Contains("tremor", StringComparison.Ordinal) ? "application/json" : "text/plain");
        }
        try
        {
            using var response = await client.SendAsync(request);
            output.WriteLine(await response.Content.ReadAsStringAsync());
            if (!response.IsSuccessStatusCode)
            {
                error.WriteLine($"error: {(int)response.StatusCode} {response.ReasonPhrase}");
                return 1;
            }
            return 0;
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"error: no tremor API at {url}: {e.Message} (is tremor.api.enabled on?)");
            return 1;
        }
    }
}
