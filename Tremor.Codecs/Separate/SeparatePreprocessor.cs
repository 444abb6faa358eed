using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>separate</c> preprocessor: splits a stream into events at a separator (default "\n"). Complete lines are
/// emitted as slices of the input; a line that spans chunks is carried in this instance's own buffer and emitted as a
/// fresh copy, so one instance serves exactly one stream. Empty lines are skipped. A line longer than
/// <c>max-length</c> (default <see cref="DefaultMaxLength"/>, which bounds the memory one stream can hold) is an error
/// that names the limit and the length; that line is dropped up to its separator and splitting goes on. On an error
/// the other lines of the chunk are still in the output.
/// </summary>
/// <remarks>
/// Options: <c>separator</c> (string or byte, default "\n"), <c>max-length</c> (bytes, default 8 MiB),
/// <c>strip-cr</c> (drop one trailing '\r' from each line, for CRLF input; default false).
/// </remarks>
public sealed class SeparatePreprocessor : IPreprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "separate";

    /// <summary>The default <c>max-length</c>: 8 MiB, larger than any sane single event, small enough to bound memory per stream.</summary>
    public const int DefaultMaxLength = 8 * 1024 * 1024;

    private const int KeepCarryCapacity = 64 * 1024;

    private readonly byte[] _separator;
    private readonly int _maxLength;
    private readonly bool _stripCr;
    private readonly ByteArena _arena = new();
    private byte[] _carry = [];
    private int _carryLength;
    private bool _discarding;

    /// <summary>A preprocessor splitting at <paramref name="separator"/>.</summary>
    public SeparatePreprocessor(ReadOnlySpan<byte> separator, int maxLength = DefaultMaxLength, bool stripCr = false)
    {
        if (separator.IsEmpty) throw new ArgumentException("The separator must not be empty.", nameof(separator));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        _separator = separator.ToArray();
        _maxLength = maxLength;
        _stripCr = stripCr;
    }

    /// <summary>A preprocessor from its flow configuration.</summary>
    public SeparatePreprocessor(PluginConfig config)
        : this(SeparatorConfig.Read(config), ReadMaxLength(config), config.GetBool("strip-cr", false))
    {
        config.RejectUnknownKeys(SeparatorConfig.Key, "max-length", "strip-cr");
    }

    private static int ReadMaxLength(PluginConfig config)
    {
        var max = config.GetInt("max-length", DefaultMaxLength);
        if (max is < 1 or > int.MaxValue / 2)
        {
            var path = config.Path.Length == 0 ? "max-length" : $"{config.Path}.max-length";
            throw new ConfigException(path, $"must be between 1 and {int.MaxValue / 2} bytes, found {max}");
        }
        return (int)max;
    }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlyMemory<byte> data, List<ReadOnlyMemory<byte>> output, out string? error)
    {
        error = null;
        var errors = 0;
        var span = data.Span;
        var position = 0;
        if (_carryLength > 0 || _discarding)
        {
            if (!FindCarriedLineEnd(span, out var lineEnd, out var next))
            {
                CarryTail(span, ref error, ref errors);
                return Done(ref error, errors);
            }
            if (_discarding)
            {
                _discarding = false;
            }
            else
            {
                // lineEnd < 0: the separator began in the carried bytes.
                var length = (long)_carryLength + lineEnd;
                if (length > _maxLength)
                {
                    Report(ref error, ref errors, $"line of {length} bytes ending at byte {Math.Max(lineEnd, 0)} of this chunk exceeds max-length {_maxLength}; dropped");
                }
                else
                {
                    var line = _arena.Allocate((int)length);
                    var fromCarry = Math.Min(_carryLength, (int)length);
                    _carry.AsSpan(0, fromCarry).CopyTo(line.Span);
                    if (lineEnd > 0) span[..lineEnd].CopyTo(line.Span[fromCarry..]);
                    Emit(line, output);
                }
            }
            _carryLength = 0;
            if (_carry.Length > KeepCarryCapacity) _carry = [];
            position = next;
        }
        while (position < span.Length)
        {
            var found = _separator.Length == 1 ? span[position..].IndexOf(_separator[0]) : span[position..].IndexOf(_separator);
            if (found < 0) break;
            if (found > _maxLength)
            {
                Report(ref error, ref errors, $"line of {found} bytes at byte {position} of this chunk exceeds max-length {_maxLength}; dropped");
            }
            else
            {
                Emit(data.Slice(position, found), output);
            }
            position += found + _separator.Length;
        }
        if (position < span.Length) CarryTail(span[position..], ref error, ref errors);
        return Done(ref error, errors);
    }

    /// <inheritdoc />
    public void Finish(List<ReadOnlyMemory<byte>> output)
    {
        if (!_discarding && _carryLength > 0)
        {
            var line = _arena.Allocate(_carryLength);
            _carry.AsSpan(0, _carryLength).CopyTo(line.Span);
            Emit(line, output);
        }
        _carryLength = 0;
        _discarding = false;
        _carry = [];
    }

    private void Emit(ReadOnlyMemory<byte> line, List<ReadOnlyMemory<byte>> output)
    {
        if (_stripCr && line.Length > 0 && line.Span[^1] == (byte)'\r') line = line[..^1];
        if (!line.IsEmpty) output.Add(line);
    }

    /// <summary>
    /// Where the carried line ends: a separator that straddles the carried bytes and <paramref name="span"/> (then
    /// <paramref name="lineEnd"/> is negative: that many carried bytes belong to the separator) or one inside the span.
    /// </summary>
    private bool FindCarriedLineEnd(ReadOnlySpan<byte> span, out int lineEnd, out int next)
    {
        var separatorLength = _separator.Length;
        for (var k = Math.Min(separatorLength - 1, _carryLength); k >= 1; k--)
        {
            var rest = separatorLength - k;
            if (span.Length >= rest
                && _carry.AsSpan(_carryLength - k, k).SequenceEqual(_separator.AsSpan(0, k))
                && span[..rest].SequenceEqual(_separator.AsSpan(k)))
            {
                lineEnd = -k;
                next = rest;
                return true;
            }
        }
        var found = separatorLength == 1 ? span.IndexOf(_separator[0]) : span.IndexOf(_separator);
        lineEnd = found;
        next = found + separatorLength;
        return found >= 0;
    }

    /// <summary>Keeps an unterminated tail for the next chunk, or starts dropping a line that grew past the limit.</summary>
    private void CarryTail(ReadOnlySpan<byte> tail, ref string? error, ref int errors)
    {
        if (!_discarding && (long)_carryLength + tail.Length > _maxLength)
        {
            Report(ref error, ref errors, $"line exceeds max-length {_maxLength}: {(long)_carryLength + tail.Length} bytes without a separator so far; dropping it up to the next separator");
            _discarding = true;
        }
        if (_discarding)
        {
            // Keep only what a separator straddling into the next chunk could start with.
            var keep = _separator.Length - 1;
            if (tail.Length >= keep)
            {
                EnsureCarry(keep);
                tail[^keep..].CopyTo(_carry);
                _carryLength = keep;
            }
            else
            {
                var fromCarry = Math.Min(_carryLength, keep - tail.Length);
                _carry.AsSpan(_carryLength - fromCarry, fromCarry).CopyTo(_carry);
                EnsureCarry(fromCarry + tail.Length);
                tail.CopyTo(_carry.AsSpan(fromCarry));
                _carryLength = fromCarry + tail.Length;
            }
            return;
        }
        EnsureCarry(_carryLength + tail.Length);
        tail.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += tail.Length;
    }

    private void EnsureCarry(int size)
    {
        if (_carry.Length >= size) return;
        var grown = new byte[Math.Max(size, Math.Max(256, Math.Min(_carry.Length * 2, _maxLength)))];
        _carry.AsSpan(0, _carryLength).CopyTo(grown);
        _carry = grown;
    }

    private static void Report(ref string? error, ref int errors, string message)
    {
        if (errors++ == 0) error = message;
    }

    private static bool Done(ref string? error, int errors)
    {
        if (errors > 1) error += $" (and {errors - 1} more line(s) over the limit in this chunk)";
        return errors == 0;
    }
}
