using Tremor.Pdk;

namespace Tremor.Script.Troy;

/// <summary>Where something was written in a troy file; makes errors with the line, a caret and a hint.</summary>
/// <param name="Origin">The file (or module, or request body) it came from.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="SourceLine">The text of that line.</param>
public sealed record TroyLocation(string Origin, int Line, int Column, string SourceLine)
{
    /// <summary>An error at this place, formatted as query errors are (<c>file:line:col: reason</c>, the line, a caret, the hint).</summary>
    public ScriptException Error(string reason, string? hint = null) => new(Origin, Line, Column, reason, hint, SourceLine);

    /// <inheritdoc />
    public override string ToString() => $"{Origin}:{Line}:{Column}";
}

/// <summary>One <c>with</c> parameter of a connector definition, evaluated (args substituted).</summary>
/// <param name="Key">The parameter (<c>codec</c>, <c>config</c>, ...).</param>
/// <param name="Value">Its value.</param>
/// <param name="Location">Where the parameter is written.</param>
/// <param name="Fields">Where each field of a record value is written, for fields whose key is a literal.</param>
public sealed record TroySetting(string Key, Value Value, TroyLocation Location, IReadOnlyDictionary<string, TroyLocation> Fields);

/// <summary>A connector a deployed flow creates.</summary>
/// <param name="Alias">Its name in the flow.</param>
/// <param name="Type">The connector type its definition is <c>from</c>.</param>
/// <param name="Settings">The definition's <c>with</c> parameters.</param>
/// <param name="Location">The <c>create</c> statement.</param>
/// <param name="Definition">The <c>define connector</c> statement.</param>
public sealed record TroyConnector(string Alias, string Type, IReadOnlyList<TroySetting> Settings, TroyLocation Location, TroyLocation Definition);

/// <summary>A pipeline a deployed flow creates.</summary>
/// <param name="Alias">Its name in the flow.</param>
/// <param name="Query">The query text between <c>pipeline</c> and <c>end</c>.</param>
/// <param name="Args">The pipeline's args: the definition's defaults overridden by the create's <c>with</c>.</param>
/// <param name="Location">The <c>create</c> statement.</param>
public sealed record TroyPipeline(string Alias, string Query, Value Args, TroyLocation Location);

/// <summary>A <c>connect</c> statement; <paramref name="FromKind"/> and <paramref name="ToKind"/> are <c>connector</c> or <c>pipeline</c>.</summary>
public sealed record TroyLink(string FromKind, string From, string FromPort, string ToKind, string To, string ToPort, TroyLocation Location, TroyLocation FromPortLocation, TroyLocation ToPortLocation);

/// <summary>A deployed flow: what <c>deploy flow</c> instantiates.</summary>
public sealed record TroyFlow(string Name, TroyLocation Location, IReadOnlyList<TroyConnector> Connectors, IReadOnlyList<TroyPipeline> Pipelines, IReadOnlyList<TroyLink> Links);
