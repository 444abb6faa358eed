using System.Text.Json;

namespace Tremor.Cli;

/// <summary><c>tremor cluster status</c>: the nodes of the cluster and which flow runs where, from a node's management API.</summary>
public static class ClusterCommand
{
    /// <summary>Prints the cluster status (or the raw JSON with <paramref name="json"/>); exit 0, or 1 when no API answered.</summary>
    public static async Task<int> StatusAsync(string url, string tokenFile, bool json, TextWriter output, TextWriter error)
    {
        using var client = await ApiClient.CreateAsync(url, tokenFile, TimeSpan.FromSeconds(30), error);
        if (client is null) return 2;
        string body;
        try
        {
            using var response = await client.GetAsync("/v1/cluster");
            body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                error.WriteLine($"error: {(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}");
                return 1;
            }
        }
        catch (TaskCanceledException)
        {
            error.WriteLine($"error: the tremor API at {url} did not answer within 30 s (is that process stuck or overloaded?)");
            return 1;
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"error: no tremor API at {url}: {e.Message} (is tremor.api.enabled on for that node?)");
            return 1;
        }
        if (json)
        {
            output.WriteLine(body);
            return 0;
        }
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        output.WriteLine($"coordinator: {root.GetProperty("coordinator").GetString()}");
        output.WriteLine();
        TableWriter.Write(output, ["NODE", "STATUS", "REACHABLE", "ROLES", "CONNECTORS", "FLOWS"], root.GetProperty("nodes").EnumerateArray().Select(n =>
        {
            var connectors = n.GetProperty("inventory").EnumerateArray().Select(i => i.GetString()!).Where(i => i.StartsWith("connector:", StringComparison.Ordinal)).Select(i => i["connector:".Length..]);
            return (IReadOnlyList<string>)[
                n.GetProperty("address").GetString()!, n.GetProperty("status").GetString()!, n.GetProperty("reachable").GetBoolean() ? "yes" : "NO",
                Join(n.GetProperty("roles")), string.Join(",", connectors), Join(n.GetProperty("flows")),
            ];
        }));
        output.WriteLine();
        var flows = root.GetProperty("flows").EnumerateArray().ToList();
        TableWriter.Write(output, ["FLOW", "PLACEMENT", "NODE-LOCAL", "RUNS ON"], flows.Select(f =>
        {
            var instances = string.Join(", ", f.GetProperty("instances").EnumerateArray().Select(i => $"{i.GetProperty("node").GetString()} ({i.GetProperty("state").GetString()})"));
            return (IReadOnlyList<string>)[f.GetProperty("name").GetString()!, f.GetProperty("placement").GetString()!, f.GetProperty("node_local").GetBoolean() ? "yes" : "no", instances.Length == 0 ? "-" : instances];
        }));
        foreach (var f in flows)
        {
            if (f.GetProperty("note").GetString() is { } note) output.WriteLine($"note: {f.GetProperty("name").GetString()}: {note}");
        }
        return 0;
    }

    private static string Join(JsonElement array)
    {
        var text = string.Join(",", array.EnumerateArray().Select(e => e.GetString()));
        return text.Length == 0 ? "-" : text;
    }
}
