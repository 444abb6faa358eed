using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Tremor.Cli.Top;

/// <summary>One frame of <c>tremor top</c>: a title line, a problem line when the last refresh failed, then tables.</summary>
internal static class TopView
{
    /// <summary>
    /// The frame for <paramref name="now"/> (null before the first answer), with rates against <paramref name="before"/>;
    /// <paramref name="problem"/> says why the last refresh failed, shown above the last data that did arrive.
    /// </summary>
    public static IRenderable Render(string url, StatusSnapshot? before, StatusSnapshot? now, string? problem, DateTimeOffset updated, bool live)
    {
        var parts = new List<IRenderable>();
        var title = $"[bold]tremor top[/] {Markup.Escape(url)}";
        if (now?.Version is { } version) title += $"  version {Markup.Escape(version)}";
        if (now is not null) title += $"  {now.Flows.Count} flow(s), {now.Connectors.Count} connector(s)  updated {updated.ToLocalTime():HH:mm:ss}";
        if (live) title += "  [grey](q or Ctrl-C to quit)[/]";
        parts.Add(new Markup(title));
        if (problem is not null) parts.Add(new Markup($"[red]{Markup.Escape(problem)}[/]"));
        if (now is null)
        {
            if (problem is null) parts.Add(new Text("waiting for the first answer..."));
            return new Rows(parts);
        }

        var flows = Table("FLOW", "STATE", "CONNECTORS~", "PIPELINES~");
        foreach (var f in now.Flows) flows.AddRow(Cell(f.Name), State(f.State), Cell(string.Join(", ", f.Connectors)), Cell(string.Join(", ", f.Pipelines)));
        parts.Add(flows);

        // The last error column only when there is one: it is the column that wraps when the terminal is narrow.
        var anyError = now.Connectors.Any(c => c.LastError is not null);
        var connectors = Table(["CONNECTOR", "TYPE", "PLUGIN", "STATE", "IN/S", "OUT/S", "IN", "OUT", "ERR", "DROP", "RESTARTS", "BREAKER", .. anyError ? ["LAST ERROR~"] : Array.Empty<string>()]);
        foreach (var i in new[] { 4, 5, 6, 7, 8, 9, 10 }) connectors.Columns[i].RightAligned();
        foreach (var c in now.Connectors)
        {
            var rates = Rates.Between(before, now, c);
            List<IRenderable> row =
            [
                Cell(c.Alias), Cell(c.Type), Cell(c.Plugin ?? "-"), State(c.State),
                Cell(Rate(rates.In)), Cell(Rate(rates.Out)),
                Cell(Count(c.EventsIn)), Cell(Count(c.EventsOut)),
                Count(c.Errors, Color.Red), Count(c.Dropped, Color.Yellow), Count(c.Restarts, Color.Yellow),
                c.CircuitBreakerOpen ? new Markup("[red bold]open[/]") : Cell("closed"),
            ];
            if (anyError) row.Add(Cell(c.LastError ?? ""));
            connectors.AddRow(row.ToArray());
        }
        parts.Add(connectors);

        // A terminal has room for the plugins that matter here: those the connectors use and those that did not load;
        // the others are named on one line.
        var used = now.Connectors.Select(c => c.Plugin).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var plugins = Table("PLUGIN", "VERSION", "KIND", "STATUS", "PROVIDES~", "REASON~");
        foreach (var p in now.Plugins.Where(p => used.Contains(p.Name) || p.Status != "loaded"))
        {
            plugins.AddRow(Cell(p.Name), Cell(p.Version), Cell(p.Kind), State(p.Status), Cell(string.Join(", ", p.Provides.Select(Provided))), Cell(p.Reason ?? ""));
        }
        var unused = now.Plugins.Where(p => !used.Contains(p.Name) && p.Status == "loaded").Select(p => p.Name).ToList();
        parts.Add(plugins);
        if (unused.Count > 0) parts.Add(new Text($" also loaded: {string.Join(", ", unused)}", new Style(Color.Grey)));

        if (now.ClusterStatus is { } cluster)
        {
            var nodes = Table("NODE", "STATUS", "REACHABLE", "ROLES~", "FLOWS~");
            nodes.Caption(cluster.Error ?? $"coordinator {cluster.Coordinator}");
            foreach (var n in cluster.Nodes)
            {
                nodes.AddRow(Cell(n.Address), State(n.Status), n.Reachable ? Cell("yes") : new Markup("[red bold]NO[/]"), Cell(string.Join(", ", n.Roles)), Cell(string.Join(", ", n.Flows)));
            }
            parts.Add(nodes);
        }
        return new Rows(parts);
    }

    /// <summary>Events per second as a person reads it: "-" when unknown (first frame), whole numbers from 100.</summary>
    public static string Rate(double? rate) => rate switch
    {
        null => "-",
        >= 100 => rate.Value.ToString("N0", CultureInfo.InvariantCulture),
        _ => rate.Value.ToString("0.0", CultureInfo.InvariantCulture),
    };

    /// <summary>A table whose columns never wrap, but those whose name ends in <c>~</c> (free text): a narrow terminal wraps those.</summary>
    private static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in columns)
        {
            var wraps = c.EndsWith('~');
            // One space between columns, as top's: the connectors table then fits 100 columns.
            table.AddColumn(new TableColumn(new Text(c.TrimEnd('~'), new Style(decoration: Decoration.Bold))) { NoWrap = !wraps, Padding = new Padding(0, 0, 1, 0) });
        }
        return table;
    }

    // "connector:metronome" is a connector type in every row of a table about connectors.
    private static string Provided(string provided) => provided.StartsWith("connector:", StringComparison.Ordinal) ? provided["connector:".Length..] : provided;

    // Names, errors and reasons come from configs and plugins: as Text they are never read as markup.
    private static Text Cell(string text) => new(text);

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    // A count that is not zero is a thing to look at.
    private static Text Count(long n, Color colour) => n == 0 ? Cell("0") : new Text(Count(n), new Style(colour));

    private static IRenderable State(string state) => state switch
    {
        "running" or "loaded" or "up" => new Text(state, new Style(Color.Green)),
        "failed" or "refused" or "down" or "unreachable" => new Text(state, new Style(Color.Red, decoration: Decoration.Bold)),
        "completed" => new Text(state, new Style(Color.Grey)),
        _ => new Text(state, new Style(Color.Yellow)),
    };
}
