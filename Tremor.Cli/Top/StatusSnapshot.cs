using System.Text.Json;

namespace Tremor.Cli.Top;

/// <summary>One answer of <c>GET /v1/status</c>, read into what <c>tremor top</c> shows.</summary>
internal sealed record StatusSnapshot(
    long UptimeMs,
    string? Version,
    IReadOnlyList<StatusSnapshot.Flow> Flows,
    IReadOnlyList<StatusSnapshot.Connector> Connectors,
    IReadOnlyList<StatusSnapshot.Plugin> Plugins,
    StatusSnapshot.Cluster? ClusterStatus)
{
    /// <summary>A deployed flow.</summary>
    public sealed record Flow(string Name, string State, IReadOnlyList<string> Connectors, IReadOnlyList<string> Pipelines);

    /// <summary>A connector with its totals since it was created.</summary>
    public sealed record Connector(
        string Alias, string Flow, string Type, string? Plugin, string State, int Restarts,
        long EventsIn, long EventsOut, long Errors, long Dropped, string? LastError, bool CircuitBreakerOpen);

    /// <summary>A discovered plugin and whether it loaded.</summary>
    public sealed record Plugin(string Name, string Version, string Kind, string Status, string? Reason, IReadOnlyList<string> Provides);

    /// <summary>The cluster as this node sees it; <paramref name="Error"/> when the coordinator did not answer.</summary>
    public sealed record Cluster(string? Coordinator, IReadOnlyList<Node> Nodes, string? Error);

    /// <summary>A cluster member.</summary>
    public sealed record Node(string Address, string Status, bool Reachable, IReadOnlyList<string> Roles, IReadOnlyList<string> Flows);

    /// <summary>Reads the JSON of <c>GET /v1/status</c>; throws <see cref="JsonException"/> or <see cref="KeyNotFoundException"/> when it is not that.</summary>
    public static StatusSnapshot Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        return new StatusSnapshot(
            root.GetProperty("uptime_ms").GetInt64(),
            OptionalString(root, "version"),
            root.GetProperty("flows").EnumerateArray().Select(f => new Flow(
                f.GetProperty("name").GetString()!,
                f.GetProperty("state").GetString()!,
                Strings(f.GetProperty("connectors")),
                Strings(f.GetProperty("pipelines")))).ToList(),
            root.GetProperty("connectors").EnumerateArray().Select(c => new Connector(
                c.GetProperty("alias").GetString()!,
                OptionalString(c, "flow") ?? "",
                c.GetProperty("type").GetString()!,
                OptionalString(c, "plugin"),
                c.GetProperty("state").GetString()!,
                c.GetProperty("restarts").GetInt32(),
                c.GetProperty("events_in").GetInt64(),
                c.GetProperty("events_out").GetInt64(),
                c.GetProperty("errors").GetInt64(),
                c.GetProperty("dropped").GetInt64(),
                OptionalString(c, "last_error"),
                c.GetProperty("circuit_breaker_open").GetBoolean())).ToList(),
            root.GetProperty("plugins").EnumerateArray().Select(p => new Plugin(
                p.GetProperty("name").GetString()!,
                p.GetProperty("version").GetString()!,
                p.GetProperty("kind").GetString()!,
                p.GetProperty("status").GetString()!,
                OptionalString(p, "reason"),
                Strings(p.GetProperty("provides")))).ToList(),
            root.TryGetProperty("cluster", out var cluster) && cluster.ValueKind == JsonValueKind.Object ? ReadCluster(cluster) : null);
    }

    private static Cluster ReadCluster(JsonElement cluster) => new(
        OptionalString(cluster, "coordinator"),
        cluster.TryGetProperty("nodes", out var nodes)
            ? nodes.EnumerateArray().Select(n => new Node(
                n.GetProperty("address").GetString()!,
                n.GetProperty("status").GetString()!,
                n.GetProperty("reachable").GetBoolean(),
                Strings(n.GetProperty("roles")),
                Strings(n.GetProperty("flows")))).ToList()
            : [],
        OptionalString(cluster, "error"));

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();
}

/// <summary>
/// Events per second of one connector between two snapshots: the difference of its totals over the difference of the
/// API's monotonic clock. Null on the first snapshot, and when a total went down (the connector was redeployed).
/// </summary>
internal readonly record struct Rates(double? In, double? Out)
{
    public static Rates Between(StatusSnapshot? before, StatusSnapshot now, StatusSnapshot.Connector connector)
    {
        var previous = before?.Connectors.FirstOrDefault(c => c.Alias == connector.Alias);
        var seconds = before is null ? 0 : (now.UptimeMs - before.UptimeMs) / 1000.0;
        if (previous is null || seconds <= 0) return new Rates(null, null);
        return new Rates(Per(connector.EventsIn, previous.EventsIn, seconds), Per(connector.EventsOut, previous.EventsOut, seconds));
    }

    private static double? Per(long now, long before, double seconds) => now < before ? null : (now - before) / seconds;
}
