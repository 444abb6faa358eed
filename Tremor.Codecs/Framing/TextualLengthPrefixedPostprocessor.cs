using System.Buffers;
using System.Buffers.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>textual-length-prefixed</c> postprocessor: writes each event as its length in ASCII decimal, a space, then
/// its bytes (syslog octet counting, RFC 5425).
/// </summary>
public sealed class TextualLengthPrefixedPostprocessor : IPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "textual-length-prefixed";

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        var span = output.GetSpan(11 + data.Length);
        Utf8Formatter.TryFormat(data.Length, span, out var digits);
        span[digits] = (byte)' ';
        data.CopyTo(span[(digits + 1)..]);
        output.Advance(digits + 1 + data.Length);
        error = null;
        return true;
    }
}
