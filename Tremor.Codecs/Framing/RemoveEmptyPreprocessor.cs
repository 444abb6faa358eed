using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>remove-empty</c> preprocessor: drops empty chunks (an empty frame, a blank left by an earlier stage) so the
/// codec never sees them; other chunks pass through untouched.
/// </summary>
public sealed class RemoveEmptyPreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "remove-empty";

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        if (!data.IsEmpty) output.Add(data);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
    }
}
