using Tremor.Pdk;

namespace Tremor.Native;

/// <summary>One check the loader made on a native plugin, for <c>tremor plugins inspect</c>.</summary>
/// <param name="Name">What was checked (<c>architecture</c>, <c>abi major</c>, <c>layout</c>, ...).</param>
/// <param name="Passed">Whether it passed.</param>
/// <param name="Detail">What was found, or for a failure <c>field: expected X, found Y</c>.</param>
public sealed record NativeCheck(string Name, bool Passed, string Detail);

/// <summary>What the loader found out about a native plugin file without calling any of its functions.</summary>
public sealed class NativeInspection
{
    internal NativeInspection(string path, IReadOnlyList<NativeCheck> checks)
    {
        Path = path;
        Checks = checks;
    }

    /// <summary>The file as given.</summary>
    public string Path { get; }

    /// <summary>True when every check passed and the plugin can be loaded.</summary>
    public bool Accepted => Refusal is null;

    /// <summary>Why it is refused, one line: <c>&lt;file&gt;: &lt;field&gt;: expected X, found Y</c>; null when accepted.</summary>
    public string? Refusal { get; internal set; }

    /// <summary>Every check in order; the last one failed when the plugin is refused.</summary>
    public IReadOnlyList<NativeCheck> Checks { get; }

    /// <summary>The plugin's name (its connector type), once the descriptor was read.</summary>
    public string? Name { get; internal set; }

    /// <summary>The plugin's semantic version.</summary>
    public string? Version { get; internal set; }

    /// <summary>The plugin's one-line description (ABI 1.1 and later), or null.</summary>
    public string? Description { get; internal set; }

    /// <summary>Which sides its connector has.</summary>
    public ConnectorKinds Kinds { get; internal set; }

    /// <summary>The JSON schema of its config section.</summary>
    public string? ConfigSchema { get; internal set; }

    /// <summary>The codec its connector uses when a flow names none.</summary>
    public string? DefaultCodec { get; internal set; }

    /// <summary>The ABI major the plugin was built against.</summary>
    public int AbiMajor { get; internal set; }

    /// <summary>The ABI minor the plugin was built against.</summary>
    public int AbiMinor { get; internal set; }

    /// <summary>The SHA-256 of the file's bytes (lower-case hex).</summary>
    public string? Sha256 { get; internal set; }
}

/// <summary>A native plugin was refused; the message is the one-line refusal naming file, field, expected and found.</summary>
public sealed class NativePluginRefusedException : Exception
{
    /// <summary>A refusal with its inspection.</summary>
    public NativePluginRefusedException(NativeInspection inspection)
        : base(inspection.Refusal ?? $"{inspection.Path}: refused")
    {
        Inspection = inspection;
    }

    /// <summary>Every check that was made.</summary>
    public NativeInspection Inspection { get; }
}

/// <summary>
/// A native plugin call returned an error status (or broke the contract). The instance is broken: the runtime's
/// supervision destroys it and creates a new one.
/// </summary>
public sealed class NativePluginException : Exception
{
    /// <summary>An error reported by a plugin.</summary>
    public NativePluginException(string message, int status = -1)
        : base(message)
    {
        Status = status;
    }

    /// <summary>The status code the plugin returned (TREMOR_ERROR = -1, TREMOR_ERROR_PANIC = -3, ...).</summary>
    public int Status { get; }
}
