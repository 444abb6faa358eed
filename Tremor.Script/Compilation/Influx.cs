using System.Globalization;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Script.Compilation;

/// <summary>
/// The influx extractor: one line of the InfluxDB line protocol into
/// <c>{"measurement", "tags", "fields", "timestamp"}</c>; a line without a timestamp takes the event's ingest time.
/// Integers are written <c>1i</c>, other numbers are floats, booleans <c>t/true/f/false</c>, strings quoted.
/// </summary>
internal static class Influx
{
    public static bool Extract(ulong ingestNs, Value v, bool need, out Value result)
    {
        result = default;
        if (v.AsString() is not { } line) return false;
        var pos = 0;
        var measurement = Token(line, ref pos, stopAtEquals: false);
        if (measurement.Length == 0) return false;
        var tags = new ValueRecord();
        while (pos < line.Length && line[pos] == ',')
        {
            pos++;
            var key = Token(line, ref pos, stopAtEquals: true);
            if (key.Length == 0 || pos >= line.Length || line[pos] != '=') return false;
            pos++;
            var value = Token(line, ref pos, stopAtEquals: false);
            tags.Set(key, Value.From(value));
        }
        if (pos >= line.Length || line[pos] != ' ') return false;
        pos++;
        var fields = new ValueRecord();
        while (true)
        {
            var key = Token(line, ref pos, stopAtEquals: true);
            if (key.Length == 0 || pos >= line.Length || line[pos] != '=') return false;
            pos++;
            if (!FieldValue(line, ref pos, out var value)) return false;
            fields.Set(key, value);
            if (pos < line.Length && line[pos] == ',')
            {
                pos++;
                continue;
            }
            break;
        }
        long timestamp = (long)ingestNs;
        if (pos < line.Length)
        {
            if (line[pos] != ' ' || !long.TryParse(line.AsSpan(pos + 1).TrimEnd(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out timestamp)) return false;
        }
        if (!need)
        {
            result = Value.True;
            return true;
        }
        var record = new ValueRecord(4);
        record.Set("measurement", Value.From(measurement));
        record.Set("tags", Value.From(tags));
        record.Set("fields", Value.From(fields));
        record.Set("timestamp", Value.From(timestamp));
        result = Value.From(record);
        return true;
    }

    // Measurement names, tag keys and values, field keys: backslash escapes `,`, `=`, ` `.
    private static string Token(string s, ref int pos, bool stopAtEquals)
    {
        var sb = new StringBuilder();
        while (pos < s.Length)
        {
            var c = s[pos];
            if (c == '\\' && pos + 1 < s.Length && s[pos + 1] is ',' or '=' or ' ' or '\\')
            {
                sb.Append(s[pos + 1]);
                pos += 2;
                continue;
            }
            if (c is ',' or ' ' || (stopAtEquals && c == '=')) break;
            sb.Append(c);
            pos++;
        }
        return sb.ToString();
    }

    private static bool FieldValue(string s, ref int pos, out Value value)
    {
        value = default;
        if (pos < s.Length && s[pos] == '"')
        {
            var sb = new StringBuilder();
            pos++;
            while (pos < s.Length && s[pos] != '"')
            {
                if (s[pos] == '\\' && pos + 1 < s.Length && s[pos + 1] is '"' or '\\') pos++;
                sb.Append(s[pos++]);
            }
            if (pos >= s.Length) return false;
            pos++;
            value = Value.From(sb.ToString());
            return true;
        }
        var start = pos;
        while (pos < s.Length && s[pos] is not (',' or ' ')) pos++;
        var text = s[start..pos];
        switch (text)
        {
            case "t" or "T" or "true" or "True" or "TRUE": value = Value.True; return true;
            case "f" or "F" or "false" or "False" or "FALSE": value = Value.False; return true;
        }
        if (text.EndsWith('i') && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            value = Value.From(i);
            return true;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            value = Value.From(d);
            return true;
        }
        return false;
    }
}
