using System.Text;

namespace Tremor.Pdk;

/// <summary>
/// A string value kept as valid UTF-8 bytes until someone asks for the UTF-16 string (made once, then kept): decoded
/// events that are only re-encoded never pay for the string, and the bytes take half the memory of ASCII text in UTF-16.
/// The bytes may be a slice of a source's immutable input (<see cref="Value.TryFromUtf8"/>), so decoding copied nothing.
/// Two threads may both make the string the first time; they make equal strings, so either one is fine.
/// </summary>
internal sealed class Utf8String(ReadOnlyMemory<byte> utf8)
{
    private string? _text;

    /// <summary>The bytes (valid UTF-8; never changed).</summary>
    public ReadOnlyMemory<byte> Utf8 { get; } = utf8;

    /// <summary>The string of the bytes.</summary>
    public string Text => _text ??= Encoding.UTF8.GetString(Utf8.Span);
}
