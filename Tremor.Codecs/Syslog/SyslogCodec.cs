using System.Buffers;
using System.Globalization;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The <c>syslog</c> codec: RFC 5424 (IETF) and RFC 3164 (BSD) messages, one per event, as Tremor's <c>syslog</c>
/// codec shapes them: <c>hostname</c>, <c>severity</c> and <c>facility</c> (names such as <c>notice</c>,
/// <c>local4</c>), <c>timestamp</c> (ns since the epoch, UTC), <c>protocol</c> (<c>RFC5424</c> / <c>RFC3164</c>),
/// <c>protocol_version</c>, <c>appname</c>, <c>msgid</c>, <c>structured_data</c> (<c>{ id: [ { name: value }, ... ] }</c>),
/// <c>procid</c> (a string) and <c>msg</c>; a part the message does not carry is absent. An RFC 3164 timestamp has no
/// year: the current one (last year for a December message read in January). Encoding writes RFC 5424 unless
/// <c>protocol</c> is <c>RFC3164</c>. Stateless and safe to share between threads.
/// </summary>
public sealed class SyslogCodec : ICodec
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "syslog";

    internal static readonly string[] Severities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

    internal static readonly string[] Facilities =
    [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
        "audit", "alert", "clockd", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];

    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private static readonly SearchValues<char> s_sdEscape = SearchValues.Create("\"\\]");

    private readonly Func<DateTime> _utcNow;

    /// <summary>A codec reading the clock for RFC 3164 years.</summary>
    public SyslogCodec()
        : this(static () => DateTime.UtcNow)
    {
    }

    /// <summary>A codec with its own clock (tests pin the year with it).</summary>
    internal SyslogCodec(Func<DateTime> utcNow)
    {
        _utcNow = utcNow;
    }

    /// <inheritdoc />
    public bool TryDecode(ReadOnlyMemory<byte> data, out Value value, out string? error)
    {
        var s = data.Span;
        if (!TextParse.CheckUtf8(Name, s, out value, out error)) return false;
        s = TextParse.TrimLineEnd(s);
        var record = new ValueRecord(11);
        var p = 0;
        int? pri = null;
        if (s.Length > 0 && s[0] == (byte)'<')
        {
            var close = s[..Math.Min(s.Length, 6)].IndexOf((byte)'>');
            if (close < 0) return TextParse.Fail(Name, 0, "'<' starts a PRI but no '>' follows within 4 digits", out value, out error);
            if (close == 1 || !int.TryParse(s[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 191)
            {
                return TextParse.Fail(Name, 1, $"PRI must be a number from 0 to 191, found '{TextParse.Str(s[1..close])}'", out value, out error);
            }
            pri = n;
            p = close + 1;
        }
        var digits = 0;
        while (p + digits < s.Length && digits < 4 && IsDigit(s[p + digits])) digits++;
        if (pri is not null && digits is > 0 and < 4 && p + digits < s.Length && s[p + digits] == (byte)' ')
        {
            return Decode5424(s, pri.Value, p, digits, record, out value, out error);
        }
        return Decode3164(s, pri, p, record, out value, out error);
    }

    private static bool Decode5424(ReadOnlySpan<byte> s, int pri, int p, int digits, ValueRecord record, out Value value, out string? error)
    {
        var version = long.Parse(s.Slice(p, digits), CultureInfo.InvariantCulture);
        p += digits + 1;
        long? timestamp = null;
        if (!Field(s, ref p, "TIMESTAMP", out var tsStart, out var tsText, out value, out error)) return false;
        if (!(tsText.Length == 1 && tsText[0] == (byte)'-'))
        {
            if (!TryRfc3339(tsText, out var ns, out var reason)) return TextParse.Fail(Name, tsStart, $"TIMESTAMP {reason}", out value, out error);
            timestamp = ns;
        }
        if (!Field(s, ref p, "HOSTNAME", out _, out var host, out value, out error)) return false;
        if (!Field(s, ref p, "APP-NAME", out _, out var app, out value, out error)) return false;
        if (!Field(s, ref p, "PROCID", out _, out var procid, out value, out error)) return false;
        if (!Field(s, ref p, "MSGID", out _, out var msgid, out value, out error, lastHeader: true)) return false;

        if (!Nil(host)) record.Append("hostname", TextParse.Str(host));
        record.Append("severity", Severities[pri & 7]);
        record.Append("facility", Facilities[pri >> 3]);
        if (timestamp is { } t) record.Append("timestamp", t);
        record.Append("protocol", "RFC5424");
        record.Append("protocol_version", version);
        if (!Nil(app)) record.Append("appname", TextParse.Str(app));
        if (!Nil(msgid)) record.Append("msgid", TextParse.Str(msgid));

        if (p >= s.Length) return TextParse.Fail(Name, p, "truncated: STRUCTURED-DATA ('-' or [id ...]) is missing", out value, out error);
        if (s[p] == (byte)'-')
        {
            p++;
        }
        else if (s[p] == (byte)'[')
        {
            if (!ParseStructuredData(s, ref p, out var sd, out value, out error)) return false;
            record.Append("structured_data", sd);
        }
        else
        {
            return TextParse.Fail(Name, p, $"STRUCTURED-DATA must be '-' or start with '[', found '{(char)s[p]}'", out value, out error);
        }
        if (!Nil(procid)) record.Append("procid", TextParse.Str(procid));
        if (p < s.Length)
        {
            if (s[p] != (byte)' ') return TextParse.Fail(Name, p, "expected a space between STRUCTURED-DATA and MSG", out value, out error);
            var msg = s[(p + 1)..];
            if (msg.StartsWith("\xEF\xBB\xBF"u8)) msg = msg[3..];
            if (!msg.IsEmpty) record.Append("msg", TextParse.Str(msg));
        }
        value = Value.From(record);
        error = null;
        return true;
    }

    private static bool Nil(ReadOnlySpan<byte> field) => field.Length == 1 && field[0] == (byte)'-';

    private static bool Field(ReadOnlySpan<byte> s, ref int p, string name, out int start, out ReadOnlySpan<byte> field, out Value value, out string? error, bool lastHeader = false)
    {
        start = p;
        field = default;
        var end = s[p..].IndexOf((byte)' ');
        if (end <= 0)
        {
            return end == 0
                ? TextParse.Fail(Name, p, $"{name} is empty (use '-' for none)", out value, out error)
                : TextParse.Fail(Name, s.Length, $"truncated: the message ends in {name}{(lastHeader ? "" : " before the rest of the header")}", out value, out error);
        }
        field = s.Slice(p, end);
        p += end + 1;
        value = default;
        error = null;
        return true;
    }

    private static bool ParseStructuredData(ReadOnlySpan<byte> s, ref int p, out Value sd, out Value value, out string? error)
    {
        var elements = new ValueRecord(2);
        sd = default;
        var buffer = new List<byte>();
        while (p < s.Length && s[p] == (byte)'[')
        {
            p++;
            var idStart = p;
            while (p < s.Length && s[p] is not ((byte)' ' or (byte)']' or (byte)'=' or (byte)'"')) p++;
            if (p == idStart) return TextParse.Fail(Name, p, "SD-ID is empty", out value, out error);
            if (p >= s.Length) return TextParse.Fail(Name, p, "truncated structured data: ']' missing", out value, out error);
            var id = TextParse.Str(s[idStart..p]);
            var parameters = new List<Value>();
            while (true)
            {
                if (p >= s.Length) return TextParse.Fail(Name, p, "truncated structured data: ']' missing", out value, out error);
                if (s[p] == (byte)']')
                {
                    p++;
                    break;
                }
                if (s[p] != (byte)' ') return TextParse.Fail(Name, p, $"expected ' ' or ']' in structured data element '{id}', found '{(char)s[p]}'", out value, out error);
                while (p < s.Length && s[p] == (byte)' ') p++;
                var nameStart = p;
                while (p < s.Length && s[p] is not ((byte)'=' or (byte)' ' or (byte)']' or (byte)'"')) p++;
                if (p >= s.Length) return TextParse.Fail(Name, p, "truncated structured data: '=' missing", out value, out error);
                if (p == nameStart || s[p] != (byte)'=') return TextParse.Fail(Name, p, $"expected PARAM-NAME=\"value\" in structured data element '{id}'", out value, out error);
                var paramName = TextParse.Str(s[nameStart..p]);
                p++;
                while (p < s.Length && s[p] == (byte)' ') p++; // Tremor's own tests put a space after '='
                if (p >= s.Length || s[p] != (byte)'"') return TextParse.Fail(Name, p, $"the value of '{paramName}' must be in double quotes", out value, out error);
                p++;
                buffer.Clear();
                var closed = false;
                while (p < s.Length)
                {
                    var b = s[p];
                    if (b == (byte)'\\' && p + 1 < s.Length && s[p + 1] is (byte)'"' or (byte)'\\' or (byte)']')
                    {
                        buffer.Add(s[p + 1]);
                        p += 2;
                        continue;
                    }
                    if (b == (byte)'"')
                    {
                        closed = true;
                        p++;
                        break;
                    }
                    buffer.Add(b);
                    p++;
                }
                if (!closed) return TextParse.Fail(Name, p, $"truncated structured data: the value of '{paramName}' has no closing '\"'", out value, out error);
                var param = new ValueRecord(1);
                param.Append(paramName, TextParse.Str(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer)));
                parameters.Add(Value.From(param));
            }
            elements.Set(id, Value.From(parameters));
        }
        sd = Value.From(elements);
        value = default;
        error = null;
        return true;
    }

    private bool Decode3164(ReadOnlySpan<byte> s, int? pri, int p, ValueRecord record, out Value value, out string? error)
    {
        long? timestamp = null;
        if (TryBsdTimestamp(s[p..], out var consumed, out var ns))
        {
            timestamp = ns;
            p += consumed;
        }
        else if (s[p..].IndexOf((byte)' ') is var sp and > 0 && TryRfc3339(s.Slice(p, sp), out ns, out _))
        {
            timestamp = ns;
            p += sp;
        }
        string? host = null;
        string? app = null;
        string? procid = null;
        if (timestamp is not null && p < s.Length && s[p] == (byte)' ')
        {
            p++;
            if (!TryTag(s, ref p, out app, out procid))
            {
                var end = s[p..].IndexOf((byte)' ');
                if (end > 0)
                {
                    host = TextParse.Str(s.Slice(p, end));
                    p += end + 1;
                    TryTag(s, ref p, out app, out procid);
                }
            }
        }
        else if (p < s.Length && s[p] == (byte)' ')
        {
            p++;
        }
        if (host is not null) record.Append("hostname", host);
        if (pri is { } n)
        {
            record.Append("severity", Severities[n & 7]);
            record.Append("facility", Facilities[n >> 3]);
        }
        if (timestamp is { } t) record.Append("timestamp", t);
        record.Append("protocol", "RFC3164");
        if (app is not null) record.Append("appname", app);
        if (procid is not null) record.Append("procid", procid);
        if (p < s.Length) record.Append("msg", TextParse.Str(s[p..]));
        value = Value.From(record);
        error = null;
        return true;
    }

    /// <summary>A BSD tag: <c>app:</c> or <c>app[pid]:</c> followed by a space or the end.</summary>
    private static bool TryTag(ReadOnlySpan<byte> s, ref int p, out string? app, out string? procid)
    {
        app = null;
        procid = null;
        var rest = s[p..];
        var end = rest.IndexOf((byte)' ');
        var word = end < 0 ? rest : rest[..end];
        if (word.Length < 2 || word[^1] != (byte)':') return false;
        word = word[..^1];
        var open = word.IndexOf((byte)'[');
        if (open >= 0)
        {
            if (open == 0 || word[^1] != (byte)']') return false;
            procid = TextParse.Str(word[(open + 1)..^1]);
            word = word[..open];
        }
        app = TextParse.Str(word);
        p += end < 0 ? rest.Length : end + 1;
        return true;
    }

    private bool TryBsdTimestamp(ReadOnlySpan<byte> s, out int consumed, out long ns)
    {
        // "Mmm dd hh:mm:ss" with the day padded by a space ("Jan  5") or not ("Jan 5").
        consumed = 0;
        ns = 0;
        if (s.Length < 14 || s[3] != (byte)' ') return false;
        var month = -1;
        for (var i = 0; i < 12; i++)
        {
            var name = s_months[i];
            if (s[0] == name[0] && s[1] == name[1] && s[2] == name[2]) month = i + 1;
        }
        if (month < 0) return false;
        var p = 4;
        if (s[p] == (byte)' ') p++;
        var dayStart = p;
        while (p < s.Length && IsDigit(s[p]) && p - dayStart < 2) p++;
        if (p == dayStart || p + 9 > s.Length || s[p] != (byte)' ') return false;
        var day = int.Parse(s[dayStart..p], CultureInfo.InvariantCulture);
        p++;
        var time = s.Slice(p, 8);
        if (time[2] != (byte)':' || time[5] != (byte)':' || !TwoDigits(time, 0, out var hh) || !TwoDigits(time, 3, out var mm) || !TwoDigits(time, 6, out var ss)) return false;
        var now = _utcNow();
        var year = now.Month == 1 && month == 12 ? now.Year - 1 : now.Year;
        if (day < 1 || day > DateTime.DaysInMonth(year, month) || hh > 23 || mm > 59 || ss > 60) return false;
        var dt = new DateTime(year, month, day, hh, mm, Math.Min(ss, 59), DateTimeKind.Utc);
        ns = (dt - DateTime.UnixEpoch).Ticks * 100;
        consumed = p + 8;
        return true;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool TwoDigits(ReadOnlySpan<byte> s, int at, out int n)
    {
        n = 0;
        if (at + 2 > s.Length || !IsDigit(s[at]) || !IsDigit(s[at + 1])) return false;
        n = (s[at] - '0') * 10 + s[at + 1] - '0';
        return true;
    }

    /// <summary>RFC 3339 date-time (as RFC 5424 restricts it): nanoseconds since the epoch.</summary>
    internal static bool TryRfc3339(ReadOnlySpan<byte> s, out long ns, out string reason)
    {
        ns = 0;
        reason = "must be an RFC 3339 date-time such as 2003-10-11T22:14:15.003Z";
        if (s.Length < 20 || s[4] != (byte)'-' || s[7] != (byte)'-' || (s[10] | 0x20) != (byte)'t' || s[13] != (byte)':' || s[16] != (byte)':') return false;
        if (!int.TryParse(s[..4], NumberStyles.None, CultureInfo.InvariantCulture, out var year) || !TwoDigits(s, 5, out var month)
            || !TwoDigits(s, 8, out var day) || !TwoDigits(s, 11, out var hh) || !TwoDigits(s, 14, out var mm) || !TwoDigits(s, 17, out var ss)) return false;
        var p = 19;
        long fraction = 0;
        if (s[p] == (byte)'.')
        {
            p++;
            var start = p;
            while (p < s.Length && IsDigit(s[p]))
            {
                if (p - start < 9) fraction = fraction * 10 + (s[p] - '0');
                p++;
            }
            if (p == start) return false;
            for (var i = p - start; i < 9; i++) fraction *= 10;
        }
        if (p >= s.Length) return false;
        var offsetMinutes = 0;
        if ((s[p] | 0x20) == (byte)'z')
        {
            p++;
        }
        else if (s[p] is (byte)'+' or (byte)'-')
        {
            if (p + 6 != s.Length || s[p + 3] != (byte)':' || !TwoDigits(s, p + 1, out var oh) || !TwoDigits(s, p + 4, out var om) || oh > 23 || om > 59) return false;
            offsetMinutes = (oh * 60 + om) * (s[p] == (byte)'-' ? -1 : 1);
            p += 6;
        }
        else
        {
            return false;
        }
        if (p != s.Length) return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hh > 23 || mm > 59 || ss > 60)
        {
            reason = "is not a valid date or time";
            return false;
        }
        var dt = new DateTime(year, month, day, hh, mm, Math.Min(ss, 59), DateTimeKind.Utc).AddMinutes(-offsetMinutes);
        var seconds = (long)(dt - DateTime.UnixEpoch).TotalSeconds;
        if (seconds is < -9_223_372_036 or > 9_223_372_035)
        {
            reason = "is outside the range of a nanosecond timestamp (1677-2262)";
            return false;
        }
        ns = seconds * 1_000_000_000 + fraction;
        return true;
    }

    /// <inheritdoc />
    public void Encode(in Value value, IBufferWriter<byte> output)
    {
        var record = value.AsRecord() ?? throw new CodecEncodeException(Name, $"expected a record, found {value.Kind.ToString().ToLowerInvariant()}");
        var protocol = record.TryGetValue("protocol", out var pv) ? pv : default;
        var version = record.TryGetValue("protocol_version", out var vv) ? vv : default;
        var text = new TextOutput(output);
        switch (protocol.AsString())
        {
            case "RFC3164":
                Encode3164(record, ref text);
                break;
            case "RFC5424":
                if (!version.TryGetI64(out var v) || v is < 1 or > 999) throw new CodecEncodeException(Name, "protocol RFC5424 needs protocol_version, a number from 1 to 999");
                Encode5424(record, v, ref text);
                break;
            case null when protocol.IsNull && version.IsNull:
                Encode5424(record, 1, ref text);
                break;
            default:
                throw new CodecEncodeException(Name, $"protocol must be \"RFC5424\" or \"RFC3164\", found {protocol}");
        }
        text.Flush();
    }

    private static int Pri(ValueRecord record, bool required)
    {
        var facility = record.TryGetValue("facility", out var f) ? f.AsString() : null;
        var severity = record.TryGetValue("severity", out var sv) ? sv.AsString() : null;
        if (facility is null || severity is null)
        {
            if (!required) return 13; // RFC 3164 section 4.3.3: user.notice
            throw new CodecEncodeException(Name, $"{(facility is null ? "facility" : "severity")} is missing (a string such as {(facility is null ? "\"local4\"" : "\"notice\"")})");
        }
        var fi = Array.IndexOf(Facilities, facility);
        var si = Array.IndexOf(Severities, severity);
        if (fi < 0) throw new CodecEncodeException(Name, $"unknown facility \"{facility}\"; known: {string.Join(", ", Facilities)}");
        if (si < 0) throw new CodecEncodeException(Name, $"unknown severity \"{severity}\"; known: {string.Join(", ", Severities)}");
        return (fi << 3) | si;
    }

    private static void Encode5424(ValueRecord record, long version, ref TextOutput text)
    {
        text.Byte((byte)'<');
        text.I64(Pri(record, required: true));
        text.Byte((byte)'>');
        text.I64(version);
        text.Byte((byte)' ');
        if (record.TryGetValue("timestamp", out var ts) && ts.TryGetI64(out var ns)) WriteRfc3339(ns, ref text);
        else text.Byte((byte)'-');
        foreach (var key in (ReadOnlySpan<string>)["hostname", "appname", "procid", "msgid"])
        {
            text.Byte((byte)' ');
            WriteOrNil(record, key, ref text);
        }
        text.Byte((byte)' ');
        // An empty record has no elements to write: '-' keeps the header complete.
        if (record.TryGetValue("structured_data", out var sd) && !sd.IsNull && sd.AsRecord() is not { Count: 0 }) WriteStructuredData(sd, ref text);
        else text.Byte((byte)'-');
        if (record.TryGetValue("msg", out var msg) && msg.AsString() is { } m)
        {
            text.Byte((byte)' ');
            text.Text(m);
        }
    }

    private static void WriteOrNil(ValueRecord record, string key, ref TextOutput text)
    {
        if (!record.TryGetValue(key, out var v) || v.IsNull)
        {
            text.Byte((byte)'-');
        }
        else if (v.AsString() is { Length: > 0 } s)
        {
            if (s.Contains(' ', StringComparison.Ordinal)) throw new CodecEncodeException(Name, $"{key} must not contain spaces: \"{s}\"");
            text.Text(s);
        }
        else if (!text.Number(v))
        {
            throw new CodecEncodeException(Name, $"{key} must be a non-empty string, found {v}");
        }
    }

    private static void WriteStructuredData(in Value sd, ref TextOutput text)
    {
        var elements = sd.AsRecord() ?? throw new CodecEncodeException(Name, "structured_data must be a record { id: [ { name: value } ] }");
        foreach (var (id, parameters) in elements)
        {
            text.Byte((byte)'[');
            text.Text(id);
            var list = parameters.AsArray() ?? throw new CodecEncodeException(Name, $"structured_data.{id} must be an array of {{ name: value }} records");
            foreach (var param in list)
            {
                var pair = param.AsRecord() ?? throw new CodecEncodeException(Name, $"structured_data.{id} must hold {{ name: value }} records, found {param}");
                foreach (var (name, v) in pair)
                {
                    var s = v.AsString() ?? throw new CodecEncodeException(Name, $"structured_data.{id}.{name} must be a string, found {v}");
                    text.Byte((byte)' ');
                    text.Text(name);
                    text.Bytes("=\""u8);
                    text.Escaped(s, s_sdEscape);
                    text.Byte((byte)'"');
                }
            }
            text.Byte((byte)']');
        }
    }

    private static void WriteRfc3339(long ns, ref TextOutput text)
    {
        var seconds = Math.DivRem(ns, 1_000_000_000, out var fraction);
        if (fraction < 0)
        {
            seconds--;
            fraction += 1_000_000_000;
        }
        var dt = DateTime.UnixEpoch.AddSeconds(seconds);
        Span<char> buffer = stackalloc char[40];
        dt.TryFormat(buffer, out var written, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        text.Text(buffer[..written]);
        if (fraction != 0)
        {
            var digits = 9;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }
            text.Byte((byte)'.');
            fraction.TryFormat(buffer, out written, "D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            text.Text(buffer[..written]);
        }
        text.Byte((byte)'Z');
    }

    private void Encode3164(ValueRecord record, ref TextOutput text)
    {
        text.Byte((byte)'<');
        text.I64(Pri(record, required: false));
        text.Byte((byte)'>');
        var ns = record.TryGetValue("timestamp", out var ts) && ts.TryGetI64(out var n) ? n : (_utcNow() - DateTime.UnixEpoch).Ticks * 100;
        var dt = DateTime.UnixEpoch.AddTicks(ns / 100);
        Span<char> buffer = stackalloc char[24];
        var month = s_months[dt.Month - 1];
        text.Text(month);
        text.Byte((byte)' ');
        if (dt.Day < 10) text.Byte((byte)' ');
        dt.TryFormat(buffer, out var written, "d HH:mm:ss", CultureInfo.InvariantCulture);
        text.Text(buffer[..written]);
        text.Byte((byte)' ');
        if (record.TryGetValue("hostname", out var host) && host.AsString() is { } h) text.Text(h);
        else text.Byte((byte)'-');
        text.Byte((byte)' ');
        if (record.TryGetValue("appname", out var app) && app.AsString() is { } a)
        {
            text.Text(a);
            if (record.TryGetValue("procid", out var pid) && !pid.IsNull)
            {
                text.Byte((byte)'[');
                if (pid.AsString() is { } ps) text.Text(ps);
                else if (!text.Number(pid)) throw new CodecEncodeException(Name, $"procid must be a string or a number, found {pid}");
                text.Byte((byte)']');
            }
        }
        text.Byte((byte)':');
        if (record.TryGetValue("structured_data", out var sd) && !sd.IsNull)
        {
            text.Byte((byte)' ');
            WriteStructuredData(sd, ref text);
        }
        if (record.TryGetValue("msg", out var msg) && msg.AsString() is { } m)
        {
            text.Byte((byte)' ');
            text.Text(m);
        }
    }
}
