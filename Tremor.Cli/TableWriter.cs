using Spectre.Console;
using Spectre.Console.Rendering;

namespace Tremor.Cli;

/// <summary>
/// The one way the CLI prints a table (<c>plugins list</c>, <c>cluster status</c>): Spectre.Console without borders
/// or colour, columns as wide as their widest cell, never wrapped, so a row reads the same on a terminal, in a pipe
/// and in a script that splits it on spaces.
/// </summary>
internal static class TableWriter
{
    // Wide enough that no row is ever wrapped: a path or a list of connectors is one cell on one line.
    private const int UnwrappedWidth = 1 << 14;

    /// <summary>Writes <paramref name="headers"/> and <paramref name="rows"/> (cells as plain text, never markup).</summary>
    public static void Write(TextWriter output, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(TableBorder.None);
        for (var i = 0; i < headers.Count; i++)
        {
            // Two spaces between columns, none before the first: a row starts with its first cell.
            table.AddColumn(new TableColumn(new Text(headers[i])).NoWrap().PadLeft(0).PadRight(i == headers.Count - 1 ? 0 : 2));
        }
        foreach (var row in rows) table.AddRow(row.Select(cell => (IRenderable)new Text(cell)).ToArray());

        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = UnwrappedWidth;
        console.Write(table);
        // The last column is padded to its width: trailing spaces say nothing.
        foreach (var line in text.ToString().Split('\n')) if (line.TrimEnd().Length > 0) output.WriteLine(line.TrimEnd());
    }
}
