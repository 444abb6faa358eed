using System.Buffers;
using System.Globalization;
using System.Text;
using Tremor.Pdk;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Tremor.Codecs;

/// <summary>
/// The <c>yaml</c> codec: one YAML document per event, read and written with YamlDotNet's parser and emitter. Plain
/// scalars resolve by the YAML 1.2 core schema (null, booleans, integers, floats, else strings); quoted scalars are
/// strings; <c>!!binary</c> is bytes; anchors and aliases are expanded (at most <see cref="MaxAliasExpansions"/>, so
/// a "billion laughs" document is an error, not an out-of-memory). Stateless and safe to share between threads.
/// </summary>
public sealed class YamlCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "yaml";

    /// <summary>Deepest nesting of sequences and mappings accepted.</summary>
    public const int MaxDepth = 256;

    /// <summary>Most alias uses per document.</summary>
    public const int MaxAliasExpansions = 1000;

    private const string BinaryTag = "tag:yaml.org,2002:binary";

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var bytes = data.Span;
        if (!Utf8Text.TryDecode(bytes, out var text, out var bad))
        {
            return TextParse.Fail(Name, bad, $"invalid UTF-8 ({Utf8Text.DescribeByte(bytes, bad)})", out value, out error);
        }
        var parser = new Parser(new StringReader(text));
        var state = new State();
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _)) return TextParse.Fail(Name, 0, "the document is empty", out value, out error);
            parser.Consume<DocumentStart>();
            value = ReadNode(parser, state, 0);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
            {
                var at = ByteOffset(text, parser.Current?.Start.Index ?? text.Length);
                return TextParse.Fail(Name, at, "more than one document in the event (one document per event)", out value, out error);
            }
        }
        catch (YamlException e)
        {
            var at = ByteOffset(text, e.Start.Index);
            var reason = e.InnerException is { } inner && e.Message.Contains("See inner exception", StringComparison.Ordinal) ? inner.Message : e.Message;
            return TextParse.Fail(Name, at, $"line {e.Start.Line}, column {e.Start.Column}: {reason}", out value, out error);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet reports some malformed streams (bad tags, impossible states) this way instead of with a YamlException.
            var mark = parser.Current?.Start;
            var at = ByteOffset(text, mark?.Index ?? 0);
            return TextParse.Fail(Name, at, $"line {mark?.Line ?? 1}, column {mark?.Column ?? 1}: malformed document ({e.Message})", out value, out error);
        }
        error = null;
        return true;
    }

    private static int ByteOffset(string text, long charIndex) =>
        Encoding.UTF8.GetByteCount(text.AsSpan(0, (int)Math.Clamp(charIndex, 0, text.Length)));

    private sealed class State
    {
        public Dictionary<string, Value> Anchors { get; } = new(StringComparer.Ordinal);

        public int Expansions { get; set; }
    }

    private static Value ReadNode(IParser parser, State state, int depth)
    {
        if (depth > MaxDepth) throw new YamlException(parser.Current!.Start, parser.Current.End, $"nesting deeper than {MaxDepth} sequences/mappings");
        var current = parser.Current!;
        Value value;
        string? anchor = null;
        switch (current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (!state.Anchors.TryGetValue(alias.Value.Value, out value)) throw new YamlException(alias.Start, alias.End, $"alias *{alias.Value.Value} names no anchor before it");
                if (++state.Expansions > MaxAliasExpansions) throw new YamlException(alias.Start, alias.End, $"more than {MaxAliasExpansions} alias uses in one document");
                return value;
            case Scalar scalar:
                parser.MoveNext();
                value = ResolveScalar(scalar);
                if (!scalar.Anchor.IsEmpty) anchor = scalar.Anchor.Value;
                break;
            case SequenceStart start:
                {
                    parser.MoveNext();
                    var list = new List<Value>();
                    while (!parser.TryConsume<SequenceEnd>(out _)) list.Add(ReadNode(parser, state, depth + 1));
                    value = Value.From(list);
                    if (!start.Anchor.IsEmpty) anchor = start.Anchor.Value;
                    break;
                }
            case MappingStart start:
                {
                    parser.MoveNext();
                    var record = new ValueRecord();
                    while (!parser.TryConsume<MappingEnd>(out _))
                    {
                        var key = ReadNode(parser, state, depth + 1);
                        var item = ReadNode(parser, state, depth + 1);
                        record.Set(key.AsString() ?? JsonEncoder.ToJsonString(key), item);
                    }
                    value = Value.From(record);
                    if (!start.Anchor.IsEmpty) anchor = start.Anchor.Value;
                    break;
                }
            default:
                throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name}");
        }
        if (anchor is not null) state.Anchors[anchor] = value;
        return value;
    }

    private static Value ResolveScalar(Scalar scalar)
    {
        var text = scalar.Value;
        if (!scalar.Tag.IsEmpty)
        {
            switch (scalar.Tag.Value)
            {
                case BinaryTag:
                    try
                    {
                        return Value.From(Convert.FromBase64String(text));
                    }
                    catch (FormatException)
                    {
                        throw new YamlException(scalar.Start, scalar.End, "a !!binary scalar is not valid base64");
                    }
                case "tag:yaml.org,2002:str":
                    return text;
                case "!":
                    return text;
            }
        }
        return scalar.Style == ScalarStyle.Plain ? ResolvePlain(text) : Value.From(text);
    }

    /// <summary>The YAML 1.2 core schema for a plain scalar.</summary>
    internal static Value ResolvePlain(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return Value.Null;
            case "true" or "True" or "TRUE":
                return Value.True;
            case "false" or "False" or "FALSE":
                return Value.False;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF":
                return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN":
                return double.NaN;
        }
        var c = text[0];
        if (!(c is >= '0' and <= '9' or '-' or '+' or '.')) return text;
        if (text.StartsWith("0x", StringComparison.Ordinal) && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)) return Value.From(hex);
        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text.AsSpan(2).IndexOfAnyExceptInRange('0', '7') < 0)
        {
            try
            {
                return Value.From(Convert.ToUInt64(text[2..], 8));
            }
            catch (OverflowException)
            {
                return text;
            }
        }
        var digits = text.AsSpan(c is '-' or '+' ? 1 : 0);
        if (digits.Length > 0 && digits.IndexOfAnyExceptInRange('0', '9') < 0)
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            if (c != '-' && ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var u)) return Value.From(u);
            return text;
        }
        if (digits.Length > 0 && digits.IndexOfAnyExcept("0123456789.eE+-") < 0 && digits.Count('.') <= 1
            && (digits[0] is >= '0' and <= '9' || (digits[0] == '.' && digits.Length > 1 && digits[1] is >= '0' and <= '9'))
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        return text;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(writer);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Emit(emitter, value);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        var text = writer.ToString().AsSpan().TrimEnd('\n');
        if (text.EndsWith("\n...", StringComparison.Ordinal)) text = text[..^4];
        var length = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, output.GetSpan(length));
        output.Advance(length);
    }

    private static void Emit(IEmitter emitter, in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case ValueKind.Bool:
                emitter.Emit(new Scalar(null, null, value.AsBool() ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            case ValueKind.I64:
            case ValueKind.U64:
                emitter.Emit(new Scalar(null, null, value.ToString(), ScalarStyle.Plain, true, false));
                break;
            case ValueKind.F64:
                {
                    var d = value.RawF64;
                    var text = double.IsNaN(d) ? ".nan" : double.IsPositiveInfinity(d) ? ".inf" : double.IsNegativeInfinity(d) ? "-.inf" : FloatText(d);
                    emitter.Emit(new Scalar(null, null, text, ScalarStyle.Plain, true, false));
                    break;
                }
            case ValueKind.String:
                {
                    var s = value.AsString()!;
                    // A string that would read back as another type (or that a plain scalar cannot hold) is quoted.
                    var plainSafe = s.Length > 0 && ResolvePlain(s).Kind == ValueKind.String;
                    emitter.Emit(new Scalar(null, null, s, plainSafe ? ScalarStyle.Any : ScalarStyle.DoubleQuoted, plainSafe, true));
                    break;
                }
            case ValueKind.Bytes:
                emitter.Emit(new Scalar(null, "!!binary", Convert.ToBase64String(value.AsBytes()!), ScalarStyle.Plain, false, false));
                break;
            case ValueKind.Array:
                emitter.Emit(new SequenceStart(null, null, true, SequenceStyle.Any));
                foreach (var item in value.AsArray()!) Emit(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            case ValueKind.Record:
                emitter.Emit(new MappingStart(null, null, true, MappingStyle.Any));
                foreach (var (key, item) in value.AsRecord()!)
                {
                    Emit(emitter, Value.From(key));
                    Emit(emitter, item);
                }
                emitter.Emit(new MappingEnd());
                break;
        }
    }

    private static string FloatText(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.AsSpan().IndexOfAny('.', 'E', 'e') < 0 ? text + ".0" : text;
    }
}
