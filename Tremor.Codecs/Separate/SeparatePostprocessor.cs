using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>The <c>separate</c> postprocessor: writes each event followed by the separator (option <c>separator</c>, default "\n").</summary>
public sealed class SeparatePostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "separate";

    private readonly byte[] _separator;

    /// <summary>A postprocessor appending <paramref name="separator"/>.</summary>
    public SeparatePostprocessor(ReadOnlySpan<byte> separator)
    {
        if (separator.IsEmpty) throw new ArgumentException("The separator must not be empty.", nameof(separator));
        _separator = separator.ToArray();
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public SeparatePostprocessor(PluginConfig config)
        : this(SeparatorConfig.Read(config))
    {
        config.RejectUnknownKeys(SeparatorConfig.Key);
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        var span = output.GetSpan(data.Length + _separator.Length);
        data.CopyTo(span);
        _separator.CopyTo(span[data.Length..]);
        output.Advance(data.Length + _separator.Length);
        error = null;
        return true;
    }
}
