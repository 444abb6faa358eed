using System.Text;

namespace Tremor.Cli;

/// <summary><c>tremor api METHOD PATH</c>: a small client of a running tremor's management API.</summary>
public static class ApiCommand
{
    /// <summary>Sends one request; prints the JSON answer; exit 0 on 2xx, 1 otherwise.</summary>
    public static async Task<int> RunAsync(string method, string path, string? body, string url, string tokenFile, TextWriter output, TextWriter error)
    {
        using var client = await ApiClient.CreateAsync(url, tokenFile, TimeSpan.FromMinutes(2), error);
        if (client is null) return 2;
        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path.StartsWith('/') ? path : "/" + path);
        if (body is not null)
        {
            var text = body == "-" ? await Console.In.ReadToEndAsync() : File.Exists(body) ? await File.ReadAllTextAsync(body) : body;
            // A .troy file is sent as troy, so the API reads it as troy whatever its first word is.
            var contentType = body.EndsWith(".troy", StringComparison.OrdinalIgnoreCase) && File.Exists(body) ? "application/x-troy"
                : text.TrimStart().StartsWith('{') && !text.Contains("tremor", StringComparison.Ordinal) ? "application/json" : "text/plain";
            request.Content = new StringContent(text, Encoding.UTF8, contentType);
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
        catch (TaskCanceledException)
        {
            error.WriteLine($"error: the tremor API at {url} did not answer within 2 min (is that process stuck or overloaded?)");
            return 1;
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"error: no tremor API at {url}: {e.Message} (is tremor.api.enabled on?)");
            return 1;
        }
    }
}
