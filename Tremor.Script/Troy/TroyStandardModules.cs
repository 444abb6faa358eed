namespace Tremor.Script.Troy;

/// <summary>
/// Tremor's standard troy modules, written from its standard library reference: <c>tremor::connectors</c> and
/// <c>tremor::pipelines</c>. A connector type Tremor.NET has no plugin for (<c>logging</c>) is defined as Tremor
/// defines it; creating one is refused where the flow is checked, naming the type.
/// </summary>
internal static class TroyStandardModules
{
    private const string Connectors = """
        ### Predefined connectors for troy flows.

        ## Stops the runtime when it receives an event.
        define connector exit from exit;

        ## The runtime's metrics.
        define connector metrics from metrics;

        ## The runtime's log.
        define connector logging from logging;

        ## Lines on stdin and stdout, each line a string.
        define connector console from stdio
        with
          preprocessors = ["separate"],
          postprocessors = ["separate"],
          codec = "string"
        end;
        """;

    private const string Pipelines = """
        ### Predefined pipelines for troy flows.

        ## Passes each event from `in` to `out` unchanged.
        define pipeline passthrough
        pipeline
          select event from in into out;
        end;
        """;

    // Modules of the script language's standard library: `use std::time::nanos;` in a troy file imports nothing,
    // their functions are known everywhere.
    private static readonly HashSet<string> ScriptModules = new(StringComparer.Ordinal)
    {
        "std", "string", "math", "array", "record", "type", "json", "re", "integer", "float", "nanos", "system", "aggr",
        "base64", "url", "range", "path", "win", "time", "datetime", "binary", "random", "tremor", "test", "cncf",
    };

    /// <summary>The text of a standard troy module (<c>tremor::connectors</c>, ...), or null.</summary>
    public static string? Find(string path) => path switch
    {
        "tremor::connectors" or "troy::connectors" => Connectors,
        "tremor::pipelines" or "troy::pipelines" => Pipelines,
        _ => null,
    };

    /// <summary>Whether <paramref name="first"/> starts the path of a script-language module.</summary>
    public static bool IsScriptModule(string first) => ScriptModules.Contains(first);
}
