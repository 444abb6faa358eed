using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>csv</c> codec: one RFC 4180 record per event as an array of strings (as Tremor's <c>csv</c>); encoding writes
/// an array's items as fields (strings as they are, other values as their JSON text), quoting where needed. A second
/// record in one payload is an error (frame with <c>separate</c> first). Stateless and safe to share between threads.
/// </summary>
/// <remarks>
/// Hand-written rather than a CSV library: an event is one record, and a library reader set up per event costs more
/// than the parse and cannot say at which byte a record went wrong.
/// </remarks>
public sealed class CsvCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "csv";

    private static readonly SearchValues<byte> s_special = SearchValues.Create(",\"\r\n"u8);
    private static readonly SearchValues<char> s_needsQuotes = SearchValues.Create(",\"\r\n");

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        var fields = new List<Value>(8);
        var p = 0;
        List<byte>? scratch = null;
        while (true)
        {
            if (p < s.Length && s[p] == (byte)'"')
            {
                var start = p;
                p++;
                scratch ??= new List<byte>(64);
                scratch.Clear();
                var closed = false;
                while (p < s.Length)
                {
                    var quote = s[p..].IndexOf((byte)'"');
                    if (quote < 0) break;
                    foreach (var b in s.Slice(p, quote)) scratch.Add(b);
                    p += quote + 1;
                    if (p < s.Length && s[p] == (byte)'"')
                    {
                        scratch.Add((byte)'"');
                        p++;
                        continue;
                    }
                    closed = true;
                    break;
                }
                if (!closed) return TextParse.Fail(Name, start, "a quoted field has no closing '\"'", out value, out error);
                fields.Add(TextParse.Str(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(scratch)));
                if (p < s.Length && s[p] is not ((byte)',' or (byte)'\r' or (byte)'\n'))
                {
                    return TextParse.Fail(Name, p, $"'{(char)s[p]}' after a closing quote (expected ',' or the end of the record)", out value, out error);
                }
            }
            else
            {
                var end = s[p..].IndexOfAny(s_special);
                var field = end < 0 ? s[p..] : s.Slice(p, end);
                p += field.Length;
                if (p < s.Length && s[p] == (byte)'"') return TextParse.Fail(Name, p, "a '\"' inside an unquoted field (quote the field and double the quote)", out value, out error);
                fields.Add(TextParse.Str(field));
            }
            if (p >= s.Length) break;
            if (s[p] == (byte)',')
            {
                p++;
                continue;
            }
            // A line end: allowed only as the last thing in the payload.
            var rest = s[p..];
            if (rest.SequenceEqual("\n"u8) || rest.SequenceEqual("\r\n"u8)) break;
            return TextParse.Fail(Name, p, "more than one record in the event (split lines with the separate preprocessor first)", out value, out error);
        }
        value = Value.From(fields);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var items = value.AsArray() ?? throw new CodecEncodeException(Name, $"expected an array of fields, found {value.Kind.ToString().ToLowerInvariant()}");
        var text = new TextOutput(output);
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) text.Byte((byte)',');
            var item = items[i];
            var field = item.AsString() ?? JsonEncoder.ToJsonString(item);
            if (field.AsSpan().IndexOfAny(s_needsQuotes) < 0)
            {
                text.Text(field);
                continue;
            }
            text.Byte((byte)'"');
            var span = field.AsSpan();
            while (true)
            {
                var quote = span.IndexOf('"');
                if (quote < 0)
                {
                    text.Text(span);
                    break;
                }
                text.Text(span[..(quote + 1)]);
                text.Byte((byte)'"');
                span = span[(quote + 1)..];
            }
            text.Byte((byte)'"');
        }
        text.Flush();
    }
}
